"""Stacked bar charts of cost and tokens by day (QtCharts), grouped by model, provider or
endpoint; the series come from the dashboard model (`app.core.usage_dashboard.chart_data`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from PySide6.QtCharts import (
    QBarSet,
    QCategoryAxis,
    QChart,
    QChartView,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QEvent, QMargins, Qt
from PySide6.QtGui import QColor, QCursor, QPainter, QPalette
from PySide6.QtWidgets import QSplitter, QToolTip, QWidget

from app.core.usage import ESTIMATED_MARK, format_tokens, format_usd
from app.core.usage_dashboard import OTHER, ChartData, Series
from app.ui.dialogs.common import named

# Tableau-10: distinguishable on light and dark backgrounds.
COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")


def day_ticks(days: Sequence[dt.date], max_labels: int = 8) -> list[tuple[int, str]]:
    """About ``max_labels`` named days as ``(index, label)``: ``14``, or ``1 Mar`` for the
    first one and at month starts."""
    step = max(1, -(-len(days) // max_labels))
    ticks = []
    for i in range(0, len(days), step):
        day = days[i]
        # Month names only inside the axis: the first label sits at the edge and is elided.
        with_month = 0 < i < len(days) - 2 and day.day <= step
        ticks.append((i, f"{day.day} {day:%b}" if with_month else str(day.day)))
    return ticks


def token_scale(peak: float) -> tuple[float, str]:
    """Divide token counts by this and suffix the axis with that: ``(1e3, "k")``."""
    if peak >= 2e6:
        return 1e6, "M"
    if peak >= 2e3:
        return 1e3, "k"
    return 1.0, ""


class UsageChart(QChartView):
    """One stacked bar chart; ``money`` formats the axis and tooltips as dollars.

    The series and axes are made once and refilled: removing and re-adding them costs
    more than the data (a third of a refresh in the profile).
    """

    def __init__(self, title: str, money: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.money = money
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(200)
        self._title = title
        self._chart = QChart()
        self._chart.setTitle(title)
        self._chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self._chart.setMargins(QMargins(4, 4, 4, 4))
        self._chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self._chart.setBackgroundRoundness(0)
        self._bars = QStackedBarSeries()
        self._bars.setBarWidth(0.8)
        # A value axis with labels only where they fit (a category axis elides them all).
        self._x = QCategoryAxis()
        self._x.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
        self._x.setGridLineVisible(False)
        self._y = QValueAxis()
        self._y.setTickCount(5)
        self._chart.addSeries(self._bars)
        self._chart.addAxis(self._x, Qt.AlignmentFlag.AlignBottom)
        self._chart.addAxis(self._y, Qt.AlignmentFlag.AlignLeft)
        self._bars.attachAxis(self._x)
        self._bars.attachAxis(self._y)
        self.setChart(self._chart)
        self._days: list[dt.date] = []
        self._scale = 1.0
        self._series: list[Series] = []
        self.series_names: list[str] = []
        self.apply_palette()

    def apply_palette(self) -> None:
        """Follow the window palette (light or dark)."""
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
        self._chart.setTheme(
            QChart.ChartTheme.ChartThemeDark if dark else QChart.ChartTheme.ChartThemeLight
        )
        self._chart.setBackgroundBrush(palette.color(QPalette.ColorRole.Base))
        self._chart.setTitleBrush(text)
        self._chart.legend().setLabelColor(text)
        self._x.setLabelsColor(text)
        self._y.setLabelsColor(text)
        self._x.setGridLineVisible(False)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the theme was switched live
            self.apply_palette()
            self.set_data(self._days, self._series)  # the theme reset the bar colours

    def set_data(self, days: Sequence[dt.date], series: Sequence[Series]) -> None:
        self._series = list(series)
        self._days = list(days)
        self.series_names = [s.name for s in series]
        totals = [sum(day) for day in zip(*(s.values for s in series), strict=True)]
        scale, suffix = (1.0, "") if self.money else token_scale(max(totals, default=0.0))
        self._scale = scale
        sets = []
        for n, s in enumerate(series):
            label = f"{ESTIMATED_MARK} {s.name}" if s.estimated else s.name
            bar = QBarSet(label)
            bar.append([v / scale for v in s.values] if scale != 1.0 else s.values)
            colour = QColor(COLOURS[n % len(COLOURS)] if s.name != OTHER else "#8c8c8c")
            bar.setColor(colour)
            bar.setBorderColor(colour)
            bar.hovered.connect(lambda on, i, name=label: self.on_bar_hovered(on, i, name))
            sets.append(bar)
        self._bars.clear()
        if sets:
            self._bars.append(sets)
        x = self._x
        for label in x.categoriesLabels():
            x.remove(label)
        x.setRange(-0.5, max(len(days), 1) - 0.5)
        for i, label in day_ticks(days):
            x.append(label, i)
        top = max(totals, default=0.0) / scale
        y = self._y
        y.setRange(0, top * 1.05 if top > 0 else 1)
        y.setTickCount(5)
        y.applyNiceNumbers()
        y.setLabelFormat(
            "$%.2f" if self.money and top >= 0.1 else "$%.3f" if self.money else f"%.0f{suffix}"
        )
        y.setLabelsVisible(bool(series))
        self._chart.legend().setVisible(bool(series))
        self._chart.setTitle(self._title if series else f"{self._title}: no calls in this range")

    def bar_labels(self) -> list[str]:
        """The legend's labels, in stacking order (``≈`` marks estimated usage)."""
        return [bar.label() for bar in self._bars.barSets()]

    def on_bar_hovered(self, on: bool, index: int, name: str) -> None:
        if not on or index >= len(self._days):
            QToolTip.hideText()
            return
        value = 0.0
        for bar in self._bars.barSets():
            if bar.label() == name:
                value = bar.at(index) * self._scale
        shown = format_usd(value) if self.money else format_tokens(int(value))
        QToolTip.showText(QCursor.pos(), f"{name}\n{self._days[index]:%a %d %b %Y}: {shown}", self)


class ChartPair(QSplitter):
    """The cost and the tokens chart side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("usageChartsSplitter")
        self.cost_chart = named(
            UsageChart("Cost per day", money=True), "usageCostChart", "Cost per day"
        )
        self.tokens_chart = named(
            UsageChart("Tokens per day", money=False), "usageTokensChart", "Tokens per day"
        )
        self.addWidget(self.cost_chart)
        self.addWidget(self.tokens_chart)
        self.setChildrenCollapsible(False)

    def show_data(self, data: ChartData) -> None:
        self.cost_chart.set_data(data.days, data.cost)
        self.tokens_chart.set_data(data.days, data.tokens)
