"""Small helpers shared by the dialogs: naming widgets for tests and screen readers."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

_W = TypeVar("_W", bound=QWidget)


def named(widget: _W, object_name: str, accessible_name: str, tip: str | None = None) -> _W:
    """Give ``widget`` an objectName (tests, automation) and an accessible name (screen readers)."""
    widget.setObjectName(object_name)
    widget.setAccessibleName(accessible_name)
    if tip:
        widget.setToolTip(tip)
    return widget


def note(text: str, object_name: str, *, rich: bool = False) -> QLabel:
    """A wrapped explanatory label; selectable so a message can be copied."""
    label = QLabel(text)
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def set_tone(label: QLabel, tone: str) -> None:
    """Colour a status label: ``ok``, ``error``, ``warning`` or ``plain`` (palette-neutral)."""
    colours = {"ok": "#1b7f3b", "error": "#b3261e", "warning": "#8a5a00", "plain": ""}
    colour = colours.get(tone, "")
    label.setStyleSheet(f"color: {colour};" if colour else "")
    label.setProperty("tone", tone)


def object_named(widget: _W, object_name: str) -> _W:
    """Set only the objectName (layout containers that users never interact with)."""
    widget.setObjectName(object_name)
    return widget
