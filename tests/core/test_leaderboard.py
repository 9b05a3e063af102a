"""Leaderboard from stored votes, and the store queries it reads (votes, measured speed)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.core.leaderboard import (
    BASE_RATING,
    Game,
    Period,
    bradley_terry,
    games_of,
    leaderboard,
)
from app.store import LedgerEntry, Store
from app.store.compare_queries import (
    VotedAnswer,
    VotedRun,
    model_speeds,
    run_summaries,
    voted_runs,
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path, daily_backup=False) as s:
        yield s


def _run(run_id: int, winner: int | None, *models: str, failed: tuple[int, ...] = ()) -> VotedRun:
    answers = [
        VotedAnswer(
            run_id * 10 + i, "p", m, "error" if i in failed else "complete", i not in failed
        )
        for i, m in enumerate(models)
    ]
    vote: dict[str, Any] = {"tie": True} if winner is None else {"winner": run_id * 10 + winner}
    return VotedRun(run_id, float(run_id), vote, answers)


def test_winner_beats_every_other_answer_and_ties_draw() -> None:
    games = games_of([_run(1, 0, "a", "b", "c"), _run(2, None, "a", "b")])
    assert games == [Game("p/a", "p/b", 1.0), Game("p/a", "p/c", 1.0), Game("p/a", "p/b", 0.5)]


def test_failed_columns_do_not_lose() -> None:
    board = leaderboard([_run(1, 0, "a", "b", failed=(1,))])
    assert [s.model for s in board] == ["p/a"] and board[0].runs == 1


def test_ratings_order_counts_and_win_rates() -> None:
    runs = [_run(i, 0, "good", "bad") for i in range(1, 8)]
    runs += [_run(10, 1, "good", "bad"), _run(11, None, "good", "bad", "new")]
    board = leaderboard(runs)
    assert [s.model for s in board] == ["p/good", "p/new", "p/bad"]
    good, new, bad = board
    assert (good.runs, good.wins, good.ties, good.losses) == (9, 7, 1, 1)
    assert good.win_rate == pytest.approx(7 / 9)
    assert (bad.runs, bad.wins, bad.losses) == (9, 1, 7)
    assert good.rating > BASE_RATING > bad.rating
    assert new.rating == pytest.approx(BASE_RATING, abs=60)


def test_bradley_terry_is_order_independent_and_finite() -> None:
    games = [Game("x", "y", 1.0)] * 3 + [Game("y", "z", 1.0)] * 3
    forward, backward = bradley_terry(games), bradley_terry(list(reversed(games)))
    assert forward == pytest.approx(backward)
    assert forward["x"] > forward["y"] > forward["z"]
    assert all(abs(r) < 10_000 for r in forward.values())  # unbeaten x stays finite
    assert bradley_terry([]) == {}


async def _voted(store: Store, models: list[str], verdict: int | str | None) -> int:
    """A stored run; ``verdict``: the winner's position, "tie", "skip" or None (no vote)."""
    conversation = await store.create_conversation("c")
    answers = []
    for model in models:
        message = await store.add_message(conversation.id, "assistant", f"answer of {model}")
        answers.append({"model": model, "provider": "p", "message_id": message.id})
    run = await store.add_comparison("prompt", answers)
    if isinstance(verdict, int):
        await store.vote_comparison(run.id, {"winner": run.answers[verdict].id, "tie": False})
    elif verdict == "tie":
        await store.vote_comparison(run.id, {"tie": True})
    elif verdict == "skip":
        await store.vote_comparison(run.id, {"skipped": True})
    return run.id


async def test_votes_from_the_store_and_period_filter(store: Store) -> None:
    await _voted(store, ["a", "b"], 0)
    await _voted(store, ["a", "b", "c"], 2)
    await _voted(store, ["a", "c"], "tie")
    await _voted(store, ["a", "b"], "skip")  # revealed without a verdict: not counted
    await _voted(store, ["b", "c"], None)
    runs = await store.read(voted_runs)
    assert len(runs) == 3
    board = {s.model: s for s in leaderboard(runs)}
    assert (board["p/a"].runs, board["p/a"].wins, board["p/a"].ties) == (3, 1, 1)
    assert board["p/c"].wins == 1
    assert store.read_now(voted_runs, since=time.time() + 60) == []
    assert Period.ALL.since() is None
    assert Period.WEEK.since(now=1_000_000.0) == 1_000_000.0 - 7 * 86400
    summaries = store.read_now(run_summaries)
    assert len(summaries) == 5 and summaries[0].models == ["b", "c"]
    assert summaries[0].vote is None and summaries[1].vote == {"skipped": True}


async def test_median_speed_and_cost_from_the_ledger(store: Store) -> None:
    def entry(
        model: str, tokens: int, latency: float, ttft: float, cost: float | None, status: str = "ok"
    ) -> LedgerEntry:
        return LedgerEntry(
            provider="p", endpoint="chat", model=model, prompt_tokens=10,
            completion_tokens=tokens, cost=cost, status=status, latency_s=latency, ttft_s=ttft,
        )  # fmt: skip

    for tokens, latency in ((100, 1.5), (200, 2.5), (300, 3.5)):
        await store.record_usage(entry("fast", tokens, latency, 0.5, tokens * 1e-6))
    await store.record_usage(entry("fast", 999, 0.1, 0.0, 1.0, status="error:RateLimitError"))
    await store.record_usage(entry("slow", 10, 10.5, 0.5, None))
    speeds = {s.model: s for s in await store.read(model_speeds)}
    fast, slow = speeds["fast"], speeds["slow"]
    assert fast.calls == 3 and fast.tokens_per_s == pytest.approx(100.0)
    assert fast.ttft_s == pytest.approx(0.5) and fast.cost == pytest.approx(200e-6)
    assert fast.cost_per_m_out == pytest.approx(1.0)
    assert slow.tokens_per_s == pytest.approx(1.0) and slow.cost is None
