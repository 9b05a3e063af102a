"""The usage ledger: one row per API call, and aggregates over the hourly roll-up."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

from app.store.models import LedgerEntry, UsageAggregate

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


_SUMS = (
    "sum(calls), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(characters), "
    "sum(audio_seconds), sum(images), sum(cost), sum(estimated_calls), sum(unpriced_calls)"
)
_ROLLUP_COLUMNS = (
    "provider, model, endpoint, calls, errors, prompt_tokens, completion_tokens, characters, "
    "audio_seconds, images, cost, estimated_calls, unpriced_calls"
)
_FROM_LEDGER = (
    "provider, model, endpoint, count(*), sum(status <> 'ok'), sum(prompt_tokens), "
    "sum(completion_tokens), sum(characters), sum(audio_seconds), sum(images), total(cost), "
    "sum(estimated <> 0), sum(cost IS NULL) FROM usage_ledger GROUP BY 1, 2, 3, 4"
)


def rebuild_rollup(conn: sqlite3.Connection) -> None:
    """Recompute ``usage_daily`` and ``usage_hourly`` from the ledger (after a bulk load, or
    to move days to the current time zone)."""
    conn.execute("DELETE FROM usage_daily")
    conn.execute("DELETE FROM usage_hourly")
    conn.execute(
        f"INSERT INTO usage_daily (day, {_ROLLUP_COLUMNS}) "
        f"SELECT date(ts, 'unixepoch', 'localtime'), {_FROM_LEDGER}"
    )
    conn.execute(
        f"INSERT INTO usage_hourly (hour, {_ROLLUP_COLUMNS}) SELECT CAST(ts / 3600 AS INTEGER), {_FROM_LEDGER}"
    )


def bulk_insert_rows(conn: sqlite3.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert many raw ledger rows (columns as in `record`) fast, then rebuild the roll-ups.

    Runs inside the caller's transaction; the per-row trigger is bypassed for speed.
    """
    trigger = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'usage_ledger_rollup'"
    ).fetchone()[0]
    conn.execute("DROP TRIGGER usage_ledger_rollup")
    conn.executemany(_INSERT, rows)
    conn.execute(trigger)
    rebuild_rollup(conn)


def _day(value: str | dt.date | None) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


def aggregate(
    conn: sqlite3.Connection,
    group_by: Sequence[str] = ("day", "model"),
    *,
    first_day: str | dt.date | None = None,
    last_day: str | dt.date | None = None,
    provider: str | None = None,
    model: str | None = None,
    endpoint: str | None = None,
) -> list[UsageAggregate]:
    """Totals grouped by any of ``day``, ``provider``, ``model``, ``endpoint``, from the daily
    roll-up. Days are local calendar days (``YYYY-MM-DD``); ``first_day``..``last_day`` is
    inclusive. Ordered by day, then cost (highest first)."""
    where: list[str] = []
    args: list[Any] = []
    if first_day is not None:
        where.append("day >= ?")
        args.append(_day(first_day))
    if last_day is not None:
        where.append("day <= ?")
        args.append(_day(last_day))
    return _grouped(conn, "usage_daily", "day", group_by, where, args, provider, model, endpoint)


def aggregate_hours(
    conn: sqlite3.Connection,
    group_by: Sequence[str] = ("provider", "model"),
    *,
    since: float | None = None,
    until: float | None = None,
    provider: str | None = None,
    model: str | None = None,
    endpoint: str | None = None,
) -> list[UsageAggregate]:
    """Totals over a time range with hour precision (the hour containing ``since`` is in,
    the one containing ``until`` is out), grouped by any of ``hour``, ``provider``,
    ``model``, ``endpoint``."""
    where: list[str] = []
    args: list[Any] = []
    if since is not None:
        where.append("hour >= ?")
        args.append(int(since // 3600))
    if until is not None:
        where.append("hour < ?")
        args.append(int(until // 3600))
    return _grouped(conn, "usage_hourly", "hour", group_by, where, args, provider, model, endpoint)


def _grouped(
    conn: sqlite3.Connection,
    table: str,
    time_key: str,
    group_by: Sequence[str],
    where: list[str],
    args: list[Any],
    provider: str | None,
    model: str | None,
    endpoint: str | None,
) -> list[UsageAggregate]:
    allowed = (time_key, "provider", "model", "endpoint")
    bad = set(group_by) - set(allowed)
    if bad:
        raise ValueError(f"cannot group usage by {sorted(bad)}")
    keys = [k for k in allowed if k in group_by]
    for column, value in (("provider", provider), ("model", model), ("endpoint", endpoint)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    order = " ORDER BY " + ", ".join(
        [*([time_key] if time_key in keys else []), f"{len(keys) + 8} DESC"]
    )
    select = ", ".join([*keys, _SUMS])
    rows = conn.execute(f"SELECT {select} FROM {table}{clause}{group}{order}", args).fetchall()
    result = []
    for row in rows:
        named = dict(zip(keys, row[: len(keys)], strict=True))
        t = row[len(keys) :]
        if not t[0]:
            continue
        hour = named.get("hour")
        result.append(
            UsageAggregate(
                day=named.get("day"),
                provider=named.get("provider"),
                model=named.get("model"),
                endpoint=named.get("endpoint"),
                calls=int(t[0]),
                errors=int(t[1]),
                prompt_tokens=int(t[2]),
                completion_tokens=int(t[3]),
                characters=int(t[4]),
                audio_seconds=float(t[5]),
                images=int(t[6]),
                cost=float(t[7]),
                estimated_calls=int(t[8]),
                unpriced_calls=int(t[9]),
                hour=None if hour is None else int(hour) * 3600,
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
