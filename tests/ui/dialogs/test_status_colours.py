"""Status messages keep readable colours on light and dark palettes."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.ui.dialogs.common import set_tone


def test_status_colours_follow_the_palette(qtbot: QtBot) -> None:
    dark, light = QLabel("on dark"), QLabel("on light")
    qtbot.addWidget(dark)
    qtbot.addWidget(light)
    palette = QPalette(dark.palette())
    palette.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    dark.setPalette(palette)
    palette.setColor(QPalette.ColorRole.Window, QColor("#f5f5f5"))
    light.setPalette(palette)
    set_tone(dark, "error")
    set_tone(light, "error")
    assert "#f28b82" in dark.styleSheet() and "#b3261e" in light.styleSheet()
    set_tone(light, "plain")
    assert light.styleSheet() == "" and light.property("tone") == "plain"
