"""The usage dashboard model on a real SQLite store: totals per window, provider and model,
month spend and budget levels, chart series, call pages with filters, latency, CSV export,
budget announcements."""

from __future__ import annotations

import csv
import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.api import ProviderProfile
from app.api.types import RateLimitStatus
from app.core.providers import ProviderRegistry
from app.core.usage import BudgetCrossed, Budgets, UsageEvent, UsageMonitor
from app.core.usage_dashboard import (
    CallQuery,
    CallRow,
    UsageDashboard,
    chart_data,
    local_midnight,
    range_days,
)
from app.store import LedgerEntry, Store, UsageAggregate
from app.store.usage_queries import CALL_COLUMNS

TODAY = dt.date(2026, 3, 15)


def _at(day: dt.date, hour: int = 12) -> float:
    return dt.datetime.combine(day, dt.time(hour)).timestamp()


def _entry(
    day: dt.date, provider: str, model: str, cost: float | None, **fields: object
) -> LedgerEntry:
    values: dict[str, object] = {"endpoint": "chat", "prompt_tokens": 100, "completion_tokens": 50}
    values.update(fields)
    return LedgerEntry(provider=provider, model=model, ts=_at(day), cost=cost, **values)  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "data", daily_backup=False)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def dashboard(store: Store, tmp_path: Path) -> UsageDashboard:
    registry = ProviderRegistry(
        tmp_path / "providers.json",
        [
            ProviderProfile(id="a", name="Alpha", base_url="https://a.test/v1"),
            ProviderProfile(id="b", name="Beta", base_url="https://b.test/v1"),
            ProviderProfile(id="c", name="Gamma", base_url="https://c.test/v1"),
        ],
    )
    return UsageDashboard(store, registry, UsageMonitor(), Budgets(tmp_path / "budgets.json"))


async def _fill(store: Store) -> None:
    days_ago = lambda n: TODAY - dt.timedelta(days=n)  # noqa: E731
    entries = [
        _entry(TODAY, "a", "m1", 0.10, latency_s=0.5, ttft_s=0.1),
        _entry(TODAY, "a", "m2", 0.20, estimated=True, latency_s=1.5),
        _entry(days_ago(3), "b", "m3", 0.40, status="error:RateLimitError"),
        _entry(days_ago(10), "a", "m1", 1.00),  # this month (March)
        _entry(days_ago(20), "b", "m3", None),  # February: no price
        _entry(days_ago(40), "a", "m1", 8.00),  # outside every window
        _entry(TODAY, "b", "speaker", 0.05, endpoint="speech", prompt_tokens=0,
               completion_tokens=0, characters=1200),
    ]  # fmt: skip
    for entry in entries:
        await store.record_usage(entry)


async def test_summary_totals_per_window_and_provider(
    store: Store, dashboard: UsageDashboard
) -> None:
    await _fill(store)
    week = (TODAY - dt.timedelta(days=6), TODAY)
    summary = await dashboard.summary(week, today=TODAY)
    cards = summary.cards()
    assert (cards["today"].calls, cards["today"].tokens) == (3, 300)
    assert cards["today"].cost == pytest.approx(0.35) and cards["today"].estimated
    assert (cards["7d"].calls, cards["7d"].errors) == (4, 1)
    assert cards["30d"].calls == 6 and cards["30d"].unpriced == 1
    assert cards["30d"].cost == pytest.approx(1.75)
    assert cards["range"].calls == cards["7d"].calls
    assert summary.windows()["range"] == week
    only_b = summary.cards("b")
    assert only_b["today"].calls == 1 and not only_b["today"].estimated
    assert only_b["7d"].cost == pytest.approx(0.45)
    assert summary.totals(TODAY, TODAY, "a").cost == pytest.approx(0.30)
    # This month: March 1st to today; the 40-day-old call is left out of everything.
    assert summary.month_spend() == pytest.approx({"a": 1.30, "b": 0.45})
    by_provider = summary.by_provider()
    assert by_provider["a"].calls == 2 and by_provider["b"].calls == 2


