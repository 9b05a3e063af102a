"""The usage ledger and its hourly roll-up."""

from __future__ import annotations

import datetime as dt

from app.store import LedgerEntry, Store, ledger

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
    day1, day2 = _local_day(T0 + 10), _local_day(T0 + DAY + 60)
    rows = await store.usage_summary(("day", "model"))
    expected_days = sorted({_local_day(e.ts or 0) for e in entries})
    assert sorted({r.day for r in rows}) == expected_days
    by_model = {r.model: r for r in await store.usage_summary(("model",))}
    gpt = by_model["gpt-4o"]
    assert gpt.calls == 2 and (gpt.prompt_tokens, gpt.completion_tokens) == (110, 55)
    assert abs(gpt.cost - 0.012) < 1e-12
    assert (
        by_model["gpt-4o-mini"].unpriced_calls == 1 and by_model["gpt-4o-mini"].estimated_calls == 1
    )
    assert by_model["tts-1"].errors == 1 and by_model["tts-1"].characters == 120
    assert by_model["whisper"].audio_seconds == 12.5
    assert sum(r.calls for r in rows) == 5
    # Ordered by day, then cost descending.
    assert [r.day for r in rows] == sorted(r.day or "" for r in rows)

    by_provider = await store.usage_summary(("provider",))
    assert {r.provider: r.calls for r in by_provider} == {"openai": 3, "acme": 2}
    assert by_provider[0].day is None and by_provider[0].model is None
    only_day2 = await store.usage_summary(("endpoint",), first_day=day2, last_day=day2)
    expected2 = sorted(e.endpoint for e in entries if _local_day(e.ts or 0) == day2)
    assert sorted(r.endpoint or "" for r in only_day2) == sorted(set(expected2))
    assert sum(r.calls for r in await store.usage_summary((), first_day=day1, last_day=day2)) == 5

    # Hour precision: the second UTC day only.
    hours = await store.usage_by_hour(("endpoint",), since=T0 + DAY, until=T0 + 2 * DAY)
    assert sorted(r.endpoint or "" for r in hours) == ["speech", "transcription"]
    per_hour = await store.usage_by_hour(("hour",), since=T0, until=T0 + 3 * 3600)
    assert [(r.hour, r.calls) for r in per_hour] == [(T0, 2), (T0 + 7200, 1)]
    raw = await store.usage_entries(limit=10)
    assert raw[0]["rate_limit"] == {"remaining_requests": 10} and len(raw) == 5


def _local_day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).date().isoformat()


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
    # Rebuilding the roll-ups from the ledger gives the same totals as the triggers kept.
    before = await store.usage_summary(("day", "model"))
    await store.write(ledger.rebuild_rollup)
    assert await store.usage_summary(("day", "model")) == before
    by_hour = await store.usage_by_hour(("model",))
    assert [(r.model, r.calls) for r in sorted(by_hour, key=lambda r: r.model or "")] == [
        (m, c) for m, c, _, _ in expected
    ]
