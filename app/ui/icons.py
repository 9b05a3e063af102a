"""Icons: the desktop theme's when it has one, else the PNGs shipped in ``resources/icons``.

PNGs (16 and 32 px, for normal and high-density screens) rather than SVG or the style's
standard icons: both of those cost start-up time (the SVG icon engine plugin, the Python
side of QStyle) for the few icons the first window shows.
"""

from __future__ import annotations

from PySide6.QtGui import QIcon

from app.paths import resource_path


def icon(name: str, theme_name: str) -> QIcon:
    """The theme's ``theme_name`` icon, else ``resources/icons/<name>-16|32.png``."""
    fallback = QIcon()
    for size in (16, 32):
        fallback.addFile(str(resource_path("icons", f"{name}-{size}.png")))
    return QIcon.fromTheme(theme_name, fallback)
