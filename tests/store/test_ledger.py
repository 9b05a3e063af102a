"""The usage ledger and its hourly roll-up."""

from __future__ import annotations

import datetime as dt

from app.store import LedgerEntry, Store

DAY = 86400
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp()


async def test_aggregate_by_day_and_model(store: Store) -> None:
    entries = [
        LedgerEntry("openai", "chat", "gpt-4o", ts=T0 + 10, prompt_tokens=100, completion_tokens=50, cost=0.01),
        LedgerEntry("openai", "chat", "gpt-4o", ts=T0 + 7200, prompt_tokens=10, completion_tokens=5, cost=0.002),
        LedgerEntry("openai", "chat", "gpt-4o-mini", ts=T0 + 20, prompt_tokens=7, cost=None, estimated=True),
        LedgerEntry("acme", "speech", "tts-1", ts=T0 + DAY + 5, characters=120, cost=0.003, status="error"),
        LedgerEntry(
            "acme", "transcription", "whisper", ts=T0 + DAY + 60, audio_seconds=12.5, cost=0.001,
            rate_limit={"remaining_requests": 10}, latency_s=0.4,
        ),
    ]  # fmt: skip
    for entry in entries:
        assert await store.record_usage(entry) > 0
    rows = await store.usage_summary(("day", "model"))
    assert [(r.day, r.model, r.calls) for r in rows] == [
        ("2026-03-01", "gpt-4o", 2),
        ("2026-03-01", "gpt-4o-mini", 1),
        ("2026-03-02", "tts-1", 1),
        ("2026-03-02", "whisper", 1),
    ]
    gpt = rows[0]
    assert (gpt.prompt_tokens, gpt.completion_tokens) == (110, 55)
    assert abs(gpt.cost - 0.012) < 1e-12
    assert rows[1].unpriced_calls == 1 and rows[1].estimated_calls == 1
    assert rows[2].errors == 1 and rows[2].characters == 120
    assert rows[3].audio_seconds == 12.5

    by_provider = await store.usage_summary(("provider",))
    assert {r.provider: r.calls for r in by_provider} == {"openai": 3, "acme": 2}
    assert by_provider[0].day is None and by_provider[0].model is None
    day_two = await store.usage_summary(("endpoint",), since=T0 + DAY, until=T0 + 2 * DAY)
    assert sorted(r.endpoint or "" for r in day_two) == ["speech", "transcription"]
    # Three hours behind UTC, every call falls on the previous local day.
    west = await store.usage_summary(("day",), utc_offset_s=-3 * 3600)
    assert [(r.day, r.calls) for r in west] == [("2026-02-28", 3), ("2026-03-01", 2)]
    raw = await store.usage_entries(limit=10)
    assert raw[0]["rate_limit"] == {"remaining_requests": 10} and len(raw) == 5


async def test_rollup_matches_ledger(store: Store) -> None:
    for i in range(200):
        await store.record_usage(
            LedgerEntry("p", "chat", f"m{i % 3}", ts=T0 + i * 977, prompt_tokens=i, cost=i / 1000)
        )

    def direct(conn):  # type: ignore[no-untyped-def]
        return conn.execute(
            "SELECT model, count(*), sum(prompt_tokens), sum(cost) FROM usage_ledger GROUP BY model ORDER BY model"
        ).fetchall()

    expected = await store.read(direct)
    got = sorted(await store.usage_summary(("model",)), key=lambda r: r.model or "")
    assert [(r.model, r.calls, r.prompt_tokens) for r in got] == [
        (m, c, p) for m, c, p, _ in expected
    ]
    for row, (_, _, _, cost) in zip(got, expected, strict=True):
        assert abs(row.cost - cost) < 1e-9
