"""A horizontal input level meter: RMS bar, peak tick with a short hold, dBFS scale.

Readings arrive ~30 times a second (``show_level``); each only stores numbers and asks for
one repaint, so Qt coalesces them and the meter never costs more than a paint per frame.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

if TYPE_CHECKING:
    from app.audio import Level

FLOOR_DBFS = -60.0
PEAK_HOLD_SECONDS = 1.0
_GREEN, _AMBER, _RED = QColor("#3fa34d"), QColor("#e0a526"), QColor("#d64545")


class LevelMeter(QWidget):
    """Shows the latest :class:`~app.audio.Level`; ``readings`` counts them (for figures)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("levelMeter")
        self.setAccessibleName("Input level")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.rms_dbfs = FLOOR_DBFS
        self.peak_dbfs = FLOOR_DBFS
        self._held_peak = FLOOR_DBFS
        self._held_at = 0.0
        self.loudest_dbfs = FLOOR_DBFS  # since the last reset: tells "sound arrived" later
        self.readings = 0
        self.paints = 0

    def sizeHint(self) -> QSize:
        return QSize(240, 16)

    def minimumSizeHint(self) -> QSize:
        return QSize(80, 12)

    def show_level(self, level: Level) -> None:
        self.readings += 1
        self.rms_dbfs = max(FLOOR_DBFS, level.rms_dbfs)
        self.peak_dbfs = max(FLOOR_DBFS, level.peak_dbfs)
        self.loudest_dbfs = max(self.loudest_dbfs, self.peak_dbfs)
        now = time.monotonic()
        if self.peak_dbfs >= self._held_peak or now - self._held_at > PEAK_HOLD_SECONDS:
            self._held_peak, self._held_at = self.peak_dbfs, now
        self.setAccessibleDescription(f"{self.rms_dbfs:.0f} dBFS")
        self.update()

    def reset(self) -> None:
        self.rms_dbfs = self.peak_dbfs = self._held_peak = self.loudest_dbfs = FLOOR_DBFS
        self.update()

    @staticmethod
    def fraction(dbfs: float) -> float:
        """Where ``dbfs`` sits on the bar (0 at the floor, 1 at full scale)."""
        return min(1.0, max(0.0, (dbfs - FLOOR_DBFS) / -FLOOR_DBFS))

    def paintEvent(self, event: QPaintEvent) -> None:
        self.paints += 1
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        palette = self.palette()
        painter.fillRect(rect, palette.color(QPalette.ColorRole.Base))
        width = rect.width()
        level = self.fraction(self.rms_dbfs) * width
        colour = _GREEN if self.rms_dbfs < -12 else _AMBER if self.rms_dbfs < -3 else _RED
        painter.fillRect(QRectF(rect.left(), rect.top(), level, rect.height()), colour)
        peak_x = rect.left() + self.fraction(self._held_peak) * width
        if self._held_peak > FLOOR_DBFS:
            painter.fillRect(QRectF(peak_x - 1, rect.top(), 2, rect.height()), _RED)
        painter.setPen(palette.color(QPalette.ColorRole.Mid))
        for mark in (-48, -36, -24, -12, -6):  # scale ticks
            x = rect.left() + self.fraction(mark) * width
            painter.drawLine(int(x), int(rect.bottom() - 3), int(x), int(rect.bottom()))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)
        painter.end()
