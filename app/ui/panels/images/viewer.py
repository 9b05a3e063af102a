"""The full view of one image: fit, zoom in and out (buttons, Ctrl+wheel, keys), 100 %.

The picture is painted scaled (no enlarged copy in memory), inside a scroll area.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QSize, Qt, Signal
from PySide6.QtGui import (
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPixmap,
    QShortcut,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.ui.dialogs.common import named, note

ZOOM_STEPS = (0.1, 0.125, 0.25, 0.33, 0.5, 0.67, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


class _Canvas(QWidget):
    """Paints the pixmap at ``zoom``; its size is the zoomed picture's."""

    def __init__(self) -> None:
        super().__init__()
        self.pixmap = QPixmap()
        self.zoom = 1.0
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def zoomed_size(self) -> QSize:
        return QSize(
            max(1, round(self.pixmap.width() * self.zoom)),
            max(1, round(self.pixmap.height() * self.zoom)),
        )

    def sizeHint(self) -> QSize:
        return self.zoomed_size()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.pixmap.isNull():
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 2)
        painter.scale(self.zoom, self.zoom)
        painter.drawPixmap(0, 0, self.pixmap)
        painter.end()


class _Scroll(QScrollArea):
    zoom_wheel = Signal(int, QPoint)  # steps (+ in), position in the viewport

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = 1 if event.angleDelta().y() > 0 else -1
            self.zoom_wheel.emit(steps, event.position().toPoint())
            event.accept()
            return
        super().wheelEvent(event)


