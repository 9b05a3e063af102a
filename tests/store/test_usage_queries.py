"""Dashboard queries: the latency histogram roll-up, recent calls with filters, CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import random
import statistics
from pathlib import Path

import pytest

from app.store import LedgerEntry, Store, ledger, usage_queries
from app.store.usage_queries import CallFilter, bucket_of, bucket_upper

T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC).timestamp()


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).date().isoformat()


@pytest.mark.parametrize("ms", [0, 1, 9, 10, 11, 14, 99, 100, 123, 999, 1000, 4321, 98765, 10**7])
def test_sql_bucket_matches_python(ms: int) -> None:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    sql = usage_queries._bucket_sql("?")
    got = conn.execute(f"SELECT {sql.replace('?', str(ms))}").fetchone()[0]
    assert got == bucket_of(ms)
    assert got <= ms < bucket_upper(got)


async def test_latency_percentiles_track_exact_ones(store: Store) -> None:
    await store.write(usage_queries.ensure_schema)
    rng = random.Random(7)
    latencies = [rng.lognormvariate(0, 0.6) for _ in range(400)]
    for i, lat in enumerate(latencies):
        await store.record_usage(
            LedgerEntry(
                "p", "chat", "m", ts=T0 + i, latency_s=lat, ttft_s=lat / 4 if i % 2 else None
            )
        )
    await store.record_usage(LedgerEntry("p", "chat", "other", ts=T0, latency_s=None))
    stats = await store.read(usage_queries.latency_stats, _day(T0), _day(T0 + 400))
    by_model = {s.model: s for s in stats}
    m = by_model["m"]
    assert m.calls == 400 and m.ttft_calls == 200
    exact50 = statistics.median(latencies)
    exact90 = statistics.quantiles(latencies, n=10)[-1]
    assert m.latency_p50 is not None and abs(m.latency_p50 / exact50 - 1) < 0.06
    assert m.latency_p90 is not None and abs(m.latency_p90 / exact90 - 1) < 0.06
    ttfts = [lat / 4 for i, lat in enumerate(latencies) if i % 2]
    assert m.ttft_p50 is not None and abs(m.ttft_p50 / statistics.median(ttfts) - 1) < 0.06
    assert by_model.get("other") is None  # no timing, no row


async def test_ensure_schema_backfills_and_is_idempotent(store: Store) -> None:
    for i in range(10):
        await store.record_usage(LedgerEntry("p", "chat", "m", ts=T0 + i, latency_s=1.0 + i / 10))
    assert await store.write(usage_queries.ensure_schema) is True
    assert await store.write(usage_queries.ensure_schema) is False
    stats = await store.read(usage_queries.latency_stats, _day(T0), _day(T0))
    assert stats[0].calls == 10
    assert stats[0].latency_p50 is not None and 1.3 < stats[0].latency_p50 < 1.6

    # Deleting ledger rows takes them out of the histogram too.
    def delete(conn):  # type: ignore[no-untyped-def]
        conn.execute("DELETE FROM usage_ledger WHERE ts < ?", (T0 + 5,))

    await store.write(delete)
    stats = await store.read(usage_queries.latency_stats, _day(T0), _day(T0))
    assert stats[0].calls == 5


async def test_recent_calls_filters_and_limit(store: Store) -> None:
    entries = [
        LedgerEntry("a", "chat", "m1", ts=T0 + 1, prompt_tokens=5, cost=0.1),
        LedgerEntry("a", "images", "img", ts=T0 + 2, images=2, cost=0.08),
        LedgerEntry("b", "chat", "m2", ts=T0 + 3, estimated=True, cost=None),
        LedgerEntry("b", "chat", "m2", ts=T0 + 4, status="error:RateLimitError", cost=0.0),
    ]
    for entry in entries:
        await store.record_usage(entry)
    rows = await store.read(usage_queries.recent_calls, CallFilter())
    assert [r[1] for r in rows] == [T0 + 4, T0 + 3, T0 + 2, T0 + 1]
    rows = await store.read(usage_queries.recent_calls, CallFilter(provider="a"))
    assert {r[2] for r in rows} == {"a"}
    rows = await store.read(usage_queries.recent_calls, CallFilter(only="errors"))
    assert [r[12] for r in rows] == ["error:RateLimitError"]
    rows = await store.read(usage_queries.recent_calls, CallFilter(only="estimated"))
    assert [r[3] for r in rows] == ["m2"] and rows[0][11] == 1
    rows = await store.read(usage_queries.recent_calls, CallFilter(since=T0 + 2, until=T0 + 4))
    assert [r[1] for r in rows] == [T0 + 3, T0 + 2]
    assert await store.read(usage_queries.count_calls, CallFilter(endpoint="chat")) == 3
    assert len(await store.read(usage_queries.recent_calls, CallFilter(), 2)) == 2
    keys = await store.read(usage_queries.distinct_keys)
    assert ("a", "img", "images") in keys and len(keys) == 3


async def test_export_csv_matches_the_ledger(store: Store, tmp_path: Path) -> None:
    for i in range(12):
        await store.record_usage(
            LedgerEntry("a", "chat", f"m{i % 3}", ts=T0 + i, prompt_tokens=i, completion_tokens=2 * i,
                        cost=None if i == 5 else i / 1000, estimated=i % 4 == 0, latency_s=0.5,
                        request_id=f"r{i}")
        )  # fmt: skip
    out = tmp_path / "usage.csv"
    count = await store.read(usage_queries.export_csv, out, CallFilter(since=T0 + 2))
    assert count == 10
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ledger_rows = sorted(await store.usage_entries(since=T0 + 2), key=lambda r: r["ts"])
    assert len(rows) == len(ledger_rows) == 10
    for line, row in zip(rows, ledger_rows, strict=True):
        assert dt.datetime.fromisoformat(line["time"]).timestamp() == pytest.approx(
            row["ts"], abs=1
        )
        assert line["model"] == row["model"] and line["request_id"] == row["request_id"]
        assert int(line["prompt_tokens"]) == row["prompt_tokens"]
        assert int(line["completion_tokens"]) == row["completion_tokens"]
        assert line["estimated"] == str(int(row["estimated"]))
        assert (line["cost_usd"] == "") == (row["cost"] is None)
        if row["cost"] is not None:
            assert float(line["cost_usd"]) == row["cost"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "usage.csv"]  # noqa: ASYNC240


async def test_bulk_load_then_rebuild(store: Store) -> None:
    await store.write(usage_queries.ensure_schema)
    rows = [
        (
            T0 + i,
            "p",
            "m",
            "chat",
            1,
            1,
            0,
            0.0,
            0,
            0.001,
            0,
            "ok",
            0.2,
            0.05,
            None,
            None,
            None,
            None,
        )
        for i in range(100)
    ]

    def load(conn):  # type: ignore[no-untyped-def]
        ledger.bulk_insert_rows(conn, rows)
        usage_queries.rebuild_latency(conn)

    await store.write(load)
    stats = await store.read(usage_queries.latency_stats, _day(T0), _day(T0 + 100))
    assert stats[0].calls == 100
    assert stats[0].latency_p50 == pytest.approx(0.2, rel=0.06)
    assert stats[0].ttft_p90 == pytest.approx(0.05, rel=0.06)


async def test_dashboard_reads_everything_in_one_trip(store: Store) -> None:
    await store.write(usage_queries.ensure_schema)
    await store.record_usage(LedgerEntry("a", "chat", "m1", ts=T0, latency_s=0.5, cost=0.1))
    await store.record_usage(LedgerEntry("b", "images", "img", ts=T0 + 1, latency_s=2.0, cost=0.04))
    day = _day(T0)
    data = await store.read(usage_queries.dashboard, day, day, day, day, provider="a")
    assert {(r.provider, r.model, r.endpoint, r.day) for r in data.rows} == {
        ("a", "m1", "chat", day), ("b", "img", "images", day)
    }  # fmt: skip
    assert [s.model for s in data.latency] == ["m1"]  # latency for the chosen provider only
    assert data.keys == [("a", "m1", "chat"), ("b", "img", "images")]
