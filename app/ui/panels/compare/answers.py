"""The compare panel's answers area: columns in a row (scrolling sideways) or a grid, and
scrolling them together."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QWidget

from app.ui.dialogs.common import named
from app.ui.panels.compare.column import ColumnWidget

MAX_KEPT = 6  # columns kept built (the most a comparison has)
CLEAN_INTERVAL_MS = 60
GRID_FROM = 4  # "Auto" layout: a grid from this many columns on
EMPTY_TEXT = (
    "Choose 2 to 6 models (from any providers), type a prompt and press Run.\n"
    "Every answer streams at once, with its speed and cost; then vote for the best."
)


class AnswersArea(QScrollArea):
    """Hosts the column widgets; the panel says which to show, in which order."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "columnsScroll", "Answers")
        self.host = QWidget()
        self.host.setObjectName("columnsHost")
        self.grid = QGridLayout(self.host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidget(self.host)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setObjectName("compareEmptyLabel")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid.addWidget(self.empty, 0, 0)
        self._syncing = False

    def arrange(self, ordered: Sequence[ColumnWidget], mode: str) -> None:
        """Show ``ordered`` in one row, or a grid (two rows) when ``mode`` is "Grid", or
        "Auto" with four columns or more; nothing shows the empty-state words."""
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget is not self.empty:
                widget.setParent(self.host)
        self.empty.setVisible(not ordered)
        if not ordered:
            self.grid.addWidget(self.empty, 0, 0)
            return
        for i in range(self.grid.columnCount()):
            self.grid.setColumnStretch(i, 0)
        n = len(ordered)
        grid = mode == "Grid" or (mode == "Auto" and n >= GRID_FROM)
        per_row = math.ceil(n / 2) if grid and n >= 3 else n
        for place, widget in enumerate(ordered):
            self.grid.addWidget(widget, place // per_row, place % per_row)
            widget.show()
        for i in range(per_row):
            self.grid.setColumnStretch(i, 1)
        # Columns mode scrolls sideways rather than squeezing six answers into 1280 px.
        self.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if not grid
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )

    def sync_scroll(
        self, source: ColumnWidget, value: int, columns: Sequence[ColumnWidget]
    ) -> None:
        """Move every other column to the same fraction of its length as ``source``."""
        if self._syncing:
            return
        bar = source.view.verticalScrollBar()
        fraction = value / bar.maximum() if bar.maximum() > 0 else 0.0
        self._syncing = True
        try:
            for widget in columns:
                if widget is not source:
                    other = widget.view.verticalScrollBar()
                    other.setValue(round(fraction * other.maximum()))
        finally:
            self._syncing = False


class ColumnPool(QObject):
    """Column widgets built ahead, while the user picks models, so Run does not stall on
    six new views; used ones are emptied one per tick (dropping a long answer's documents
    takes 10-30 ms), between frames, and kept for the next run."""

    def __init__(
        self, make: Callable[[], ColumnWidget], wanted: Callable[[], int], parent: QObject
    ) -> None:
        super().__init__(parent)
        self._make = make
        self._wanted = wanted  # how many columns the chosen models need
        self._spare: list[ColumnWidget] = []
        self._dirty: list[ColumnWidget] = []
        self._in_use = 0
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.on_timer_timeout)

    def prepare(self) -> None:
        """Build spares (one per tick) up to what the chosen models need."""
        self._timer.start()

    def take(self, count: int) -> list[ColumnWidget]:
        """``count`` clean columns, spares first."""
        taken = [self._spare.pop() if self._spare else self._make() for _ in range(count)]
        self._in_use = count
        return taken

    def release(self, widgets: Sequence[ColumnWidget]) -> None:
        """Hide ``widgets``; they are emptied in the background and reused."""
        for widget in widgets:
            widget.hide()
            self._dirty.append(widget)
        self._in_use = 0
        if self._dirty:
            self._timer.start(CLEAN_INTERVAL_MS)

    def on_timer_timeout(self) -> None:
        """One step per tick: empty a used column, or build a spare one, until there is a
        clean column for each chosen model (at most MAX_KEPT kept)."""
        if self._dirty:
            widget = self._dirty.pop()
            widget.view.set_messages([])
            widget.presenter.reset()
            if self._in_use + len(self._spare) < MAX_KEPT:
                self._spare.append(widget)
            else:
                widget.deleteLater()
        elif self._in_use + len(self._spare) < self._wanted():
            widget = self._make()
            widget.hide()
            self._spare.append(widget)
        else:
            return
        self._timer.start(CLEAN_INTERVAL_MS if self._dirty else 0)