async def test_provider_lines_budgets_and_live_limits(
    store: Store, dashboard: UsageDashboard
) -> None:
    await _fill(store)
    dashboard.budgets.set("a", 1.50)  # $1.30 of $1.50: a warning
    dashboard.budgets.set("b", 0.40)  # $0.45 of $0.40: over
    dashboard.monitor.observe_rate_limit(
        "c",
        RateLimitStatus(
            limit_requests=60,
            remaining_requests=59,
            observed_at=time.time(),
            raw={"x-ratelimit-limit-requests": "60"},
        ),
    )
    summary = await dashboard.summary((TODAY, TODAY), today=TODAY)
    lines = dashboard.provider_lines(summary)
    assert [line.provider_id for line in lines] == ["a", "b", "c"]  # c: live limits only
    a, b, c = lines
    assert (a.name, a.level, a.budget) == ("Alpha", "warning", 1.50)
    assert a.totals.calls == 2 and a.month_spend == pytest.approx(1.30)
    assert a.warning is not None and "Alpha" in a.warning and "87 %" in a.warning
    assert b.level == "over" and b.warning is not None and "passed the budget" in b.warning
    assert c.totals.calls == 0 and c.level == "none" and c.warning is None
    assert [line.provider_id for line in dashboard.provider_lines(summary, "b")] == ["b"]
    assert dashboard.budget_providers() == ["a", "b", "c"]
    choices = dashboard.filter_choices(summary)
    assert choices.providers == ["a", "b", "c"]
    assert choices.models == ["m1", "m2", "m3", "speaker"]
    assert choices.endpoints == ["chat", "speech"]


async def test_budget_announcements_fire_once_per_level(
    store: Store, dashboard: UsageDashboard
) -> None:
    events: list[UsageEvent] = []
    dashboard.monitor.subscribe(events.append)
    dashboard.budgets.set("a", 1.00)
    now = time.time()
    await store.record_usage(
        LedgerEntry(provider="a", endpoint="chat", model="m", ts=now, cost=0.85)
    )
    spend = await dashboard.month_spend()
    assert spend == pytest.approx({"a": 0.85})
    [message] = dashboard.announce_budgets(spend)
    assert "Alpha" in message and "85 %" in message
    assert dashboard.announce_budgets(spend) == []  # said once
    await store.record_usage(
        LedgerEntry(provider="a", endpoint="chat", model="m", ts=now, cost=0.20)
    )
    [over] = dashboard.announce_budgets(await dashboard.month_spend())
    assert "passed" in over
    crossed = [e for e in events if isinstance(e, BudgetCrossed)]
    assert [(e.provider_id, e.level) for e in crossed] == [("a", "warning"), ("a", "over")]


async def test_charts_stack_by_group_with_names(store: Store, dashboard: UsageDashboard) -> None:
    await _fill(store)
    week = (TODAY - dt.timedelta(days=6), TODAY)
    summary = await dashboard.summary(week, today=TODAY)
    by_model = summary.chart("model")
    assert by_model.days[0] == week[0] and len(by_model.days) == 7
    assert [s.name for s in by_model.cost] == ["m3", "m2", "m1", "speaker"]
    assert by_model.cost[0].values[3] == pytest.approx(0.40)
    assert [s.estimated for s in by_model.tokens] == [False, True, False]  # speech: no tokens
    by_provider = summary.chart("provider", name_of=dashboard.provider_name)
    assert [s.name for s in by_provider.cost] == ["Beta", "Alpha"]
    assert [s.name for s in summary.chart("endpoint", "b").cost] == ["chat", "speech"]


def test_chart_data_keeps_the_biggest_groups() -> None:
    day = dt.date(2026, 3, 2)
    rows = [
        UsageAggregate(day.isoformat(), "p", f"m{i}", "chat", 1, 0, 10 * i, 0, 0, 0.0, 0, float(i),
                       1 if i == 9 else 0, 0)
        for i in range(1, 11)
    ]  # fmt: skip
    data = chart_data(rows, day - dt.timedelta(days=1), day, "model")
    names = [s.name for s in data.cost]
    assert names[:3] == ["m10", "m9", "m8"] and names[-1] == "Other" and len(names) == 8
    assert data.cost[0].values == [0.0, 10.0]
    assert data.cost[1].estimated and not data.cost[0].estimated
    assert sum(sum(s.values) for s in data.cost) == pytest.approx(55.0)
    other = data.cost[-1]
    assert other.values == [0.0, 6.0] and not other.estimated  # m1 + m2 + m3
    assert chart_data(rows, day, day, "model", lambda name: name.upper()).cost[0].name == "M10"


