"""The usage ledger: one row per API call, and aggregates over the hourly roll-up."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

from app.store.models import LedgerEntry, UsageAggregate

GROUP_KEYS = ("day", "provider", "model", "endpoint")

_INSERT = (
    "INSERT INTO usage_ledger (ts, provider, model, endpoint, prompt_tokens, completion_tokens, characters, "
    "audio_seconds, images, cost, estimated, status, latency_s, ttft_s, request_id, rate_limit, "
    "conversation_id, message_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _values(e: LedgerEntry) -> tuple[Any, ...]:
    return (
        e.ts if e.ts is not None else time.time(), e.provider, e.model, e.endpoint, e.prompt_tokens,
        e.completion_tokens, e.characters, e.audio_seconds, e.images, e.cost, int(e.estimated), e.status,
        e.latency_s, e.ttft_s, e.request_id,
        None if e.rate_limit is None else json.dumps(e.rate_limit, separators=(",", ":")),
        e.conversation_id, e.message_id,
    )  # fmt: skip


def record(conn: sqlite3.Connection, entry: LedgerEntry) -> int:
    """Insert one call; the trigger keeps ``usage_hourly`` in step. Returns the row id."""
    return int(conn.execute(_INSERT, _values(entry)).lastrowid or 0)


def record_many(conn: sqlite3.Connection, entries: Iterable[LedgerEntry]) -> int:
    cur = conn.executemany(_INSERT, (_values(e) for e in entries))
    return cur.rowcount


def aggregate(
    conn: sqlite3.Connection,
    group_by: Sequence[str] = ("day", "model"),
    *,
    since: float | None = None,
    until: float | None = None,
    provider: str | None = None,
    model: str | None = None,
    endpoint: str | None = None,
    utc_offset_s: int = 0,
) -> list[UsageAggregate]:
    """Totals grouped by any of ``day``, ``provider``, ``model``, ``endpoint``.

    Days are local days for ``utc_offset_s`` (whole hours are exact). ``since``/``until``
    select whole hours: the hour containing ``since`` is included, the one containing
    ``until`` is not. Ordered by day, then cost descending.
    """
    bad = set(group_by) - set(GROUP_KEYS)
    if bad:
        raise ValueError(f"cannot group usage by {sorted(bad)}")
    keys = [k for k in GROUP_KEYS if k in group_by]
    day_expr = f"((hour * 3600 + {int(utc_offset_s)}) / 86400)"
    select_keys = [day_expr if k == "day" else k for k in keys]
    where: list[str] = []
    args: list[Any] = []
    if since is not None:
        where.append("hour >= ?")
        args.append(int(since // 3600))
    if until is not None:
        where.append("hour < ?")
        args.append(int(until // 3600))
    for column, value in (("provider", provider), ("model", model), ("endpoint", endpoint)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
    order = " ORDER BY " + ", ".join([*(["1"] if "day" in keys else []), f"{len(keys) + 8} DESC"])
    rows = conn.execute(
        f"SELECT {', '.join([*select_keys, ''])}sum(calls), sum(errors), sum(prompt_tokens), "
        "sum(completion_tokens), sum(characters), sum(audio_seconds), sum(images), sum(cost), "
        f"sum(estimated_calls), sum(unpriced_calls) FROM usage_hourly{clause}{group}{order}",
        args,
    ).fetchall()
    result = []
    for row in rows:
        named = dict(zip(keys, row[: len(keys)], strict=True))
        totals = row[len(keys) :]
        if totals[0] is None or totals[0] == 0:
            continue
        day = named.get("day")
        result.append(
            UsageAggregate(
                day=None
                if day is None
                else (dt.date(1970, 1, 1) + dt.timedelta(days=int(day))).isoformat(),
                provider=named.get("provider"),
                model=named.get("model"),
                endpoint=named.get("endpoint"),
                calls=int(totals[0]),
                errors=int(totals[1]),
                prompt_tokens=int(totals[2]),
                completion_tokens=int(totals[3]),
                characters=int(totals[4]),
                audio_seconds=float(totals[5]),
                images=int(totals[6]),
                cost=float(totals[7]),
                estimated_calls=int(totals[8]),
                unpriced_calls=int(totals[9]),
            )
        )
    return result


def entries(
    conn: sqlite3.Connection,
    *,
    since: float | None = None,
    until: float | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Raw ledger rows, newest first (for a detail table or a CSV export)."""
    where, args = [], []
    if since is not None:
        where.append("ts >= ?")
        args.append(since)
    if until is not None:
        where.append("ts < ?")
        args.append(until)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    cur = conn.execute(
        f"SELECT * FROM usage_ledger{clause} ORDER BY ts DESC LIMIT ?", (*args, limit)
    )
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        item = dict(zip(names, row, strict=True))
        item["estimated"] = bool(item["estimated"])
        item["rate_limit"] = None if item["rate_limit"] is None else json.loads(item["rate_limit"])
        out.append(item)
    return out
