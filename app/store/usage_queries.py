"""Dashboard queries over the usage ledger: latency percentiles, recent calls, CSV export.

Every function takes a ``sqlite3.Connection`` and is run through ``store.read(fn, ...)``
(reader thread) or ``store.write(fn, ...)`` (schema, back-fill).

Latency and time-to-first-token percentiles come from ``usage_latency_daily``, a histogram
roll-up kept by triggers on ``usage_ledger`` (created here with ``IF NOT EXISTS`` by
:func:`ensure_schema`, back-filled from the ledger the first time). Each value lands in a
log-spaced bucket (the E24 series: 24 buckets per decade, about ±5 % wide), so a median over
a month of a million calls adds up a few thousand rows instead of sorting the calls. The
bucket is computed with plain string arithmetic, not ``ln()``, because SQLite builds
without math functions exist and a trigger that fails would fail the ledger insert.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.store import ledger
from app.store.models import UsageAggregate

# Lower bounds of the E24 buckets within one decade (10..99).
E24 = (
    10,
    11,
    12,
    13,
    15,
    16,
    18,
    20,
    22,
    24,
    27,
    30,
    33,
    36,
    39,
    43,
    47,
    51,
    56,
    62,
    68,
    75,
    82,
    91,
)

LATENCY, TTFT = 0, 1


# The E24 lower bound for each two-digit prefix 10..99, two characters each: one substr()
# per row instead of a CASE ladder (the back-fill of a million rows is 3x faster).
_LOOKUP = "".join(f"{max(b for b in E24 if b <= f):02d}" for f in range(10, 100))


def _bucket_sql(ms: str) -> str:
    """SQL for the bucket (a lower bound in ms) of the integer expression ``ms``."""
    text = f"CAST({ms} AS TEXT)"
    first2 = f"CAST(substr({text}, 1, 2) AS INTEGER)"
    lower = f"CAST(substr('{_LOOKUP}', ({first2} - 10) * 2 + 1, 2) AS INTEGER)"
    scale = f"CAST('1' || substr('000000000000', 1, length({text}) - 2) AS INTEGER)"
    return f"CASE WHEN {ms} < 10 THEN max({ms}, 0) ELSE {lower} * {scale} END"


def bucket_upper(lower: int) -> int:
    """The exclusive upper bound of the bucket starting at ``lower`` ms."""
    if lower < 10:
        return lower + 1
    digits = len(str(lower))
    scale = 10 ** (digits - 2)
    first2 = lower // scale
    index = E24.index(first2)
    return (E24[index + 1] if index + 1 < len(E24) else 100) * scale


def bucket_of(ms: int) -> int:
    """The bucket of ``ms`` as the trigger computes it (for tests and back-fill checks)."""
    if ms < 10:
        return max(ms, 0)
    text = str(ms)
    first2 = int(text[:2])
    lower = max(b for b in E24 if b <= first2)
    return lower * 10 ** (len(text) - 2)


def _insert_sql(kind: int, column: str, prefix: str) -> str:
    ms = f"CAST({prefix}.{column} * 1000 AS INTEGER)"
    return (
        "INSERT INTO usage_latency_daily (day, provider, model, kind, bucket, calls) "
        f"SELECT date({prefix}.ts, 'unixepoch', 'localtime'), {prefix}.provider, {prefix}.model, "
        f"{kind}, {_bucket_sql(ms)}, 1 WHERE {prefix}.{column} IS NOT NULL "
        "ON CONFLICT (day, provider, model, kind, bucket) DO UPDATE SET calls = calls + 1"
    )


def _delete_sql(kind: int, column: str) -> str:
    ms = f"CAST(old.{column} * 1000 AS INTEGER)"
    return (
        "UPDATE usage_latency_daily SET calls = calls - 1 "
        f"WHERE old.{column} IS NOT NULL AND day = date(old.ts, 'unixepoch', 'localtime') "
        f"AND provider = old.provider AND model = old.model AND kind = {kind} "
        f"AND bucket = {_bucket_sql(ms)}"
    )


_TABLE = """
CREATE TABLE IF NOT EXISTS usage_latency_daily (
    day      TEXT    NOT NULL,
    provider TEXT    NOT NULL,
    model    TEXT    NOT NULL,
    kind     INTEGER NOT NULL,  -- 0 latency, 1 time to first token
    bucket   INTEGER NOT NULL,  -- lower bound in ms (E24 series)
    calls    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, provider, model, kind, bucket)
) WITHOUT ROWID
"""


def ensure_schema(conn: sqlite3.Connection) -> bool:
    """Create the latency roll-up and its triggers if missing (back-filling from the
    ledger). Returns True when it was created now. Run it on the writer."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage_latency_daily'"
    ).fetchone()
    if exists:
        return False
    conn.execute(_TABLE)
    conn.execute(
        "CREATE TRIGGER IF NOT EXISTS usage_ledger_latency AFTER INSERT ON usage_ledger BEGIN "
        f"{_insert_sql(LATENCY, 'latency_s', 'new')}; {_insert_sql(TTFT, 'ttft_s', 'new')}; END"
    )
    conn.execute(
        "CREATE TRIGGER IF NOT EXISTS usage_ledger_latency_unroll AFTER DELETE ON usage_ledger BEGIN "
        f"{_delete_sql(LATENCY, 'latency_s')}; {_delete_sql(TTFT, 'ttft_s')}; END"
    )
    rebuild_latency(conn)
    return True


