"""The usage dashboard: totals, charts by day, latency per model, recent calls, CSV export,
credits in provider units, monthly budgets, live rate limits.

The figures come from the dashboard model (:class:`app.core.usage_dashboard.UsageDashboard`):
its reads run on the store's reader threads; a newer range or filter cancels the older
query (one named task each). A refresh reads one :class:`Summary`; grouping, the provider
filter and totals are computed from it in memory, so changing the stacking never queries
again. The tabs live beside this module: ``cards``, ``charts``, ``calls``, ``tables``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import log
from app.core.context import AppContext
from app.core.providers import ProviderRegistry
from app.core.usage import (
    Budgets,
    CallRecorded,
    CreditsExhausted,
    LimitsChanged,
    UsageEvent,
    format_usd,
)
from app.core.usage_dashboard import CallQuery, Summary, UsageDashboard, range_days
from app.ui.dialogs.common import named
from app.ui.errors import failure_text
from app.ui.panels.usage.calls import ALL, CallsTab
from app.ui.panels.usage.cards import (
    TotalsCards,
    banner,
    show_budget_banner,
    show_credits_banner,
)
from app.ui.panels.usage.cells import buddy, refill
from app.ui.panels.usage.charts import ChartPair
from app.ui.panels.usage.tables import LatencyTable, ProvidersTab
from app.ui.tasks import TaskOwner

_log = log.get("ui.usage")

RANGES = (
    ("today", "Today"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("month", "This month"),
    ("custom", "Custom range"),
)
GROUPS = (("model", "Model"), ("provider", "Provider"), ("endpoint", "Endpoint"))
REFRESH_DELAY_MS = 400


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
        self.dashboard = UsageDashboard(ctx.store, ctx.registry, self.monitor, self.budgets)
        self.tasks = TaskOwner(self.on_task_failed)
        self._days = (dt.date.today(), dt.date.today())
        self.summary = Summary(self._days, dt.date.today())
        self._dirty = True
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
        bar.addWidget(buddy("&Range:", self.range_combo))
        bar.addWidget(self.range_combo)
        bar.addWidget(self.from_date)
        bar.addWidget(self.to_date)
        bar.addSpacing(12)
        bar.addWidget(buddy("&Provider:", self.provider_combo))
        bar.addWidget(self.provider_combo)
        bar.addSpacing(12)
        bar.addWidget(buddy("Stack &by:", self.group_combo))
        bar.addWidget(self.group_combo)
        bar.addStretch(1)
        bar.addWidget(self.refresh_button)

        self.credits_banner = banner("usageCreditsBanner", "Credits warning")
        self.budget_banner = banner("usageBudgetBanner", "Budget warning")
        self.totals_cards = TotalsCards()
        self.cards = self.totals_cards.labels
        self.charts = ChartPair()
        self.cost_chart = self.charts.cost_chart
        self.tokens_chart = self.charts.tokens_chart

        self.calls_tab = CallsTab(self.ctx.registry.get)
        self.latency_table = LatencyTable()
        self.providers = ProvidersTab()
        self.details = named(QTabWidget(), "usageDetails", "Usage details")
        self.details.setDocumentMode(True)
        self.details.addTab(self.calls_tab, "Recent calls")
        self.details.addTab(self.latency_table, "Latency by model")
        self.details.addTab(self.providers, "Providers, credits && limits")
        # The tabs' widgets, by the names the tests and the benchmark use.
        tab = self.calls_tab
        self.model_filter, self.endpoint_filter = tab.model_filter, tab.endpoint_filter
        self.only_filter, self.calls_count = tab.only_filter, tab.calls_count
        self.export_button, self.calls_model = tab.export_button, tab.calls_model
        self.providers_table = self.providers.table
        self.budget_provider = self.providers.budget_provider
        self.budget_amount = self.providers.budget_amount
        self.budget_button = self.providers.budget_button

        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("usageSplitter")
        split.addWidget(self.charts)
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
        layout.addWidget(self.totals_cards)
        layout.addWidget(split, 1)

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
            self.ctx.registry.subscribe(self.on_registry_changed),
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
    async def _load_summary(self) -> None:
        self.summary = await self.dashboard.summary(self._days, self._provider() or None)
        self._fill_filters()
        self._show_summary()
        self._announce(self.summary.month_spend())
        self.generation += 1
        self.refreshed.emit()

    async def _load_calls(self) -> None:
        self.calls_tab.show_page(await self.dashboard.calls(self._call_query()))
        self.calls_loaded.emit()

    async def _export(self, path: Path) -> int:
        count = await self.dashboard.export_csv(path, self._call_query())
        message = f"Exported {count:,} calls to {path}."
        self.calls_count.setText(message)
        self.status_changed.emit(message)
        self.exported.emit(str(path), count)
        return count

    async def _check_month_budgets(self) -> None:
        self._announce(await self.dashboard.month_spend())

    def _call_query(self) -> CallQuery:
        return self.calls_tab.query(self._days, self._provider() or None)

    def _provider(self) -> str:
        return str(self.provider_combo.currentData() or "")

    # --- showing -----------------------------------------------------------------------------
    def _show_summary(self) -> None:
        provider = self._provider() or None
        summary = self.summary
        profile = self.ctx.registry.get(provider) if provider else None
        self.totals_cards.show_totals(summary.cards(provider), summary.windows(), profile)
        self._show_charts()
        self.latency_table.show_stats(summary.latency, self.dashboard.provider_name)
        self._fill_providers()

    def _show_charts(self) -> None:
        # Providers by name, not id.
        name_of = self.dashboard.provider_name if self.group_by == "provider" else None
        self.charts.show_data(self.summary.chart(self.group_by, self._provider() or None, name_of))

    def _fill_providers(self) -> None:
        lines = self.dashboard.provider_lines(self.summary, self._provider() or None)
        self.providers.show_lines(lines, self.ctx.registry.get)
        self._fill_limits()
        show_budget_banner(self.budget_banner, lines)
        self._fill_budget_providers()

    def _fill_limits(self) -> None:
        """The live columns (requests left, reset countdowns); ticks every second while shown."""
        ticking = self.providers.show_limits(self.monitor.limits)
        if ticking and self.isVisible():
            if not self._tick.isActive():
                self._tick.start()
        else:
            self._tick.stop()

    def _fill_filters(self) -> None:
        choices = self.dashboard.filter_choices(self.summary)
        name_of = self.dashboard.provider_name
        refill(self.provider_combo, [(p, name_of(p)) for p in choices.providers])
        refill(self.model_filter, [(m, m) for m in choices.models])
        refill(self.endpoint_filter, [(e, e) for e in choices.endpoints])

    def _fill_budget_providers(self) -> None:
        self.providers.show_budget_providers(
            self.dashboard.budget_providers(), self.dashboard.provider_name
        )

    def _announce(self, spend: dict[str, float]) -> None:
        for message in self.dashboard.announce_budgets(spend):
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
        self._show_charts()  # from the summary in memory: no query
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
        name = self.dashboard.provider_name(provider_id)
        self.status_changed.emit(
            f"Monthly budget for {name}: {format_usd(amount)}."
            if amount
            else f"No budget for {name}."
        )
        self._fill_providers()
        self._announce(self.summary.month_spend())

    def on_link_activated(self, link: str) -> None:
        url = QUrl(link)
        if url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)

    def on_registry_changed(self, _registry: ProviderRegistry) -> None:
        self._fill_budget_providers()

    def on_usage_event(self, event: UsageEvent) -> None:
        if isinstance(event, CallRecorded):
            self._refresh_timer.start()  # coalesce bursts (a comparison of six models)
        elif isinstance(event, LimitsChanged | CreditsExhausted):
            show_credits_banner(self.credits_banner, self.monitor.limits, self.ctx.registry.get)
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
        show_credits_banner(self.credits_banner, self.monitor.limits, self.ctx.registry.get)
        if self._dirty:
            self.refresh()
        else:
            self._fill_limits()
