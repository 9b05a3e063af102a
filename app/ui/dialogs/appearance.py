"""Apply the theme and font size settings to the running application, live.

Wire it once at start-up::

    apply_appearance(qt_app, store.get())
    notifier.changed.connect(lambda s, changed: apply_appearance(qt_app, s))

"system" restores whatever the platform gave the app at start. Light and dark use the
Fusion style with an explicit palette, which looks the same on every platform (the
platform's own colour-scheme switch is requested too where it exists).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from app.settings import Settings


@dataclass
class _Original:
    style: str
    palette: QPalette
    font: QFont


_original: _Original | None = None


def apply_appearance(app: QApplication, settings: Settings) -> None:
    """Make ``app`` show ``settings.theme`` and ``settings.font_size`` now."""
    global _original
    if _original is None:
        _original = _Original(app.style().name(), QPalette(app.palette()), QFont(app.font()))
    hints = app.styleHints()
    if settings.theme == "system":
        app.setStyle(_original.style)
        app.setPalette(_original.palette)
        hints.unsetColorScheme()
    else:
        app.setStyle(QStyleFactory.create("Fusion"))
        dark = settings.theme == "dark"
        app.setPalette(dark_palette() if dark else QPalette(app.style().standardPalette()))
        hints.setColorScheme(Qt.ColorScheme.Dark if dark else Qt.ColorScheme.Light)
    font = QFont(_original.font)
    if settings.font_size is not None:
        font.setPointSize(settings.font_size)
    app.setFont(font)


def dark_palette() -> QPalette:
    """A calm dark palette with enough contrast for text and disabled widgets."""
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#202124",
        QPalette.ColorRole.WindowText: "#e8eaed",
        QPalette.ColorRole.Base: "#17181a",
        QPalette.ColorRole.AlternateBase: "#25272a",
        QPalette.ColorRole.ToolTipBase: "#2d2f33",
        QPalette.ColorRole.ToolTipText: "#e8eaed",
        QPalette.ColorRole.PlaceholderText: "#9aa0a6",
        QPalette.ColorRole.Text: "#e8eaed",
        QPalette.ColorRole.Button: "#2d2f33",
        QPalette.ColorRole.ButtonText: "#e8eaed",
        QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Highlight: "#3d6ec9",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#8ab4f8",
        QPalette.ColorRole.LinkVisited: "#c58af9",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7f8388"))
    return palette