class ImageViewer(QWidget):
    """One image, large. The panel fills the action buttons' slots."""

    back_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageViewer")
        self.fit = True
        self.canvas = _Canvas()
        self.canvas.setObjectName("imageCanvas")
        self.scroll_area = named(_Scroll(), "imageViewerScroll", "Image, full size")
        self.scroll_area.setWidget(self.canvas)
        self.scroll_area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.back_button = named(
            QPushButton("← Gallery"),
            "imageBackButton",
            "Back to the gallery",
            "Back to the gallery (Esc)",
        )
        self.zoom_out_button = named(
            QPushButton("−"), "imageZoomOutButton", "Zoom out", "Zoom out (Ctrl+−)"
        )
        self.zoom_in_button = named(
            QPushButton("+"), "imageZoomInButton", "Zoom in", "Zoom in (Ctrl++)"
        )
        self.fit_button = named(
            QPushButton("Fit"), "imageFitButton", "Fit to the window", "Fit (Ctrl+0)"
        )
        self.actual_button = named(
            QPushButton("1:1"), "imageActualSizeButton", "Actual size", "Actual size (Ctrl+1)"
        )
        for button in (
            self.zoom_out_button,
            self.zoom_in_button,
            self.fit_button,
            self.actual_button,
        ):
            button.setFixedWidth(button.fontMetrics().horizontalAdvance(button.text()) + 28)
        self.zoom_label = named(QLabel(), "imageZoomLabel", "Zoom level")
        self.caption = note("", "imageCaption")
        self.actions_bar = QHBoxLayout()  # the panel inserts Save, Copy, Reuse, Delete here

        bar = QHBoxLayout()
        bar.addWidget(self.back_button)
        bar.addSpacing(12)
        bar.addWidget(self.zoom_out_button)
        bar.addWidget(self.zoom_in_button)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.actual_button)
        bar.addSpacing(6)
        bar.addWidget(self.zoom_label)
        bar.addStretch(1)
        self.actions_bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.caption)
        layout.addLayout(self.actions_bar)
        self._shortcuts = [
            self._shortcut(QKeySequence.StandardKey.ZoomIn, self.zoom_in, "imageZoomInShortcut"),
            self._shortcut(QKeySequence.StandardKey.ZoomOut, self.zoom_out, "imageZoomOutShortcut"),
            self._shortcut("Ctrl+=", self.zoom_in, "imageZoomInAltShortcut"),
            self._shortcut("Ctrl+0", self.fit_to_window, "imageFitShortcut"),
            self._shortcut("Ctrl+1", self.actual_size, "imageActualShortcut"),
        ]
        self._connect_signals()

    def _shortcut(self, keys: object, slot: object, name: str) -> QShortcut:
        shortcut = QShortcut(QKeySequence(keys), self)  # type: ignore[call-overload]
        shortcut.setObjectName(name)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(slot)
        return shortcut

    def _connect_signals(self) -> None:
        self.back_button.clicked.connect(self.back_requested)
        self.zoom_in_button.clicked.connect(self.zoom_in)
        self.zoom_out_button.clicked.connect(self.zoom_out)
        self.fit_button.clicked.connect(self.fit_to_window)
        self.actual_button.clicked.connect(self.actual_size)
        self.scroll_area.zoom_wheel.connect(self.on_scroll_zoom_wheel)

    # -- public ----------------------------------------------------------------------------

    def show_pixmap(self, pixmap: QPixmap, caption: str) -> None:
        self.canvas.pixmap = pixmap
        self.caption.setText(caption)
        self.fit_to_window()

    @property
    def zoom(self) -> float:
        return self.canvas.zoom

    def set_zoom(self, zoom: float, anchor: QPoint | None = None) -> None:
        """Zoom keeping the point under ``anchor`` (viewport coordinates) in place."""
        zoom = min(ZOOM_STEPS[-1], max(ZOOM_STEPS[0], zoom))
        if not isinstance(anchor, QPoint):  # a button's ``clicked(bool)`` lands here too
            anchor = None
        old = self.canvas.zoom
        bars = (self.scroll_area.horizontalScrollBar(), self.scroll_area.verticalScrollBar())
        point = anchor or QPoint(
            self.scroll_area.viewport().width() // 2, self.scroll_area.viewport().height() // 2
        )
        picture = ((bars[0].value() + point.x()) / old, (bars[1].value() + point.y()) / old)
        self.canvas.zoom = zoom
        self.canvas.resize(self.canvas.zoomed_size())
        self.canvas.update()
        bars[0].setValue(round(picture[0] * zoom - point.x()))
        bars[1].setValue(round(picture[1] * zoom - point.y()))
        self.zoom_label.setText(f"{zoom * 100:.0f} %")

    def zoom_in(self, anchor: QPoint | None = None) -> None:
        self.fit = False
        bigger = [z for z in ZOOM_STEPS if z > self.zoom + 1e-6]
        self.set_zoom(bigger[0] if bigger else ZOOM_STEPS[-1], anchor)

    def zoom_out(self, anchor: QPoint | None = None) -> None:
        self.fit = False
        smaller = [z for z in ZOOM_STEPS if z < self.zoom - 1e-6]
        self.set_zoom(smaller[-1] if smaller else ZOOM_STEPS[0], anchor)

    def actual_size(self) -> None:
        self.fit = False
        self.set_zoom(1.0)

    def fit_to_window(self) -> None:
        self.fit = True
        pixmap = self.canvas.pixmap
        if pixmap.isNull():
            return
        area = self.scroll_area.viewport().size()
        zoom = min(area.width() / pixmap.width(), area.height() / pixmap.height(), 1.0)
        self.set_zoom(max(zoom, ZOOM_STEPS[0]))

    # -- slots -----------------------------------------------------------------------------

    def on_scroll_zoom_wheel(self, steps: int, position: QPoint) -> None:
        if steps > 0:
            self.zoom_in(position)
        else:
            self.zoom_out(position)

    def event(self, event: QEvent) -> bool:
        # The window binds Esc (stop streaming); inside the viewer Esc means "back", so claim
        # it before shortcuts are matched (two active Esc shortcuts would both be ambiguous).
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.back_requested.emit()
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self.fit:
            self.fit_to_window()
