"""The usage dashboard driven with real widgets: calls made through the chat panel against
the local server land in the ledger and on the dashboard with the right tokens and cost;
estimated usage is flagged; rate-limit headers, a 429 and a 402 reach the status bar; the
budget warning fires; the CSV export matches the ledger."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from app.api import ModelPrice
from app.core.context import AppContext
from app.core.usage import BudgetCrossed, UsageEvent
from app.paths import AppPaths
from app.ui.panels.chat import ChatPanel
from app.ui.panels.usage import UsagePanel
from app.ui.widgets.rate_limit import RateLimitIndicator
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.openai_server import OpenAIServer
from tests.helpers.waiting import until

MODEL = "gpt-test?tokens=40"
ESTIMATED_MODEL = "gpt-test?flavor=spafe&tokens=30"
PRICE = ModelPrice(input_per_m=2.0, output_per_m=10.0)


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path))
    context.registry.add(
        local_provider(openai_server, prices={MODEL: PRICE, ESTIMATED_MODEL: PRICE},
            credits_per_usd=1000, credit_unit="credit", dashboard_url="https://example.test/billing")
    )  # fmt: skip
    yield context
    await context.close()


class Window(QWidget):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.chat = ChatPanel(ctx)
        self.usage = UsagePanel(ctx)
        self.indicator = RateLimitIndicator(ctx)
        layout = QHBoxLayout(self)
        layout.addWidget(self.chat)
        layout.addWidget(self.usage)
        layout.addWidget(self.indicator)


async def _window(qtbot, ctx: AppContext) -> Window:  # type: ignore[no-untyped-def]
    window = Window(ctx)
    qtbot.addWidget(window)
    window.resize(1600, 800)
    window.show()
    await until(lambda: window.usage.generation > 0)
    return window


async def _chat(window: Window, ctx: AppContext, model: str, text: str = "How much?") -> None:
    ctx.settings.update(default_provider="local", default_model=model)
    window.chat.new_chat()
    window.chat.composer.set_text(text)
    window.chat.composer.on_send_clicked()
    await until(lambda: window.chat.composer.busy, 5)
    await until(lambda: not window.chat.composer.busy, 20)


async def _settled(window: Window, calls: int) -> None:
    usage = window.usage
    await until(
        lambda: (
            usage.calls_model.rowCount() >= calls
            and not usage._refresh_timer.isActive()
            and not usage.tasks.running("summary")
            and not usage.tasks.running("calls")
        ),
        10,
    )


async def test_chat_calls_appear_with_tokens_and_cost(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    window = await _window(qtbot, ctx)
    await _chat(window, ctx, MODEL)
    await _settled(window, 1)
    [row] = await ctx.store.usage_entries()
    assert row["completion_tokens"] == 40 and row["prompt_tokens"] > 0 and not row["estimated"]
    expected = (row["prompt_tokens"] * 2.0 + 40 * 10.0) / 1e6
    assert row["cost"] == pytest.approx(expected)
    model = window.usage.calls_model
    cells = [model.index(0, c).data() for c in range(model.columnCount())]
    assert cells[1] == "Local" and cells[2] == MODEL and cells[3] == "chat"
    assert cells[4] == f"{row['prompt_tokens']:,}" and cells[5] == "40"
    assert "credits" in cells[6] and "≈" not in cells[6]  # provider units shown beside dollars
    assert cells[9] == "ok"
    today_card = window.usage.cards["today"].text()
    assert "· 1 call" in today_card and "≈" not in today_card
    assert f"{row['prompt_tokens'] + 40:,} tokens" in today_card
    series = window.usage.cost_chart.series_names
    assert series == [MODEL]
    latency = window.usage.latency_table
    assert latency.rowCount() == 1 and latency.item(0, 1).text() == MODEL


async def test_estimated_usage_is_flagged(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    window = await _window(qtbot, ctx)
    await _chat(window, ctx, ESTIMATED_MODEL)
    await _settled(window, 1)
    [row] = await ctx.store.usage_entries()
    assert row["estimated"] and row["completion_tokens"] > 0
    model = window.usage.calls_model
    assert model.index(0, 5).data().startswith("≈")
    assert model.index(0, 6).data().startswith("≈$")
    assert "estimated" in str(model.index(0, 5).data(Qt.ItemDataRole.ToolTipRole))
    assert "≈" in window.usage.cards["today"].text()
    assert window.usage.cost_chart.bar_labels()[0].startswith("≈")
    providers = window.usage.providers_table
    assert providers.item(0, 3).text().startswith("≈")
    assert providers.item(0, 4).text().startswith("≈") and "credit" in providers.item(0, 4).text()


async def test_rate_limit_headers_reach_the_status_bar(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    window = await _window(qtbot, ctx)
    assert not window.indicator.isVisible()
    await _chat(window, ctx, MODEL)
    await until(lambda: window.indicator.isVisible())
    text = window.indicator.text()
    assert text.startswith("Local:") and "/60 req/min" in text and "/10,000 today" in text
    assert "resets" in text and window.indicator.is_ticking()
    await _settled(window, 1)
    window.usage.details.setCurrentIndex(2)
    assert "per min" in window.usage.providers_table.item(0, 7).text()


async def test_429_shows_its_retry_after_countdown(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    window = await _window(qtbot, ctx)
    # Longer than the client waits by itself, so the 429 reaches the person.
    await _chat(window, ctx, "gpt-test?fault=429&retry_after=90")
    await until(lambda: "retry in" in window.indicator.text())
    first = window.indicator.text()
    assert "429" in first and ("1:2" in first or "1:3" in first)
    assert window.indicator.property("tone") == "warning" and window.indicator.is_ticking()
    await until(lambda: window.indicator.text() != first, 3)  # it counts down
    await _settled(window, 1)
    window.usage.details.setCurrentIndex(2)
    assert window.usage.providers_table.item(0, 8).text().startswith("429: retry in")


@pytest.mark.slow
async def test_a_429_the_client_waits_out_counts_down_meanwhile(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    window = await _window(qtbot, ctx)
    ctx.settings.update(
        default_provider="local", default_model="gpt-test?fault=429&times=1&retry_after=3"
    )
    window.chat.composer.set_text("hi")
    window.chat.composer.on_send_clicked()
    await until(lambda: "retry in" in window.indicator.text(), 5)
    assert window.chat.composer.busy  # the client is still waiting to try again
    await until(lambda: not window.chat.composer.busy, 20)
    await until(lambda: "retry in" not in window.indicator.text())
    assert "req/min" in window.indicator.text()


async def test_402_explains_and_links_the_dashboard(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    window = await _window(qtbot, ctx)
    await _chat(window, ctx, "gpt-test?fault=402")
    await until(lambda: "credits" in window.indicator.text())
    assert "https://example.test/billing" in window.indicator.text()
    assert window.indicator.property("tone") == "error"
    banner = window.usage.credits_banner
    assert banner.isVisible()
    assert "402" in banner.text() and 'href="https://example.test/billing"' in banner.text()
    # A call that goes through again clears it.
    await _chat(window, ctx, MODEL)
    await until(lambda: not window.usage.credits_banner.isVisible())


async def test_budget_warning_fires(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    window = await _window(qtbot, ctx)
    events: list[UsageEvent] = []
    ctx.clients.usage.subscribe(events.append)
    usage = window.usage
    usage.budget_provider.setCurrentIndex(usage.budget_provider.findData("local"))
    usage.budget_amount.setValue(0.0004)  # rounds to the spin box's cents: set it directly
    usage.budgets.set("local", 0.0004)
    await _chat(window, ctx, MODEL)  # about $0.0004+ of a $0.0004 budget
    await until(lambda: any(isinstance(e, BudgetCrossed) for e in events), 10)
    crossed = [e for e in events if isinstance(e, BudgetCrossed)]
    assert crossed[0].provider_id == "local" and crossed[0].level in ("warning", "over")
    assert "budget" in crossed[0].message
    await until(lambda: usage.budget_banner.isVisible())
    assert "budget" in usage.budget_banner.text()
    assert "budget" in window.indicator.text()
    assert (Path(ctx.paths.config) / "budgets.json").exists()


async def test_budget_editor_saves(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    window = await _window(qtbot, ctx)
    usage = window.usage
    usage.budget_provider.setCurrentIndex(usage.budget_provider.findData("local"))
    usage.budget_amount.setValue(25)
    qtbot.mouseClick(usage.budget_button, Qt.MouseButton.LeftButton)
    assert usage.budgets.get("local") == 25
    assert "25" in (ctx.paths.config / "budgets.json").read_text()
    usage.budget_amount.setValue(0)
    qtbot.mouseClick(usage.budget_button, Qt.MouseButton.LeftButton)
    assert usage.budgets.get("local") is None


async def test_csv_export_matches_the_ledger(qtbot, ctx: AppContext, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = await _window(qtbot, ctx)
    await _chat(window, ctx, MODEL)
    await _chat(window, ctx, ESTIMATED_MODEL)
    await _settled(window, 2)
    out = tmp_path / "export.csv"
    await window.usage.export_to(out)
    with out.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    rows = sorted(await ctx.store.usage_entries(), key=lambda r: r["ts"])
    assert [(x["model"], int(x["prompt_tokens"]), int(x["completion_tokens"]), x["estimated"])
            for x in lines] == [
        (r["model"], r["prompt_tokens"], r["completion_tokens"], str(int(r["estimated"]))) for r in rows
    ]  # fmt: skip
    assert [float(x["cost_usd"]) for x in lines] == pytest.approx([r["cost"] for r in rows])
    assert "Exported 2 calls" in window.usage.calls_count.text()


async def test_filters_ranges_and_grouping(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    window = await _window(qtbot, ctx)
    await _chat(window, ctx, MODEL)
    await _chat(window, ctx, ESTIMATED_MODEL)
    await _settled(window, 2)
    usage = window.usage
    usage.only_filter.setCurrentIndex(usage.only_filter.findData("estimated"))
    await until(lambda: usage.calls_model.rowCount() == 1)
    assert usage.calls_model.index(0, 2).data() == ESTIMATED_MODEL
    usage.only_filter.setCurrentIndex(0)
    await until(lambda: usage.calls_model.rowCount() == 2)
    usage.set_group("endpoint")
    assert usage.cost_chart.series_names == ["chat"]
    usage.set_group("provider")
    assert usage.cost_chart.series_names == ["Local"]
    # Quick changes: older queries are cancelled, the last range wins.
    for key in ("today", "7d", "month", "30d", "today"):
        usage.set_range(key)
    await until(lambda: not usage.tasks.running("summary") and not usage.tasks.running("calls"))
    assert usage.days == (dt.date.today(), dt.date.today())
    range_card = usage.cards["range"].text()
    assert f"{dt.date.today():%d %b %Y}" in range_card and "· 2 calls" in range_card
    generation = usage.generation
    past = dt.date.today() - dt.timedelta(days=40)
    usage.set_range("custom", past, past + dt.timedelta(days=3))
    await until(lambda: usage.generation > generation)
    await until(lambda: usage.calls_model.rowCount() == 0)
    assert usage.from_date.isVisible() and usage.cost_chart.series_names == []
    assert "0 calls" in usage.cards["range"].text() and "2 calls" in usage.cards["today"].text()