async def test_call_pages_and_filters(store: Store, dashboard: UsageDashboard) -> None:
    await _fill(store)
    week = (TODAY - dt.timedelta(days=6), TODAY)
    page = await dashboard.calls(CallQuery(*week))
    assert len(page.rows) == 4 and not page.truncated
    assert all(isinstance(r, CallRow) for r in page.rows)
    assert page.rows[-1].model == "m3" and page.rows[-1].status == "error:RateLimitError"
    assert [r.ts for r in page.rows] == sorted((r.ts for r in page.rows), reverse=True)
    assert CallRow._fields == CALL_COLUMNS  # the query's column order
    speech = next(r for r in page.rows if r.endpoint == "speech")
    assert speech.characters == 1200 and speech.cost == pytest.approx(0.05)
    assert [r.model for r in (await dashboard.calls(CallQuery(*week, only="errors"))).rows] == [
        "m3"
    ]
    estimated = await dashboard.calls(CallQuery(*week, only="estimated"))
    assert [r.model for r in estimated.rows] == ["m2"] and estimated.rows[0].estimated
    assert len((await dashboard.calls(CallQuery(*week, provider="a", model="m1"))).rows) == 1
    assert len((await dashboard.calls(CallQuery(*week, endpoint="speech"))).rows) == 1
    truncated = await dashboard.calls(CallQuery(*week), limit=2)
    assert len(truncated.rows) == 2 and truncated.truncated
    old = TODAY - dt.timedelta(days=40)
    assert [r.cost for r in (await dashboard.calls(CallQuery(old, old))).rows] == [8.0]


async def test_latency_follows_the_range_and_provider(
    store: Store, dashboard: UsageDashboard
) -> None:
    await _fill(store)
    summary = await dashboard.summary((TODAY, TODAY), today=TODAY)
    stats = {s.model: s for s in summary.latency}
    assert set(stats) == {"m1", "m2"}
    assert stats["m1"].latency_p50 == pytest.approx(0.5, rel=0.06)
    assert stats["m1"].ttft_p50 == pytest.approx(0.1, rel=0.06) and stats["m2"].ttft_p50 is None
    assert (await dashboard.summary((TODAY, TODAY), "b", today=TODAY)).latency == []


async def test_csv_export_has_every_matching_call(
    store: Store, dashboard: UsageDashboard, tmp_path: Path
) -> None:
    await _fill(store)
    out = tmp_path / "usage.csv"
    month = (dt.date(2026, 3, 1), TODAY)
    assert await dashboard.export_csv(out, CallQuery(*month, provider="a")) == 3
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["model"] for r in rows] == ["m1", "m1", "m2"]  # oldest first
    assert [float(r["cost_usd"]) for r in rows] == pytest.approx([1.0, 0.1, 0.2])
    assert [r["estimated"] for r in rows] == ["0", "0", "1"]


def test_ranges_and_midnights() -> None:
    custom = (dt.date(2026, 2, 10), dt.date(2026, 2, 1))
    assert range_days("today", TODAY, custom) == (TODAY, TODAY)
    assert range_days("7d", TODAY, custom) == (dt.date(2026, 3, 9), TODAY)
    assert range_days("30d", TODAY, custom) == (dt.date(2026, 2, 14), TODAY)
    assert range_days("month", TODAY, custom) == (dt.date(2026, 3, 1), TODAY)
    assert range_days("custom", TODAY, custom) == (dt.date(2026, 2, 1), dt.date(2026, 2, 10))
    query = CallQuery(TODAY, TODAY).filter()
    assert local_midnight(TODAY) == _at(TODAY, 0) == query.since
    assert query.until == local_midnight(TODAY + dt.timedelta(days=1))
