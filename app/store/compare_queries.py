"""Read-only queries for comparisons: votes for the leaderboard, measured speed and cost
per model from the usage ledger, and a light list of runs for the history.

Each function takes a ``sqlite3.Connection``; call them through ``store.read_now(fn, ...)``
(fast ones) or ``await store.read(fn, ...)``.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from dataclasses import dataclass
from typing import Any

SPEED_SAMPLE = 200
"""Latest calls per model that the medians are taken over."""


@dataclass(frozen=True, slots=True)
class VotedAnswer:
    answer_id: int
    provider: str | None
    model: str
    status: str | None  # the answer message's status; None when it is gone
    has_text: bool


@dataclass(frozen=True, slots=True)
class VotedRun:
    run_id: int
    created_at: float
    vote: dict[str, Any]
    answers: list[VotedAnswer]


def voted_runs(
    conn: sqlite3.Connection, since: float | None = None, until: float | None = None
) -> list[VotedRun]:
    """Runs with a vote (a winner or a tie), oldest first, with each answer's outcome."""
    rows = conn.execute(
        "SELECT r.id, r.created_at, r.vote, a.id, a.provider, a.model, m.status, "
        "       length(coalesce(m.text, '')) > 0 "
        "FROM comparison_runs r JOIN comparison_answers a ON a.run_id = r.id "
        "LEFT JOIN messages m ON m.id = a.message_id "
        "WHERE r.vote IS NOT NULL AND r.created_at >= ? AND r.created_at < ? "
        "ORDER BY r.created_at, r.id, a.position",
        (
            since if since is not None else float("-inf"),
            until if until is not None else float("inf"),
        ),
    ).fetchall()
    runs: list[VotedRun] = []
    for run_id, created_at, vote, answer_id, provider, model, status, has_text in rows:
        if not runs or runs[-1].run_id != run_id:
            runs.append(VotedRun(run_id, created_at, json.loads(vote), []))
        runs[-1].answers.append(VotedAnswer(answer_id, provider, model, status, bool(has_text)))
    return [r for r in runs if r.vote.get("tie") or r.vote.get("winner") is not None]


@dataclass(frozen=True, slots=True)
class ModelSpeed:
    """Medians over a model's latest successful chat calls."""

    provider: str
    model: str
    calls: int
    tokens_per_s: float | None
    ttft_s: float | None
    cost: float | None  # per call, US dollars
    cost_per_m_out: float | None  # per 1M output tokens actually paid


def model_speeds(
    conn: sqlite3.Connection, since: float | None = None, sample: int = SPEED_SAMPLE
) -> list[ModelSpeed]:
    """Measured speed and cost per (provider, model) from the usage ledger."""
    rows = conn.execute(
        "SELECT provider, model, completion_tokens, latency_s, ttft_s, cost FROM ("
        "  SELECT provider, model, completion_tokens, latency_s, ttft_s, cost, "
        "         row_number() OVER (PARTITION BY provider, model ORDER BY ts DESC) AS n "
        "  FROM usage_ledger "
        "  WHERE endpoint = 'chat' AND status IN ('ok', 'complete') AND ts >= ?"
        ") WHERE n <= ?",
        (since if since is not None else float("-inf"), sample),
    ).fetchall()
    groups: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for provider, model, *rest in rows:
        groups.setdefault((provider, model), []).append(tuple(rest))
    out: list[ModelSpeed] = []
    for (provider, model), calls in sorted(groups.items()):
        rates = [
            tokens / (latency - (ttft or 0.0))
            for tokens, latency, ttft, _ in calls
            if tokens and latency and latency - (ttft or 0.0) > 0
        ]
        ttfts = [ttft for _, _, ttft, _ in calls if ttft is not None]
        costs = [cost for _, _, _, cost in calls if cost is not None]
        per_m = [cost / tokens * 1e6 for tokens, _, _, cost in calls if cost and tokens]
        out.append(
            ModelSpeed(
                provider,
                model,
                len(calls),
                _median(rates),
                _median(ttfts),
                _median(costs),
                _median(per_m),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One line of the comparison history."""

    run_id: int
    created_at: float
    prompt: str
    models: list[str]
    vote: dict[str, Any] | None


def run_summaries(conn: sqlite3.Connection, limit: int = 200, offset: int = 0) -> list[RunSummary]:
    """Newest first, with the models in run order (one query, not one per run)."""
    rows = conn.execute(
        "SELECT r.id, r.created_at, r.prompt, r.vote, "
        "       (SELECT json_group_array(model) FROM "
        "          (SELECT model FROM comparison_answers WHERE run_id = r.id ORDER BY position)) "
        "FROM comparison_runs r ORDER BY r.created_at DESC, r.id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    return [
        RunSummary(
            run_id,
            created_at,
            prompt,
            json.loads(models),
            None if vote is None else json.loads(vote),
        )
        for run_id, created_at, prompt, vote, models in rows
    ]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
