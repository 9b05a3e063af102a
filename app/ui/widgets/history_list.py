"""The history lists of the speech and transcription panels: filling one, deleting from it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.ui.dialogs.common import named

ITEM_ROLE = Qt.ItemDataRole.UserRole + 1


class HistoryBox(QGroupBox):
    """The right-hand list of past items: the list, what shows when it is empty, and a
    Delete… button (also the Delete key) under it, after any ``extra`` buttons."""

    def __init__(
        self,
        title: str,
        prefix: str,
        what: str,
        empty_text: str,
        extra: Sequence[QPushButton] = (),
    ) -> None:
        super().__init__(title)
        self.setObjectName(f"{prefix}HistoryGroup")
        self.list = named(QListWidget(), f"{prefix}History", title)
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.empty = QLabel(empty_text)
        self.empty.setObjectName(f"{prefix}HistoryEmpty")
        self.empty.setWordWrap(True)
        self.delete_button = named(
            QPushButton("Delete…"),
            f"delete{what.title()}Button",
            f"Delete the {what}",
            "Delete (Del)",
        )
        self.delete_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list)
        self.delete_key.setContext(Qt.ShortcutContext.WidgetShortcut)
        self.delete_key.activated.connect(self.delete_button.click)
        actions = QHBoxLayout()
        for button in extra:
            actions.addWidget(button, 1)
        actions.addWidget(self.delete_button, 0 if extra else 1, Qt.AlignmentFlag.AlignRight)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty)
        layout.addLayout(actions)


def work_beside_history(
    owner: QWidget, work: Sequence[tuple[QWidget, int]], history: QWidget, name: str
) -> None:
    """Lay ``owner`` out as a work column (each widget with its stretch) beside its
    history, in a splitter that gives the work three fifths."""
    left = QWidget()
    column = QVBoxLayout(left)
    column.setContentsMargins(8, 8, 4, 8)
    for widget, stretch in work:
        column.addWidget(widget, stretch)
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.setObjectName(name)
    splitter.addWidget(left)
    splitter.addWidget(history)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, 2)
    splitter.setChildrenCollapsible(False)
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 4, 0)
    layout.addWidget(splitter)


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