def rebuild_latency(conn: sqlite3.Connection) -> None:
    """Recompute the latency roll-up from the ledger (after a bulk load)."""
    conn.execute("DELETE FROM usage_latency_daily")
    for kind, column in ((LATENCY, "latency_s"), (TTFT, "ttft_s")):
        ms = f"CAST({column} * 1000 AS INTEGER)"
        conn.execute(
            "INSERT INTO usage_latency_daily (day, provider, model, kind, bucket, calls) "
            f"SELECT date(ts, 'unixepoch', 'localtime'), provider, model, {kind}, "
            f"{_bucket_sql(ms)} AS b, count(*) FROM usage_ledger WHERE {column} IS NOT NULL "
            "GROUP BY 1, 2, 3, 5"
        )


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Median and 90th percentile (seconds) of one model's latency and time to first token."""

    provider: str
    model: str
    calls: int
    latency_p50: float | None
    latency_p90: float | None
    ttft_calls: int
    ttft_p50: float | None
    ttft_p90: float | None


def _percentile(buckets: list[tuple[int, int]], q: float) -> float | None:
    """The ``q`` quantile in seconds from sorted ``(bucket, count)``, interpolated
    geometrically inside the bucket."""
    total = sum(c for _, c in buckets)
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for lower, count in buckets:
        if count <= 0:
            continue
        if seen + count >= rank:
            upper = bucket_upper(lower)
            frac = (rank - seen) / count
            # Geometric interpolation: the buckets are log-spaced.
            value = frac * upper if lower <= 0 else lower * math.exp(frac * math.log(upper / lower))
            return value / 1000.0
        seen += count
    return bucket_upper(buckets[-1][0]) / 1000.0


def latency_stats(
    conn: sqlite3.Connection,
    first_day: str,
    last_day: str,
    *,
    provider: str | None = None,
) -> list[LatencyStats]:
    """Per provider and model over local days ``first_day..last_day`` (inclusive), most
    calls first."""
    where = "day >= ? AND day <= ?"
    args: list[Any] = [first_day, last_day]
    if provider is not None:
        where += " AND provider = ?"
        args.append(provider)
    rows = conn.execute(
        f"SELECT provider, model, kind, bucket, sum(calls) FROM usage_latency_daily WHERE {where} "
        "GROUP BY provider, model, kind, bucket ORDER BY provider, model, kind, bucket",
        args,
    ).fetchall()
    hist: dict[tuple[str, str], tuple[list[tuple[int, int]], list[tuple[int, int]]]] = defaultdict(
        lambda: ([], [])
    )
    for prov, model, kind, bucket, calls in rows:
        hist[(prov, model)][kind].append((bucket, calls))
    out = []
    for (prov, model), (lat, ttft) in hist.items():
        out.append(
            LatencyStats(
                provider=prov,
                model=model,
                calls=sum(c for _, c in lat),
                latency_p50=_percentile(lat, 0.5),
                latency_p90=_percentile(lat, 0.9),
                ttft_calls=sum(c for _, c in ttft),
                ttft_p50=_percentile(ttft, 0.5),
                ttft_p90=_percentile(ttft, 0.9),
            )
        )
    out.sort(key=lambda s: (-s.calls, s.provider, s.model))
    return out


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What the dashboard shows, read in one transaction (one trip to a reader thread)."""

    rows: list[UsageAggregate]
    latency: list[LatencyStats]
    keys: list[tuple[str, str, str]]


def dashboard(
    conn: sqlite3.Connection,
    first_day: str,
    last_day: str,
    latency_first: str,
    latency_last: str,
    *,
    provider: str | None = None,
) -> Dashboard:
    """Daily totals by provider, model and endpoint over ``first_day..last_day``, latency
    percentiles over ``latency_first..latency_last`` (for ``provider`` if given), and every
    (provider, model, endpoint) with calls."""
    rows = ledger.aggregate(
        conn, ("day", "provider", "model", "endpoint"), first_day=first_day, last_day=last_day
    )
    latency = latency_stats(conn, latency_first, latency_last, provider=provider)
    return Dashboard(rows, latency, distinct_keys(conn))


# --- recent calls and export --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which ledger rows: a time range (Unix seconds, ``until`` excluded) and optional
    exact provider / model / endpoint; ``only`` is ``errors`` or ``estimated``."""

    since: float | None = None
    until: float | None = None
    provider: str | None = None
    model: str | None = None
    endpoint: str | None = None
    only: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        parts: list[str] = []
        args: list[Any] = []
        if self.since is not None:
            parts.append("ts >= ?")
            args.append(self.since)
        if self.until is not None:
            parts.append("ts < ?")
            args.append(self.until)
        for column in ("provider", "model", "endpoint"):
            value = getattr(self, column)
            if value is not None:
                parts.append(f"{column} = ?")
                args.append(value)
        if self.only == "errors":
            parts.append("status <> 'ok'")
        elif self.only == "estimated":
            parts.append("estimated <> 0")
        return (f" WHERE {' AND '.join(parts)}" if parts else ""), args


