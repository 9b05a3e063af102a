"""Small helpers shared by the dialogs: naming widgets for tests and screen readers."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

_W = TypeVar("_W", bound=QWidget)


def named(widget: _W, object_name: str, accessible_name: str, tip: str | None = None) -> _W:
    """Give ``widget`` an objectName (tests, automation) and an accessible name (screen readers)."""
    widget.setObjectName(object_name)
    widget.setAccessibleName(accessible_name)
    if tip:
        widget.setToolTip(tip)
    return widget


def editable(combo: QComboBox, object_name: str, accessible_name: str) -> None:
    """Let the user type a value not in the list; the editor gets its own names."""
    combo.setEditable(True)
    editor = combo.lineEdit()
    if editor is not None:
        named(editor, object_name, accessible_name)


class WrapLabel(QLabel):
    """A word-wrapped label that asks for the height its text needs at its real width.

    A plain wrapped QLabel reports a size hint computed for a narrow width, and form
    layouts then leave odd gaps around it (or clip it).
    """

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.wordWrap() and self.width() > 0 and self.text():
            return QSize(hint.width(), self.heightForWidth(self.width()))
        return hint

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        if self.wordWrap() and self.width() > 0 and self.text():
            return QSize(hint.width(), self.heightForWidth(self.width()))
        return hint

    def resizeEvent(self, event: QResizeEvent) -> None:
        old = event.oldSize()
        super().resizeEvent(event)
        if old.width() != event.size().width():
            self.updateGeometry()

    def setText(self, text: str) -> None:
        super().setText(text)
        self.updateGeometry()


def note(text: str, object_name: str, *, rich: bool = False) -> QLabel:
    """A wrapped explanatory label; selectable so a message can be copied."""
    label = WrapLabel(text)
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def set_tone(label: QLabel, tone: str) -> None:
    """Colour a status label: ``ok``, ``error``, ``warning`` or ``plain`` (palette-neutral)."""
    dark = label.palette().window().color().lightness() < 128
    colours = (
        {"ok": "#81c995", "error": "#f28b82", "warning": "#fdd663"}
        if dark
        else {"ok": "#1b7f3b", "error": "#b3261e", "warning": "#8a5a00"}
    )
    colour = colours.get(tone, "")
    label.setStyleSheet(f"color: {colour};" if colour else "")
    label.setProperty("tone", tone)


def object_named(widget: _W, object_name: str) -> _W:
    """Set only the objectName (layout containers that users never interact with)."""
    widget.setObjectName(object_name)
    return widget
