"""A personal leaderboard from comparison votes: Bradley-Terry ratings, counts, win rates.

A vote on a run of N models is read as pairwise games: the winner beats each other model
that gave an answer; a tie is a draw between every pair. Columns that failed without any
text take no part (an outage says nothing about quality). Ratings are Bradley-Terry
strengths (fitted with the MM algorithm, which does not depend on the order of votes,
unlike Elo), shown on the Elo scale: 1000 is average, +400 means 10:1 odds of winning.
A weak prior (one draw against an average player) keeps models with few or only wins
finite.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from app.core.compare import model_key
from app.store.compare_queries import VotedRun

BASE_RATING = 1000.0
SCALE = 400.0
PRIOR_GAMES = 1.0
ITERATIONS = 200
_DAY = 86400.0


class Period(StrEnum):
    ALL = "all"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"

    @property
    def label(self) -> str:
        return {
            "all": "All time",
            "day": "Last 24 hours",
            "week": "Last 7 days",
            "month": "Last 30 days",
            "year": "Last 365 days",
        }[self.value]

    def since(self, now: float | None = None) -> float | None:
        days = {"all": None, "day": 1, "week": 7, "month": 30, "year": 365}[self.value]
        if days is None:
            return None
        return (time.time() if now is None else now) - days * _DAY


@dataclass(frozen=True, slots=True)
class Game:
    """``a`` against ``b``: 1.0 ``a`` won, 0.5 a draw."""

    a: str
    b: str
    score: float


@dataclass(frozen=True, slots=True)
class Standing:
    model: str  # the ``provider/model`` key
    rating: float
    runs: int  # voted runs it answered in
    wins: int  # runs where it was chosen best
    ties: int
    losses: int  # runs where another model was chosen

    @property
    def win_rate(self) -> float:
        return self.wins / self.runs if self.runs else 0.0


def games_of(runs: Iterable[VotedRun]) -> list[Game]:
    games: list[Game] = []
    for run in runs:
        present = [a for a in run.answers if a.has_text]
        keys = [model_key(a.provider, a.model) for a in present]
        if run.vote.get("tie"):
            games += [
                Game(keys[i], keys[j], 0.5)
                for i in range(len(keys))
                for j in range(i + 1, len(keys))
                if keys[i] != keys[j]
            ]
            continue
        winner = next((a for a in present if a.answer_id == run.vote.get("winner")), None)
        if winner is None:
            continue
        win_key = model_key(winner.provider, winner.model)
        games += [Game(win_key, k, 1.0) for k in keys if k != win_key]
    return games


def bradley_terry(games: Iterable[Game], iterations: int = ITERATIONS) -> dict[str, float]:
    """Ratings on the Elo scale from pairwise games (ties count half a win each)."""
    wins: dict[str, float] = {}
    pairs: dict[tuple[str, str], float] = {}
    for game in games:
        wins[game.a] = wins.get(game.a, 0.0) + game.score
        wins[game.b] = wins.get(game.b, 0.0) + 1.0 - game.score
        key = (game.a, game.b) if game.a < game.b else (game.b, game.a)
        pairs[key] = pairs.get(key, 0.0) + 1.0
    players = sorted(wins)
    if not players:
        return {}
    strength = dict.fromkeys(players, 1.0)
    for _ in range(iterations):
        new: dict[str, float] = {}
        for player in players:
            # The prior: PRIOR_GAMES drawn games against a player of strength 1.
            numerator = wins[player] + PRIOR_GAMES / 2
            denominator = PRIOR_GAMES / (strength[player] + 1.0)
            for (a, b), n in pairs.items():
                if player in (a, b):
                    other = b if player == a else a
                    denominator += n / (strength[player] + strength[other])
            new[player] = numerator / denominator
        # Normalise (geometric mean 1) so ratings are centred on BASE_RATING.
        mean = math.exp(sum(math.log(v) for v in new.values()) / len(new))
        converged = all(abs(new[p] / mean - strength[p]) < 1e-9 for p in players)
        strength = {p: v / mean for p, v in new.items()}
        if converged:
            break
    return {p: BASE_RATING + SCALE * math.log10(s) for p, s in strength.items()}


def leaderboard(runs: Iterable[VotedRun]) -> list[Standing]:
    """Standings, best rating first (then more wins, then name)."""
    runs = list(runs)
    counts: dict[str, list[int]] = {}  # runs, wins, ties, losses
    for run in runs:
        present = {model_key(a.provider, a.model): a for a in run.answers if a.has_text}
        if not run.vote.get("tie") and not any(
            a.answer_id == run.vote.get("winner") for a in present.values()
        ):
            continue
        for key, answer in present.items():
            c = counts.setdefault(key, [0, 0, 0, 0])
            c[0] += 1
            if run.vote.get("tie"):
                c[2] += 1
            elif answer.answer_id == run.vote.get("winner"):
                c[1] += 1
            else:
                c[3] += 1
    ratings = bradley_terry(games_of(runs))
    standings = [Standing(key, ratings.get(key, BASE_RATING), *c) for key, c in counts.items()]
    return sorted(standings, key=lambda s: (-s.rating, -s.wins, s.model))
