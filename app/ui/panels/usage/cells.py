"""Small pieces the dashboard's tabs share: read-only table cells, table defaults, combo
refills, mnemonic labels, durations."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

ESTIMATED_TIP = "≈ The provider sent no usage: tokens (and cost) were estimated from the text."


def seconds(value: float | None, missing: str = "") -> str:
    """``830 ms`` under a second, ``1.65 s`` above; ``missing`` when unknown."""
    if value is None:
        return missing
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def buddy(text: str, widget: QWidget) -> QLabel:
    """A label whose mnemonic focuses ``widget`` (and names it for screen readers)."""
    label = QLabel(text)
    label.setBuddy(widget)
    return label


def item(text: str, *, numeric: bool = False) -> QTableWidgetItem:
    """A read-only cell, right-aligned when ``numeric``."""
    cell = QTableWidgetItem(text)
    cell.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if numeric:
        cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return cell


def table_defaults(table: QTableWidget) -> None:
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(22)
    table.setAlternatingRowColors(True)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)


def refill(combo: QComboBox, items: Sequence[tuple[str, str]], *, keep_all: bool = True) -> None:
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
