"""The recent-calls tab: filters, a count, the CSV export button, and a flat table model
over the dashboard's `CallRow` tuples that formats cells on demand, so a thousand rows cost
nothing until they are seen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.api import ProviderProfile
from app.core.usage import ESTIMATED_MARK, format_credits, format_usd
from app.core.usage_dashboard import CallPage, CallQuery, CallRow
from app.ui.dialogs.common import named
from app.ui.panels.usage.cells import ESTIMATED_TIP, seconds

HEADERS = (
    "Time",
    "Provider",
    "Model",
    "Endpoint",
    "In",
    "Out",
    "Cost",
    "Latency",
    "TTFT",
    "Status",
)
_NUMERIC = {4, 5, 6, 7, 8}
ONLY = ((None, "All calls"), ("errors", "Errors"), ("estimated", f"Estimated ({ESTIMATED_MARK})"))
ALL = ""
_WIDTHS = (140, 70, 150, 76, 56, 56, 150, 62, 62)

AnyIndex = QModelIndex | QPersistentModelIndex
ProfileOf = Callable[[str], ProviderProfile | None]


class CallsModel(QAbstractTableModel):
    """Rows of the ledger, newest first; ``profile_of`` gives credit units per provider."""

    def __init__(self, profile_of: ProfileOf) -> None:
        super().__init__()
        self._rows: list[CallRow] = []
        self._profile_of = profile_of

    def set_rows(self, rows: Sequence[CallRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_tuple(self, row: int) -> CallRow:
        return self._rows[row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        estimated = bool(row.estimated)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column, estimated)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if estimated and column in (4, 5, 6):
                return ESTIMATED_TIP
            if column == 9 and row.request_id:
                return f"Request id: {row.request_id}"
        if role == Qt.ItemDataRole.ForegroundRole and column == 9 and row.status != "ok":
            return QColor("#c0392b")
        return None

    def _text(self, row: CallRow, column: int, estimated: bool) -> str:
        mark = ESTIMATED_MARK if estimated else ""
        if column == 0:
            return f"{dt.datetime.fromtimestamp(row.ts):%Y-%m-%d %H:%M:%S}"
        if column == 1:
            profile = self._profile_of(row.provider)
            return profile.name if profile is not None else str(row.provider)
        if column == 2:
            return str(row.model)
        if column == 3:
            return str(row.endpoint)
        if column == 4:
            return _input(row, mark)
        if column == 5:
            return f"{mark}{row.completion_tokens:,}" if row.completion_tokens else ""
        if column == 6:
            if row.cost is None:
                return "no price"
            text = format_usd(row.cost, estimated=estimated)
            profile = self._profile_of(row.provider)
            credits = format_credits(profile, row.cost, estimated=estimated)
            return f"{text} ({credits})" if credits else text
        if column == 7:
            return seconds(row.latency_s)
        if column == 8:
            return seconds(row.ttft_s)
        return str(row.status)


def _input(row: CallRow, mark: str) -> str:
    """Prompt tokens, or for non-token calls what was billed instead."""
    if not row.prompt_tokens:
        if row.images:
            return f"{row.images} img"
        if row.characters:
            return f"{row.characters:,} chars"
        if row.audio_seconds:
            return f"{row.audio_seconds:.0f} s audio"
    return f"{mark}{row.prompt_tokens:,}" if row.prompt_tokens else ""


class CallsTab(QWidget):
    """The filters over the recent calls, their count, the export button and the table."""

    def __init__(self, profile_of: ProfileOf, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        self.calls_model = CallsModel(profile_of)
        self.calls_view = view = named(QTableView(), "usageCallsTable", "Recent calls")
        view.setModel(self.calls_model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setAlternatingRowColors(True)
        view.verticalHeader().setVisible(False)
        view.verticalHeader().setDefaultSectionSize(22)
        view.setWordWrap(False)
        header = view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate(_WIDTHS):
            view.setColumnWidth(column, width)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(view, 1)

    def query(self, days: tuple[dt.date, dt.date], provider: str | None) -> CallQuery:
        """The calls the filters ask for over ``days``."""
        return CallQuery(
            *days,
            provider=provider,
            model=str(self.model_filter.currentData() or "") or None,
            endpoint=str(self.endpoint_filter.currentData() or "") or None,
            only=self.only_filter.currentData(),
        )

    def show_page(self, page: CallPage) -> None:
        self.calls_model.set_rows(page.rows)
        more = " (newest shown; export for all)" if page.truncated else ""
        self.calls_count.setText(f"{len(page.rows):,} calls{more}")
