"""Finished message parts kept as pixmaps, so a repaint blits them instead of re-drawing.

Drawing a laid-out QTextDocument costs as much on every frame as on the first, and while
an answer streams the whole viewport repaints each frame: the finished parts on screen
(display math, tables, highlighted code) would be re-drawn 60 times a second while only
the streaming block changes. A part is cached the second time it is painted unchanged, so
the block being streamed (re-set every frame) is never rendered twice.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRectF
from PySide6.QtGui import QAbstractTextDocumentLayout, QColor, QPainter, QPixmap, QTextDocument

# Pixels (device) kept in all: a few screens' worth, so the parts on screen always fit.
PIXEL_BUDGET = 3 * 2560 * 1600
# A part taller than this is drawn directly (its pixmap would mostly be off screen).
MAX_PART_HEIGHT = 2400
# Parts remembered at all (those seen once hold only their document's state).
MAX_ENTRIES = 256


@dataclass(slots=True)
class _Entry:
    doc: QTextDocument
    key: tuple[int, int, int, float]  # revision, width, fill colour, device pixel ratio
    pixmap: QPixmap | None = None  # None: seen once with this key, not yet cached

    @property
    def pixels(self) -> int:
        return 0 if self.pixmap is None else self.pixmap.width() * self.pixmap.height()


class PartPixmaps:
    """An LRU of rendered parts, keyed by the part and checked against its document."""

    def __init__(self, budget: int = PIXEL_BUDGET) -> None:
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._budget = budget
        self._pixels = 0

    def draw(
        self,
        painter: QPainter,
        part_id: int,
        doc: QTextDocument,
        size: tuple[int, int],
        fill: QColor,
        ctx: QAbstractTextDocumentLayout.PaintContext,
        dpr: float,
    ) -> None:
        """Draw ``doc`` (laid out at ``size``) at the painter's origin, from the cache if
        it holds this very state of it; ``fill`` is the background the part sits on."""
        width, height = size
        key = (doc.revision(), width, fill.rgba(), dpr)
        entry = self._entries.get(part_id)
        if entry is not None and entry.doc is doc and entry.key == key:
            self._entries.move_to_end(part_id)
            if entry.pixmap is None and 0 < height <= MAX_PART_HEIGHT:
                self._render(entry, width, height, fill, ctx, dpr)
            if entry.pixmap is not None:
                painter.drawPixmap(QPoint(0, 0), entry.pixmap)
                return
        else:
            self.forget(part_id)
            self._entries[part_id] = _Entry(doc, key)
            if len(self._entries) > MAX_ENTRIES:
                self.forget(next(iter(self._entries)))
        doc.documentLayout().draw(painter, ctx)

    def _render(
        self,
        entry: _Entry,
        width: int,
        height: int,
        fill: QColor,
        ctx: QAbstractTextDocumentLayout.PaintContext,
        dpr: float,
    ) -> None:
        pixmap = QPixmap(round(width * dpr), round(height * dpr))
        pixmap.setDevicePixelRatio(dpr)
        # Opaque, in the colour the part sits on: text keeps its sub-pixel antialiasing.
        pixmap.fill(fill)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        whole = QAbstractTextDocumentLayout.PaintContext()
        whole.palette = ctx.palette
        whole.clip = QRectF(0, 0, width, height)
        entry.doc.documentLayout().draw(painter, whole)
        painter.end()
        entry.pixmap = pixmap
        self._pixels += entry.pixels
        while self._pixels > self._budget and len(self._entries) > 1:
            old_id = next(iter(self._entries))
            self.forget(old_id)

    def forget(self, part_id: int) -> None:
        entry = self._entries.pop(part_id, None)
        if entry is not None:
            self._pixels -= entry.pixels

    def clear(self) -> None:
        self._entries.clear()
        self._pixels = 0

    def __len__(self) -> int:
        return sum(1 for e in self._entries.values() if e.pixmap is not None)
