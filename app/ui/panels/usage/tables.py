"""The dashboard's two summary tabs: latency by model, and providers with their credits,
monthly budgets (and the budget editor) and live rate limits."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from app.api import ProviderProfile
from app.core.usage import ProviderLimits, format_credits, format_tokens, format_usd
from app.core.usage_dashboard import LatencyStats, ProviderLine
from app.ui.dialogs.common import named
from app.ui.panels.usage.cells import ESTIMATED_TIP, buddy, item, refill, seconds, table_defaults
from app.ui.widgets.rate_limit import countdown

LATENCY_HEADERS = ("Provider", "Model", "Calls", "Latency median", "Latency p90",
                   "TTFT median", "TTFT p90")  # fmt: skip
PROVIDER_HEADERS = ("Provider", "Calls", "Tokens", "Cost (range)", "In provider units",
                    "This month", "Budget used", "Requests left", "Limits reset")  # fmt: skip


class LatencyTable(QTableWidget):
    """Median and 90th percentile of latency and time to first token, per model."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(LATENCY_HEADERS), parent)
        named(self, "usageLatencyTable", "Latency by model")
        self.setHorizontalHeaderLabels(list(LATENCY_HEADERS))
        self.horizontalHeader().setToolTip(
            "Latency: request sent to answer complete. TTFT: to the first streamed token. "
            "Percentiles come from a histogram, within about 5 %."
        )
        table_defaults(self)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the model's name

    def show_stats(self, stats: Sequence[LatencyStats], name_of: Callable[[str], str]) -> None:
        self.setRowCount(len(stats))
        for r, s in enumerate(stats):
            values = [
                name_of(s.provider), s.model, f"{s.calls:,}", seconds(s.latency_p50, "—"),
                seconds(s.latency_p90, "—"), seconds(s.ttft_p50, "—"), seconds(s.ttft_p90, "—"),
            ]  # fmt: skip
            for c, value in enumerate(values):
                self.setItem(r, c, item(value, numeric=c >= 2))


class ProvidersTab(QWidget):
    """Per provider: calls, tokens and cost of the range, in its own units, this month
    against the budget, requests left and when limits reset; below, the budget editor."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = named(
            QTableWidget(0, len(PROVIDER_HEADERS)), "usageProvidersTable", "Providers"
        )
        self.table.setHorizontalHeaderLabels(list(PROVIDER_HEADERS))
        table_defaults(self.table)
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
        row.addWidget(buddy("Monthly &budget for", self.budget_provider))
        row.addWidget(self.budget_provider)
        row.addWidget(self.budget_amount)
        row.addWidget(self.budget_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self._ids: list[str] = []  # the provider of each row

    def show_lines(
        self,
        lines: Sequence[ProviderLine],
        profile_of: Callable[[str], ProviderProfile | None],
    ) -> None:
        table = self.table
        table.setRowCount(len(lines))
        self._ids = [line.provider_id for line in lines]
        for r, line in enumerate(lines):
            profile = profile_of(line.provider_id)
            t, est, budget = line.totals, line.totals.estimated, line.budget
            used = (
                f"{100 * line.month_spend / budget:.0f} % of {format_usd(budget)}"
                if budget
                else "no budget"
            )
            values = [
                line.name,
                f"{t.calls:,}",
                format_tokens(t.tokens, estimated=est),
                format_usd(t.cost, estimated=est),
                format_credits(profile, t.cost, estimated=est) or "—",
                format_usd(line.month_spend),
                used,
            ]
            for c, value in enumerate(values):
                cell = item(value, numeric=0 < c < 6)
                if c == 6 and line.level in ("warning", "over"):
                    cell.setForeground(
                        Qt.GlobalColor.red if line.level == "over" else Qt.GlobalColor.darkYellow
                    )
                if est and c in (2, 3, 4):
                    cell.setToolTip(ESTIMATED_TIP)
                table.setItem(r, c, cell)

    def show_limits(self, limits: Mapping[str, ProviderLimits]) -> bool:
        """The live columns (requests left, reset countdowns); True while one counts down."""
        now = time.time()
        ticking = False
        for r, provider_id in enumerate(self._ids):
            left, reset, counting = _limits_text(limits.get(provider_id), now)
            ticking = ticking or counting
            self.table.setItem(r, 7, item(left))
            self.table.setItem(r, 8, item(reset))
        return ticking

    def show_budget_providers(self, ids: Sequence[str], name_of: Callable[[str], str]) -> None:
        refill(self.budget_provider, [(p, name_of(p)) for p in ids], keep_all=False)


def _limits_text(limits: ProviderLimits | None, now: float) -> tuple[str, str, bool]:
    """``(requests left, limits reset, counting down)`` for one provider."""
    left, reset, ticking = "—", "—", False
    if limits is None:
        return left, reset, ticking
    if limits.status is not None:
        s = limits.status
        parts = []
        remaining = limits.requests_remaining(now)
        if remaining is not None:
            parts.append(f"{remaining:,}/{s.limit_requests or 0:,} per min")
        if s.remaining_requests_day is not None:
            parts.append(f"{s.remaining_requests_day:,}/{s.limit_requests_day or 0:,} per day")
        left = " · ".join(parts) or "—"
        resets = []
        if (limits.requests_reset_at or 0) > now:
            resets.append(f"minute in {countdown((limits.requests_reset_at or 0) - now)}")
            ticking = True
        if (limits.day_reset_at or 0) > now:
            resets.append(f"day in {countdown((limits.day_reset_at or 0) - now)}")
        reset = " · ".join(resets) or "—"
    retry = limits.retry_in(now)
    if retry is not None:
        reset = f"429: retry in {countdown(retry)}"
        ticking = True
    if limits.credits_out_at is not None:
        left = "out of credits (402)"
    return left, reset, ticking