CALL_COLUMNS = (
    "id", "ts", "provider", "model", "endpoint", "prompt_tokens", "completion_tokens",
    "characters", "audio_seconds", "images", "cost", "estimated", "status", "latency_s",
    "ttft_s", "request_id",
)  # fmt: skip


def recent_calls(
    conn: sqlite3.Connection, filters: CallFilter, limit: int = 1000
) -> list[tuple[Any, ...]]:
    """The newest calls matching ``filters``, as tuples in `CALL_COLUMNS` order."""
    where, args = filters.where()
    return conn.execute(
        f"SELECT {', '.join(CALL_COLUMNS)} FROM usage_ledger{where} ORDER BY ts DESC LIMIT ?",
        (*args, limit),
    ).fetchall()


def count_calls(conn: sqlite3.Connection, filters: CallFilter) -> int:
    where, args = filters.where()
    return int(conn.execute(f"SELECT count(*) FROM usage_ledger{where}", args).fetchone()[0])


CSV_HEADER = (
    "time", "provider", "model", "endpoint", "prompt_tokens", "completion_tokens",
    "characters", "audio_seconds", "images", "cost_usd", "estimated", "status", "latency_s",
    "ttft_s", "request_id",
)  # fmt: skip


def export_csv(conn: sqlite3.Connection, path: Path, filters: CallFilter) -> int:
    """Write every matching call (oldest first) to ``path`` as CSV; returns the row count.

    Streams from a cursor, so a million rows never sit in memory; written to a temporary
    file first and renamed, so a failed export leaves no half file.
    """
    where, args = filters.where()
    cursor = conn.execute(
        f"SELECT {', '.join(CALL_COLUMNS)} FROM usage_ledger{where} ORDER BY ts, id", args
    )
    tmp = path.with_name(f".{path.name}.part")
    count = 0
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_HEADER)
            while rows := cursor.fetchmany(5000):
                for row in rows:
                    writer.writerow(csv_row(row))
                count += len(rows)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


def csv_row(row: Sequence[Any]) -> list[Any]:
    """One `CALL_COLUMNS` tuple as a CSV line (ISO time with the UTC offset, cost unset when
    unknown, estimated as 0/1)."""
    (_id, ts, provider, model, endpoint, prompt, completion, chars, audio, images, cost,
     estimated, status, latency, ttft, request_id) = row  # fmt: skip
    when = dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")
    return [
        when, provider, model, endpoint, prompt, completion, chars, audio, images,
        "" if cost is None else repr(float(cost)), int(bool(estimated)), status,
        "" if latency is None else f"{latency:.3f}", "" if ttft is None else f"{ttft:.3f}",
        request_id or "",
    ]  # fmt: skip


def distinct_keys(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Every (provider, model, endpoint) that has calls, for the filter menus."""
    return conn.execute(
        "SELECT DISTINCT provider, model, endpoint FROM usage_daily WHERE calls > 0 "
        "ORDER BY 1, 2, 3"
    ).fetchall()
