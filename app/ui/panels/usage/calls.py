"""The recent-calls table: a flat model over ledger tuples (``CALL_COLUMNS``),
formatting cells on demand so a thousand rows cost nothing until they are seen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.api.profiles import ProviderProfile
from app.core.usage import ESTIMATED_MARK, format_credits, format_usd
from app.core.usage_dashboard import CALL_COLUMNS

_I = {name: i for i, name in enumerate(CALL_COLUMNS)}
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
ESTIMATED_TIP = "≈ The provider sent no usage: tokens (and cost) were estimated from the text."

AnyIndex = QModelIndex | QPersistentModelIndex


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


class CallsModel(QAbstractTableModel):
    """Rows of the ledger, newest first; ``profile_of`` gives credit units per provider."""

    def __init__(self, profile_of: Callable[[str], ProviderProfile | None]) -> None:
        super().__init__()
        self._rows: list[tuple[Any, ...]] = []
        self._profile_of = profile_of

    def set_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_tuple(self, row: int) -> tuple[Any, ...]:
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
        estimated = bool(row[_I["estimated"]])
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column, estimated)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if estimated and column in (4, 5, 6):
                return ESTIMATED_TIP
            if column == 9 and row[_I["request_id"]]:
                return f"Request id: {row[_I['request_id']]}"
        if role == Qt.ItemDataRole.ForegroundRole and column == 9 and row[_I["status"]] != "ok":
            return QColor("#c0392b")
        return None

    def _text(self, row: tuple[Any, ...], column: int, estimated: bool) -> str:
        mark = ESTIMATED_MARK if estimated else ""
        if column == 0:
            return f"{dt.datetime.fromtimestamp(row[_I['ts']]):%Y-%m-%d %H:%M:%S}"
        if column == 1:
            profile = self._profile_of(row[_I["provider"]])
            return profile.name if profile is not None else str(row[_I["provider"]])
        if column == 2:
            return str(row[_I["model"]])
        if column == 3:
            return str(row[_I["endpoint"]])
        if column == 4:
            return self._amount(row, "prompt_tokens", mark)
        if column == 5:
            return self._amount(row, "completion_tokens", mark)
        if column == 6:
            cost = row[_I["cost"]]
            if cost is None:
                return "no price"
            text = format_usd(cost, estimated=estimated)
            credits = format_credits(
                self._profile_of(row[_I["provider"]]), cost, estimated=estimated
            )
            return f"{text} ({credits})" if credits else text
        if column == 7:
            return _seconds(row[_I["latency_s"]])
        if column == 8:
            return _seconds(row[_I["ttft_s"]])
        return str(row[_I["status"]])

    @staticmethod
    def _amount(row: tuple[Any, ...], key: str, mark: str) -> str:
        value = row[_I[key]]
        if key == "prompt_tokens" and not value:
            # Non-token calls: say what was billed instead.
            if row[_I["images"]]:
                return f"{row[_I['images']]} img"
            if row[_I["characters"]]:
                return f"{row[_I['characters']]:,} chars"
            if row[_I["audio_seconds"]]:
                return f"{row[_I['audio_seconds']]:.0f} s audio"
        return f"{mark}{value:,}" if value else ""
