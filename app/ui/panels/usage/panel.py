"""The usage dashboard: totals, charts by day, latency per model, recent calls, CSV export,
credits in provider units, monthly budgets, live rate limits.

Every figure comes from core (``app.core.usage_dashboard``, on the store's reader threads);
a newer range or filter cancels the older query (one named task each). The daily roll-up
of the widest range needed is fetched once per refresh; grouping and totals are computed
from it in memory, so changing the stacking never queries again.
"""

from __future__ import annotations

import datetime as dt
import html
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import log
from app.core.context import AppContext
from app.core.usage import (
    ESTIMATED_MARK,
    Budgets,
    CallRecorded,
    CreditsExhausted,
    LimitsChanged,
    UsageEvent,
    budget_level,
    budget_message,
    credits_message,
    format_credits,
    format_tokens,
    format_usd,
    month_start,
)
from app.core.usage_dashboard import CallFilter, LatencyStats, UsageDashboard
from app.store import UsageAggregate
from app.ui.dialogs.common import named, set_tone
from app.ui.errors import failure_text
from app.ui.panels.usage.calls import ESTIMATED_TIP, CallsModel
from app.ui.panels.usage.charts import UsageChart, chart_data
from app.ui.tasks import TaskOwner
from app.ui.widgets.rate_limit import countdown

_log = log.get("ui.usage")

