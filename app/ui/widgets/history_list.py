"""The history lists of the speech and transcription panels: filling one, deleting from it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QMessageBox, QWidget

ITEM_ROLE = Qt.ItemDataRole.UserRole + 1


def fill_history(
    widget: QListWidget,
    items: Sequence[Any],
    label: Callable[[Any], str],
    tooltip: Callable[[Any], str],
    select: int | None = None,
) -> None:
    """Show ``items`` (each kept under ``ITEM_ROLE``), selecting the one whose id is
    ``select``, without emitting selection signals while refilling."""
    widget.blockSignals(True)
    widget.clear()
    for item in items:
        row = QListWidgetItem(label(item))
        row.setData(ITEM_ROLE, item)
        row.setToolTip(tooltip(item)[:500])
        widget.addItem(row)
        if item.id == select:
            widget.setCurrentItem(row)
    widget.blockSignals(False)


def confirm_delete(parent: QWidget, what: str, on_yes: Callable[[], None]) -> QMessageBox:
    """Ask before deleting (window-modal, opened with ``open()``: no nested event loop)."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        f"Delete {what}?",
        f"Delete this {what} and its audio from history? This cannot be undone.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setObjectName("confirmDeleteBox")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.accepted.connect(on_yes)
    box.finished.connect(box.deleteLater)
    box.open()
    return box
