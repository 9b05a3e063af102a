"""The UI's icon set: Lucide SVGs (ISC, ``resources/icons/ui``) recoloured at runtime.

The SVGs draw with ``currentColor``; :func:`tinted` puts a design-token colour in its place
and renders crisp pixmaps at 1x, 2x and each screen's ratio. ``PySide6.QtSvg`` is imported
on the first render, not with this module: :func:`icon` (the palette's colour, for widgets
of the first window) renders only when Qt first asks for a pixmap, i.e. at first paint.
"""

from __future__ import annotations

from functools import cache, lru_cache

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QImage,
    QPainter,
    QPalette,
    QPixmap,
)

from app.paths import resource_path

ALIASES = {"voice": "microphone"}
DISABLED_OPACITY = 0.4  # a disabled icon is its Normal pixmap at this opacity


def names() -> list[str]:
    """The names of the icons shipped (``resources/icons/ui/<name>.svg``)."""
    return sorted(path.stem for path in resource_path("icons", "ui").glob("*.svg"))


@cache
def _svg(name: str) -> bytes:
    """The SVG source of icon ``name`` (or an alias); KeyError naming it if there is none."""
    path = resource_path("icons", "ui", f"{ALIASES.get(name, name)}.svg")
    if "/" in name or "\\" in name or not path.is_file():
        raise KeyError(f"no icon named {name!r} (known: {', '.join(names())})")
    return path.read_bytes()


@lru_cache(maxsize=1024)
def _pixmap(name: str, colour: str, size: int, scale: float, disabled: bool) -> QPixmap:
    """Icon ``name`` drawn in ``colour`` at ``size`` logical px for a ``scale`` x screen."""
    from PySide6.QtSvg import QSvgRenderer  # lazily: not a start-up import

    qcolour = QColor.fromString(colour)
    if not qcolour.isValid():
        raise ValueError(f"not a colour: {colour!r}")
    svg = _svg(name).replace(b"currentColor", qcolour.name().encode())
    side = max(1, round(size * scale))
    image = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setOpacity(qcolour.alphaF() * (DISABLED_OPACITY if disabled else 1.0))
    QSvgRenderer(QByteArray(svg)).render(painter, QRectF(0, 0, side, side))
    painter.end()
    pixmap = QPixmap.fromImage(image)
    pixmap.setDevicePixelRatio(scale)
    return pixmap


def _scales() -> list[float]:
    """1x, 2x and the ratio of every screen (1.25, 1.5 ... on fractional scaling)."""
    return sorted({1.0, 2.0, *(screen.devicePixelRatio() for screen in QGuiApplication.screens())})


@lru_cache(maxsize=512)
def _tinted(name: str, colour: str, size: int) -> QIcon:
    result = QIcon()
    for scale in _scales():
        result.addPixmap(_pixmap(name, colour, size, scale, False), QIcon.Mode.Normal)
        result.addPixmap(_pixmap(name, colour, size, scale, True), QIcon.Mode.Disabled)
    return result


def tinted(name: str, colour: str, size: int = 16) -> QIcon:
    """Icon ``name`` in ``colour`` (``"#rrggbb"``, a token's) at ``size`` px, 1x/2x/screens.

    Normal and Disabled (faded) pixmaps; cached by (name, colour, size). KeyError for an
    unknown name, ValueError for something that is not a colour.
    """
    return QIcon(_tinted(name, colour, size))  # a copy: callers may add to theirs


class _PaletteEngine(QIconEngine):
    """Draws an icon in the application palette's current text colour, when asked to."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name

    def scaledPixmap(
        self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float
    ) -> QPixmap:
        selected = mode == QIcon.Mode.Selected
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.ButtonText
        colour = QGuiApplication.palette().color(role).name(QColor.NameFormat.HexArgb)
        side = min(size.width(), size.height())
        return _pixmap(self._name, colour, side, scale, mode == QIcon.Mode.Disabled)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        scale = painter.device().devicePixelRatioF() if painter.device() else 1.0
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, scale))

    def clone(self) -> QIconEngine:
        return _PaletteEngine(self._name)


def icon(name: str, theme_name: str = "") -> QIcon:
    """Icon ``name`` from our set, drawn in the palette's text colour (follows theme changes).

    ``theme_name`` (a freedesktop name) is accepted for older callers and ignored: the
    shipped set gives every platform the same look. KeyError for an unknown name, at once.
    """
    _svg(name)
    return QIcon(_PaletteEngine(name))