RANGES = (
    ("today", "Today"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("month", "This month"),
    ("custom", "Custom range"),
)
GROUPS = (("model", "Model"), ("provider", "Provider"), ("endpoint", "Endpoint"))
ONLY = ((None, "All calls"), ("errors", "Errors"), ("estimated", f"Estimated ({ESTIMATED_MARK})"))
CALLS_LIMIT = 1000
REFRESH_DELAY_MS = 400
ALL = ""


def local_midnight(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time()).timestamp()


def range_days(
    key: str, today: dt.date, custom: tuple[dt.date, dt.date]
) -> tuple[dt.date, dt.date]:
    """First and last local day (inclusive) of a named range."""
    if key == "today":
        return today, today
    if key == "7d":
        return today - dt.timedelta(days=6), today
    if key == "30d":
        return today - dt.timedelta(days=29), today
    if key == "month":
        return month_start(today), today
    first, last = custom
    return (first, last) if first <= last else (last, first)


class _Totals:
    __slots__ = ("calls", "cost", "errors", "estimated", "tokens", "unpriced")

    def __init__(self) -> None:
        self.calls = self.tokens = self.errors = self.estimated = self.unpriced = 0
        self.cost = 0.0

    def add(self, row: UsageAggregate) -> None:
        self.calls += row.calls
        self.tokens += row.prompt_tokens + row.completion_tokens
        self.errors += row.errors
        self.estimated += row.estimated_calls
        self.unpriced += row.unpriced_calls
        self.cost += row.cost


class UsagePanel(QWidget):
    """The dashboard; ``refreshed`` fires after each summary is shown, ``calls_loaded``
    after the calls table is filled, ``status_changed`` carries messages for the status bar."""

    refreshed = Signal()
    calls_loaded = Signal()
    exported = Signal(str, int)
    status_changed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("usagePanel")
        self.setAccessibleName("Usage panel")
        self.ctx = ctx
        self.monitor = ctx.clients.usage
        self.budgets = Budgets.in_config(ctx.paths.config)
        self.tasks = TaskOwner(self.on_task_failed)
        self._rows: list[UsageAggregate] = []
        self._latency: list[LatencyStats] = []
        self._days = (dt.date.today(), dt.date.today())
        self._dirty = True
        self.dashboard = UsageDashboard(ctx.store)
        self.generation = 0  # summaries shown so far (tests and the benchmark wait on it)

        self._build()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._connect_signals()
        self.range_combo.setCurrentIndex(2)  # last 30 days

    # --- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.range_combo = named(QComboBox(), "usageRange", "Date range")
        for key, label in RANGES:
            self.range_combo.addItem(label, key)
        today = QDate.currentDate()
        self.from_date = named(QDateEdit(today.addDays(-29)), "usageFrom", "From day")
        self.to_date = named(QDateEdit(today), "usageTo", "To day")
        for edit in (self.from_date, self.to_date):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setVisible(False)
        self.provider_combo = named(QComboBox(), "usageProvider", "Provider filter")
        self.provider_combo.addItem("All providers", ALL)
        self.group_combo = named(QComboBox(), "usageGroup", "Stack charts by")
        for key, label in GROUPS:
            self.group_combo.addItem(label, key)
        self.refresh_button = named(QPushButton("Refresh"), "usageRefresh", "Refresh the dashboard")

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(_buddy("&Range:", self.range_combo))
        bar.addWidget(self.range_combo)
        bar.addWidget(self.from_date)
        bar.addWidget(self.to_date)
        bar.addSpacing(12)
        bar.addWidget(_buddy("&Provider:", self.provider_combo))
        bar.addWidget(self.provider_combo)
        bar.addSpacing(12)
        bar.addWidget(_buddy("Stack &by:", self.group_combo))
        bar.addWidget(self.group_combo)
        bar.addStretch(1)
        bar.addWidget(self.refresh_button)

        self.credits_banner = named(QLabel(), "usageCreditsBanner", "Credits warning")
        self.budget_banner = named(QLabel(), "usageBudgetBanner", "Budget warning")
        for banner in (self.credits_banner, self.budget_banner):
            banner.setWordWrap(True)
            banner.setTextFormat(Qt.TextFormat.RichText)
            banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
            banner.setOpenExternalLinks(False)
            banner.setVisible(False)

        cards = QHBoxLayout()
        cards.setSpacing(8)
        self.cards: dict[str, QLabel] = {}
        for key, title in (("today", "Today"), ("7d", "Last 7 days"), ("30d", "Last 30 days"),
                           ("range", "Selected range")):  # fmt: skip
            card = named(QLabel(), f"usageCard_{key}", f"Totals: {title}")
            card.setFrameShape(QFrame.Shape.StyledPanel)
            card.setTextFormat(Qt.TextFormat.RichText)
            card.setMargin(8)
            card.setMinimumWidth(150)
            card.setProperty("title", title)
            cards.addWidget(card, 1)
            self.cards[key] = card

        self.cost_chart = named(
            UsageChart("Cost per day", money=True), "usageCostChart", "Cost per day"
        )
        self.tokens_chart = named(
            UsageChart("Tokens per day", money=False), "usageTokensChart", "Tokens per day"
        )
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.setObjectName("usageChartsSplitter")
        charts.addWidget(self.cost_chart)
        charts.addWidget(self.tokens_chart)
        charts.setChildrenCollapsible(False)

        self.details = named(QTabWidget(), "usageDetails", "Usage details")
        self.details.setDocumentMode(True)
        self.details.addTab(self._build_calls_tab(), "Recent calls")
        self.details.addTab(self._build_latency_tab(), "Latency by model")
        self.details.addTab(self._build_providers_tab(), "Providers, credits && limits")

        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("usageSplitter")
        split.addWidget(charts)
        split.addWidget(self.details)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(8)
        layout.addLayout(bar)
        layout.addWidget(self.credits_banner)
        layout.addWidget(self.budget_banner)
        layout.addLayout(cards)
        layout.addWidget(split, 1)

    def _build_calls_tab(self) -> QWidget:
        self.model_filter = named(QComboBox(), "usageModelFilter", "Model filter")
        self.endpoint_filter = named(QComboBox(), "usageEndpointFilter", "Endpoint filter")
        self.only_filter = named(QComboBox(), "usageOnlyFilter", "Show only")
        self.model_filter.addItem("All models", ALL)
        self.endpoint_filter.addItem("All endpoints", ALL)
        for key, label in ONLY:
            self.only_filter.addItem(label, key)
        self.calls_count = named(QLabel(), "usageCallsCount", "Number of calls shown")
        self.export_button = named(
            QPushButton("Export CSV…"), "usageExport", "Export calls as CSV",
            "Every call of the range and filters, not only the rows shown",
        )  # fmt: skip
        row = QHBoxLayout()
        row.setContentsMargins(0, 4, 0, 0)
        row.addWidget(self.model_filter)
        row.addWidget(self.endpoint_filter)
        row.addWidget(self.only_filter)
        row.addWidget(self.calls_count, 1)
        row.addWidget(self.export_button)
        self.calls_model = CallsModel(self.ctx.registry.get)
        self.calls_view = named(QTableView(), "usageCallsTable", "Recent calls")
        self.calls_view.setModel(self.calls_model)
        self.calls_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.calls_view.setAlternatingRowColors(True)
        self.calls_view.verticalHeader().setVisible(False)
        self.calls_view.verticalHeader().setDefaultSectionSize(22)
        self.calls_view.setWordWrap(False)
        header = self.calls_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((140, 70, 150, 76, 56, 56, 150, 62, 62)):
            self.calls_view.setColumnWidth(column, width)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.calls_view, 1)
        return tab

    def _build_latency_tab(self) -> QWidget:
        self.latency_table = named(QTableWidget(0, 7), "usageLatencyTable", "Latency by model")
        self.latency_table.setHorizontalHeaderLabels(
            [
                "Provider",
                "Model",
                "Calls",
                "Latency median",
                "Latency p90",
                "TTFT median",
                "TTFT p90",
            ]
        )
        self.latency_table.horizontalHeader().setToolTip(
            "Latency: request sent to answer complete. TTFT: to the first streamed token. "
            "Percentiles come from a histogram, within about 5 %."
        )
        _table_defaults(self.latency_table)
        header = self.latency_table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the model's name
        return self.latency_table

    def _build_providers_tab(self) -> QWidget:
        self.providers_table = named(QTableWidget(0, 9), "usageProvidersTable", "Providers")
        self.providers_table.setHorizontalHeaderLabels(
            ["Provider", "Calls", "Tokens", "Cost (range)", "In provider units", "This month",
             "Budget used", "Requests left", "Limits reset"]
        )  # fmt: skip
        _table_defaults(self.providers_table)
        self.budget_provider = named(QComboBox(), "budgetProvider", "Budget for provider")
        self.budget_amount = named(
            QDoubleSpinBox(), "budgetAmount", "Monthly budget in US dollars",
            "0 removes the budget. Warnings at 80 % and 100 % of it.",
        )  # fmt: skip
        self.budget_amount.setRange(0, 1_000_000)
        self.budget_amount.setDecimals(2)
        self.budget_amount.setPrefix("$ ")
        self.budget_amount.setSpecialValueText("no budget")
        self.budget_button = named(QPushButton("Set budget"), "budgetSet", "Set monthly budget")
        row = QHBoxLayout()
        row.setContentsMargins(0, 4, 0, 0)
        row.addWidget(_buddy("Monthly &budget for", self.budget_provider))
        row.addWidget(self.budget_provider)
        row.addWidget(self.budget_amount)
        row.addWidget(self.budget_button)
        row.addStretch(1)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.providers_table, 1)
        layout.addLayout(row)
        return tab

    def _connect_signals(self) -> None:
        self.range_combo.currentIndexChanged.connect(self.on_range_changed)
        self.from_date.dateChanged.connect(self.on_range_changed)
        self.to_date.dateChanged.connect(self.on_range_changed)
        self.provider_combo.currentIndexChanged.connect(self.on_filter_changed)
        self.group_combo.currentIndexChanged.connect(self.on_group_changed)
        self.refresh_button.clicked.connect(self.refresh)
        self.model_filter.currentIndexChanged.connect(self.on_calls_filter_changed)
        self.endpoint_filter.currentIndexChanged.connect(self.on_calls_filter_changed)
        self.only_filter.currentIndexChanged.connect(self.on_calls_filter_changed)
        self.export_button.clicked.connect(self.on_export_clicked)
        self.budget_provider.currentIndexChanged.connect(self.on_budget_provider_changed)
        self.budget_button.clicked.connect(self.on_budget_set_clicked)
        self.credits_banner.linkActivated.connect(self.on_link_activated)
        self._refresh_timer.timeout.connect(self.on_refresh_timer_fired)
        self._tick.timeout.connect(self._fill_limits)
        unsubscribe = [
            self.monitor.subscribe(self.on_usage_event),
            self.ctx.registry.subscribe(lambda *_: self._fill_budget_providers()),
        ]
        self._unsubscribe = lambda: [stop() for stop in unsubscribe]
        # A panel closed without shutdown() must not be called back either.
        self.destroyed.connect(lambda *_: self._unsubscribe())

    # --- public ------------------------------------------------------------------------------
    @property
    def group_by(self) -> str:
        return str(self.group_combo.currentData())

    @property
    def days(self) -> tuple[dt.date, dt.date]:
        return self._days

    def set_range(
        self, key: str, first: dt.date | None = None, last: dt.date | None = None
    ) -> None:
        """Show a named range (``today``, ``7d``, ``30d``, ``month``, ``custom``)."""
        if key == "custom" and first is not None and last is not None:
            for edit, day in ((self.from_date, first), (self.to_date, last)):
                edit.blockSignals(True)
                edit.setDate(QDate(day.year, day.month, day.day))
                edit.blockSignals(False)
        index = self.range_combo.findData(key)
        if index == self.range_combo.currentIndex():
            self.on_range_changed()
        else:
            self.range_combo.setCurrentIndex(index)

    def set_group(self, group_by: str) -> None:
        self.group_combo.setCurrentIndex(self.group_combo.findData(group_by))

    def refresh(self) -> None:
        """Query everything again for the current range and filters."""
        self._dirty = False
        today = dt.date.today()
        custom = (self.from_date.date().toPython(), self.to_date.date().toPython())
        self._days = range_days(str(self.range_combo.currentData()), today, custom)  # type: ignore[arg-type]
        self.tasks.start("summary", self._load_summary())
        self.tasks.start("calls", self._load_calls())

    def export_to(self, path: Path) -> Any:
        """Write every call of the current range and filters to ``path`` (a task)."""
        return self.tasks.start("export", self._export(path))

    async def shutdown(self) -> None:
        self._tick.stop()
        self._refresh_timer.stop()
        self._unsubscribe()
        await self.tasks.wait_all()

    # --- loading -----------------------------------------------------------------------------
    def _query_days(self) -> tuple[dt.date, dt.date]:
        today = dt.date.today()
        first, last = self._days
        return min(first, today - dt.timedelta(days=29), month_start(today)), max(last, today)

    async def _load_summary(self) -> None:
        data = await self.dashboard.summary(
            self._query_days(), self._days, provider=self._provider() or None
        )
        self._rows = data.rows
        self._latency = data.latency
        self._fill_filters(data.keys)
        self._show_summary()
        self._check_budgets()
        self.generation += 1
        self.refreshed.emit()

    async def _load_calls(self) -> None:
        rows = await self.dashboard.calls(self._call_filter(), CALLS_LIMIT)
        self.calls_model.set_rows(rows)
        more = " (newest shown; export for all)" if len(rows) >= CALLS_LIMIT else ""
        self.calls_count.setText(f"{len(rows):,} calls{more}")
        self.calls_loaded.emit()

    async def _export(self, path: Path) -> int:
        count = await self.dashboard.export_csv(path, self._call_filter())
        message = f"Exported {count:,} calls to {path}."
        self.calls_count.setText(message)
        self.status_changed.emit(message)
        self.exported.emit(str(path), count)
        return count

    async def _check_month_budgets(self) -> None:
        self._announce_budgets(await self.dashboard.spend_by_provider(month_start()))

    def _call_filter(self) -> CallFilter:
        first, last = self._days
        return CallFilter(
            since=local_midnight(first),
            until=local_midnight(last + dt.timedelta(days=1)),
            provider=self._provider() or None,
            model=str(self.model_filter.currentData() or "") or None,
            endpoint=str(self.endpoint_filter.currentData() or "") or None,
            only=self.only_filter.currentData(),
        )

    def _provider(self) -> str:
        return str(self.provider_combo.currentData() or "")

    # --- showing -----------------------------------------------------------------------------
    def _filtered(self) -> list[UsageAggregate]:
        provider = self._provider()
        return [r for r in self._rows if not provider or r.provider == provider]

    def _show_summary(self) -> None:
        rows = self._filtered()
        today = dt.date.today()
        windows = {
            "today": (today, today),
            "7d": (today - dt.timedelta(days=6), today),
            "30d": (today - dt.timedelta(days=29), today),
            "range": self._days,
        }
        profile = self.ctx.registry.get(self._provider()) if self._provider() else None
        for key, (first, last) in windows.items():
            lo, hi = first.isoformat(), last.isoformat()
            totals = _Totals()
            for row in rows:
                if lo <= (row.day or "") <= hi:
                    totals.add(row)
            self._show_card(self.cards[key], totals, profile, first, last)
        self._show_charts()
        self._fill_latency()
        self._fill_providers()

    def _show_card(
        self, card: QLabel, t: _Totals, profile: Any, first: dt.date, last: dt.date
    ) -> None:
        estimated = t.estimated > 0
        title = str(card.property("title"))
        if title == "Selected range":
            title = f"{first:%d %b} – {last:%d %b %Y}" if first != last else f"{first:%d %b %Y}"
        cost = format_usd(t.cost, estimated=estimated)
        credits = format_credits(profile, t.cost, estimated=estimated)
        lines = [
            f"<span style='font-size:small'>{html.escape(title)}</span>",
            f"<span style='font-size:x-large; font-weight:600'>{cost}</span>"
            + (f" <span style='font-size:small'>{credits}</span>" if credits else ""),
            f"{format_tokens(t.tokens, estimated=estimated)} tokens · "
            f"{t.calls:,} call{'' if t.calls == 1 else 's'}",
        ]
        notes = []
        if t.errors:
            notes.append(f"{t.errors:,} failed")
        if t.unpriced:
            notes.append(f"{t.unpriced:,} without a price")
        if notes:
            lines.append(f"<span style='font-size:small'>{' · '.join(notes)}</span>")
        card.setText("<br>".join(lines))
        card.setToolTip(ESTIMATED_TIP if estimated else "")

    def _show_charts(self) -> None:
        first, last = self._days
        data = chart_data(self._filtered(), first, last, self.group_by)
        if self.group_by == "provider":  # names, not ids
            data = replace(
                data,
                cost=[replace(x, name=self._provider_name(x.name)) for x in data.cost],
                tokens=[replace(x, name=self._provider_name(x.name)) for x in data.tokens],
            )
        self.cost_chart.set_data(data.days, data.cost)
        self.tokens_chart.set_data(data.days, data.tokens)

    def _fill_latency(self) -> None:
        table = self.latency_table
        table.setRowCount(len(self._latency))
        for r, s in enumerate(self._latency):
            values = [
                self._provider_name(s.provider), s.model, f"{s.calls:,}", _secs(s.latency_p50), _secs(s.latency_p90),
                _secs(s.ttft_p50), _secs(s.ttft_p90),
            ]  # fmt: skip
            for c, value in enumerate(values):
                table.setItem(r, c, _item(value, numeric=c >= 2))

    def _provider_ids(self) -> list[str]:
        seen = {r.provider or "" for r in self._rows}
        seen.update(self.budgets.all())
        seen.update(p for p, lim in self.monitor.limits.items() if lim.status or lim.retry_until)
        selected = self._provider()
        return sorted(p for p in seen if p and (not selected or p == selected))

    def _month_spend(self) -> dict[str, float]:
        start = month_start().isoformat()
        spend: dict[str, float] = defaultdict(float)
        for row in self._rows:
            if (row.day or "") >= start:
                spend[row.provider or ""] += row.cost
        return spend

    def _fill_providers(self) -> None:
        lo, hi = self._days[0].isoformat(), self._days[1].isoformat()
        totals: dict[str, _Totals] = defaultdict(_Totals)
        for row in self._rows:
            if lo <= (row.day or "") <= hi:
                totals[row.provider or ""].add(row)
        month = self._month_spend()
        table = self.providers_table
        ids = self._provider_ids()
        table.setRowCount(len(ids))
        warnings: list[tuple[str, str]] = []
        for r, provider_id in enumerate(ids):
            profile = self.ctx.registry.get(provider_id)
            t = totals.get(provider_id) or _Totals()
            est = t.estimated > 0
            budget = self.budgets.get(provider_id)
            spent = month.get(provider_id, 0.0)
            level = budget_level(spent, budget)
            used = (
                f"{100 * spent / budget:.0f} % of {format_usd(budget)}" if budget else "no budget"
            )
            values = [
                profile.name if profile else provider_id,
                f"{t.calls:,}",
                format_tokens(t.tokens, estimated=est),
                format_usd(t.cost, estimated=est),
                format_credits(profile, t.cost, estimated=est) or "—",
                format_usd(spent),
                used,
            ]
            for c, value in enumerate(values):
                item = _item(value, numeric=0 < c < 6)
                if c == 6 and level in ("warning", "over"):
                    item.setForeground(
                        Qt.GlobalColor.red if level == "over" else Qt.GlobalColor.darkYellow
                    )
                if est and c in (2, 3, 4):
                    item.setToolTip(ESTIMATED_TIP)
                table.setItem(r, c, item)
            if level in ("warning", "over") and budget:
                name = profile.name if profile else provider_id
                warnings.append((level, budget_message(name, level, spent, budget)))
        self._fill_limits()
        self._show_budget_banner(warnings)
        self._fill_budget_providers()

    def _fill_limits(self) -> None:
        """The live columns (requests left, reset countdowns); ticks every second while shown."""
        now = time.time()
        table = self.providers_table
        ticking = False
        for r in range(table.rowCount()):
            provider_id = self._provider_ids()[r] if r < len(self._provider_ids()) else ""
            limits = self.monitor.limits.get(provider_id)
            left, reset = "—", "—"
            if limits is not None and limits.status is not None:
                s = limits.status
                parts = []
                remaining = limits.requests_remaining(now)
                if remaining is not None:
                    parts.append(f"{remaining:,}/{s.limit_requests or 0:,} per min")
                if s.remaining_requests_day is not None:
                    parts.append(
                        f"{s.remaining_requests_day:,}/{s.limit_requests_day or 0:,} per day"
                    )
                left = " · ".join(parts) or "—"
                resets = []
                if (limits.requests_reset_at or 0) > now:
                    resets.append(f"minute in {countdown((limits.requests_reset_at or 0) - now)}")
                    ticking = True
                if (limits.day_reset_at or 0) > now:
                    resets.append(f"day in {countdown((limits.day_reset_at or 0) - now)}")
                reset = " · ".join(resets) or "—"
            if limits is not None:
                retry = limits.retry_in(now)
                if retry is not None:
                    reset = f"429: retry in {countdown(retry)}"
                    ticking = True
                if limits.credits_out_at is not None:
                    left = "out of credits (402)"
            table.setItem(r, 7, _item(left))
            table.setItem(r, 8, _item(reset))
        if ticking and self.isVisible():
            if not self._tick.isActive():
                self._tick.start()
        else:
            self._tick.stop()

    def _fill_filters(self, keys: Sequence[tuple[str, str, str]]) -> None:
        providers = sorted({k[0] for k in keys} | {p.id for p in self.ctx.registry.all()})
        _refill(self.provider_combo, [(p, self._provider_name(p)) for p in providers])
        models = sorted({k[1] for k in keys if k[1]})
        _refill(self.model_filter, [(m, m) for m in models])
        endpoints = sorted({k[2] for k in keys})
        _refill(self.endpoint_filter, [(e, e) for e in endpoints])

    def _fill_budget_providers(self) -> None:
        ids = sorted({p.id for p in self.ctx.registry.all()} | set(self.budgets.all()))
        _refill(self.budget_provider, [(p, self._provider_name(p)) for p in ids], keep_all=False)

    def _provider_name(self, provider_id: str) -> str:
        profile = self.ctx.registry.get(provider_id)
        return profile.name if profile else provider_id

    def _show_budget_banner(self, warnings: list[tuple[str, str]]) -> None:
        self.budget_banner.setVisible(bool(warnings))
        if warnings:
            over = any(level == "over" for level, _ in warnings)
            self.budget_banner.setText("<br>".join(html.escape(text) for _, text in warnings))
            set_tone(self.budget_banner, "error" if over else "warning")

    def _show_credits_banner(self) -> None:
        lines = []
        for provider_id, limits in self.monitor.limits.items():
            if limits.credits_out_at is None:
                continue
            profile = self.ctx.registry.get(provider_id)
            text = html.escape(credits_message(profile, provider_id).split(" Add credits at")[0])
            if profile is not None and profile.dashboard_url:
                url = html.escape(profile.dashboard_url, quote=True)
                text += (
                    f' <a href="{url}">Add credits on the {html.escape(profile.name)} dashboard</a>'
                )
            lines.append(text)
        self.credits_banner.setVisible(bool(lines))
        if lines:
            self.credits_banner.setText("<br>".join(lines))
            set_tone(self.credits_banner, "error")

    def _check_budgets(self) -> None:
        self._announce_budgets(self._month_spend())

    def _announce_budgets(self, spend: dict[str, float]) -> None:
        for provider_id, level, spent, budget in self.budgets.crossed(spend):
            message = budget_message(self._provider_name(provider_id), level, spent, budget)
            self.monitor.budget_crossed(provider_id, level, message)
            self.status_changed.emit(message)

    # --- slots -------------------------------------------------------------------------------
    def on_range_changed(self, *_: object) -> None:
        custom = self.range_combo.currentData() == "custom"
        self.from_date.setVisible(custom)
        self.to_date.setVisible(custom)
        self.refresh()

    def on_filter_changed(self, *_: object) -> None:
        self._show_summary()
        # Latency and calls depend on the provider: query them again.
        self.tasks.start("summary", self._load_summary())
        self.tasks.start("calls", self._load_calls())

    def on_group_changed(self, *_: object) -> None:
        self._show_charts()  # from the rows in memory: no query
        self.refreshed.emit()

    def on_calls_filter_changed(self, *_: object) -> None:
        self.tasks.start("calls", self._load_calls())

    def on_export_clicked(self) -> None:
        first, last = self._days
        suggested = str(self.ctx.paths.data.parent / f"palaver-usage-{first}-{last}.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export usage as CSV", suggested, "CSV (*.csv)")
        if path:
            self.export_to(Path(path))

    def on_budget_provider_changed(self, *_: object) -> None:
        provider_id = str(self.budget_provider.currentData() or "")
        self.budget_amount.setValue(self.budgets.get(provider_id) or 0.0)

    def on_budget_set_clicked(self) -> None:
        provider_id = str(self.budget_provider.currentData() or "")
        if not provider_id:
            return
        amount = self.budget_amount.value()
        try:
            self.budgets.set(provider_id, amount or None)
        except OSError as exc:
            self.status_changed.emit(f"The budget could not be saved: {exc}")
            return
        name = self._provider_name(provider_id)
        self.status_changed.emit(
            f"Monthly budget for {name}: {format_usd(amount)}."
            if amount
            else f"No budget for {name}."
        )
        self._fill_providers()
        self._check_budgets()

    def on_link_activated(self, link: str) -> None:
        url = QUrl(link)
        if url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)

    def on_usage_event(self, event: UsageEvent) -> None:
        if isinstance(event, CallRecorded):
            self._refresh_timer.start()  # coalesce bursts (a comparison of six models)
        elif isinstance(event, LimitsChanged | CreditsExhausted):
            self._show_credits_banner()
            if self.isVisible():
                self._fill_limits()

    def on_refresh_timer_fired(self) -> None:
        if self.isVisible():
            self.refresh()
        else:
            self._dirty = True
            self.tasks.start("budget", self._check_month_budgets())

    def on_task_failed(self, error: BaseException) -> None:
        _log.error("usage task failed", exc_info=error)
        self.status_changed.emit(f"Usage could not be shown. {failure_text(error)}")

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._show_credits_banner()
        if self._dirty:
            self.refresh()
        else:
            self._fill_limits()


# --- helpers -----------------------------------------------------------------------------


def _buddy(text: str, widget: QWidget) -> QLabel:
    """A label whose mnemonic focuses ``widget`` (and names it for screen readers)."""
    label = QLabel(text)
    label.setBuddy(widget)
    return label


def _secs(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _item(text: str, *, numeric: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if numeric:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _table_defaults(table: QTableWidget) -> None:
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(22)
    table.setAlternatingRowColors(True)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)


def _refill(combo: QComboBox, items: Sequence[tuple[str, str]], *, keep_all: bool = True) -> None:
    """Replace a combo's entries (after the "All …" one), keeping the selection if it still
    exists, without firing change signals."""
    current = combo.currentData()
    wanted = [(combo.itemData(0), combo.itemText(0))] if keep_all and combo.count() else []
    wanted += list(items)
    existing = [(combo.itemData(i), combo.itemText(i)) for i in range(combo.count())]
    if existing == wanted:
        return
    combo.blockSignals(True)
    combo.clear()
    for data, text in wanted:
        combo.addItem(text, data)
    index = combo.findData(current)
    combo.setCurrentIndex(max(index, 0))
    combo.blockSignals(False)
