"""Theme (system, light, dark) and font size, applied live from the settings.

An explicit palette is set rather than only asking the platform for a colour scheme:
not every platform theme (or the offscreen one) honours a forced scheme.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.settings import Settings

_state: dict[str, object] = {}


def application_args(argv: list[str]) -> list[str]:
    """``argv`` for the QApplication the app creates, asking for Fusion: set in C++ then,
    start-up does not pay for the Python side of QStyle (~11 ms) until something needs it."""
    _state["fusion"] = True
    return [*argv, "-style", "fusion"]


def dark_palette() -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    colours = {
        role.Window: "#202124", role.WindowText: "#e8eaed", role.Base: "#17181a",
        role.AlternateBase: "#26272b", role.ToolTipBase: "#2d2e31", role.ToolTipText: "#e8eaed",
        role.Text: "#e8eaed", role.Button: "#2d2e31", role.ButtonText: "#e8eaed",
        role.BrightText: "#ffffff", role.Highlight: "#3d6fd1", role.HighlightedText: "#ffffff",
        role.Link: "#8ab4f8", role.LinkVisited: "#c58af9", role.PlaceholderText: "#8f9399",
        role.Mid: "#3c3d41", role.Dark: "#111214", role.Light: "#3a3b3f", role.Midlight: "#323337",
        role.Shadow: "#000000",
    }  # fmt: skip
    for r, colour in colours.items():
        p.setColor(r, QColor(colour))
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(group.Disabled, r, QColor("#6f7378"))
    return p


def is_dark(settings: Settings) -> bool:
    if settings.theme == "system":
        return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
    return settings.theme == "dark"


def apply_appearance(settings: Settings) -> None:
    """Follow the settings' theme and font size; widgets repaint through palette changes."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    first = "font" not in _state
    if first:
        # Fusion draws both palettes faithfully on every platform.
        if not _state.get("fusion"):
            app.setStyle("Fusion")
        _state["font"] = QFont(app.font())
        # Follow the system when it switches between light and dark, if the user said "system".
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: _reapply())
    _state["settings"] = settings
    if is_dark(settings):
        app.setPalette(dark_palette())
        _state["changed_palette"] = True
    elif settings.theme == "light" or _state.get("changed_palette"):
        app.setPalette(app.style().standardPalette())
    # else: "system" in light mode from the start keeps the style's own palette, untouched
    font = QFont(_state["font"])  # type: ignore[call-overload]
    if settings.font_size:
        font.setPointSize(settings.font_size)
    app.setFont(font)


def _reapply() -> None:
    settings = _state.get("settings")
    if isinstance(settings, Settings):
        apply_appearance(settings)
