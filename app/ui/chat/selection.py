"""Text selection in the conversation view: drag over one message or across several.

The rows are painted documents, not widgets, so the view keeps the selection itself: two
points (message id, part, character), ordered by row, part and character. Painting asks
:meth:`RowSelection._part_selections` for each part it draws; Ctrl+C and the context menu
copy the text between the points (rows off screen that were never rendered give their
Markdown source).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QGuiApplication,
    QMouseEvent,
    QPalette,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QWidget

from app.ui.chat.layout import RowLayout
from app.ui.chat.rows import Part, Row

Point = tuple[int, int, int]  # message id, part order in its row, character
_NEAR = 800  # px above a point searched for the part it belongs to


class RowSelection(RowLayout):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sel_anchor: Point | None = None
        self._sel_head: Point | None = None
        self._selecting = False

    # -- where a point falls

    @staticmethod
    def _order(row: Row, part: Part, k: int) -> int:
        if k >= 0:
            return k
        trailing = row.trailing()
        return len(row.body or []) + (trailing.index(part) if part in trailing else 0)

    def _point_at(self, pos: QPoint) -> Point | None:
        """The character under ``pos``, or the nearest one before it in its row."""
        if not self._rows:
            return None
        y = pos.y() + self.verticalScrollBar().value()
        i = max(0, min(len(self._rows) - 1, self._heights.row_at(y)))
        row = self._rows[i]
        parts = [p for p in self._part_origins(i, y - _NEAR, y + 1) if p[1].y() <= y]
        if not parts:
            return (row.msg.id, 0, 0)
        part, origin, k = parts[-1]
        doc = part.doc
        if doc is None:
            return (row.msg.id, self._order(row, part, k), 0)
        local = QPointF(pos.x() - origin.x(), y - origin.y())
        if local.y() >= part.height:
            char = doc.characterCount() - 1
        else:
            char = max(0, doc.documentLayout().hitTest(local, Qt.HitTestAccuracy.FuzzyHit))
        return (row.msg.id, self._order(row, part, k), char)

    def _key(self, point: Point) -> tuple[int, int, int] | None:
        index = self._index.get(point[0])
        return None if index is None else (index, point[1], point[2])

    def _range(self) -> tuple[tuple[int, int, int], tuple[int, int, int]] | None:
        if self._sel_anchor is None or self._sel_head is None:
            return None
        a, b = self._key(self._sel_anchor), self._key(self._sel_head)
        if a is None or b is None or a == b:
            return None
        return (a, b) if a < b else (b, a)

    # -- the mouse

    def _on_anchor(self, pos: QPoint) -> bool:
        y = pos.y() + self.verticalScrollBar().value()
        i = self._heights.row_at(y)
        if not 0 <= i < len(self._rows):
            return False
        for part, origin, _k in self._part_origins(i, y, y):
            if part.doc is not None:
                local = QPointF(pos.x() - origin.x(), y - origin.y())
                if part.doc.documentLayout().anchorAt(local):
                    return True
        return False

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if event.button() == Qt.MouseButton.LeftButton and not self._on_anchor(pos):
            had = self._range() is not None
            self._sel_anchor, self._sel_head = self._point_at(pos), None
            self._selecting = True
            if had:
                self.viewport().update()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._selecting and event.buttons() & Qt.MouseButton.LeftButton:
            head = self._point_at(event.position().toPoint())
            if head != self._sel_head:
                self._sel_head = head
                self.viewport().update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._selecting and event.button() == Qt.MouseButton.LeftButton:
            self._selecting = False
            head = self._point_at(event.position().toPoint())
            if head != self._sel_head:
                self._sel_head = head
                self.viewport().update()
        super().mouseReleaseEvent(event)

    # -- painting and copying

    def _part_selections(
        self, index: int, row: Row, part: Part, k: int
    ) -> list[QAbstractTextDocumentLayout.Selection]:
        span = self._range()
        if span is None or part.doc is None:
            return []
        a, b = self._span_in(span, index, self._order(row, part, k), part.doc.characterCount())
        if a >= b:
            return []
        cursor = QTextCursor(part.doc)
        cursor.setPosition(a)
        cursor.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
        fmt = QTextCharFormat()
        pal = self.palette()
        fmt.setBackground(pal.brush(QPalette.ColorRole.Highlight))
        fmt.setForeground(pal.brush(QPalette.ColorRole.HighlightedText))
        selection = QAbstractTextDocumentLayout.Selection()
        selection.cursor = cursor
        selection.format = fmt
        return [selection]

    @staticmethod
    def _span_in(
        span: tuple[tuple[int, int, int], tuple[int, int, int]], index: int, order: int, chars: int
    ) -> tuple[int, int]:
        """The characters of part (``index``, ``order``) inside ``span``: (from, to)."""
        (si, so, sc), (ei, eo, ec) = span
        if (index, order) < (si, so) or (index, order) > (ei, eo):
            return 0, 0
        start = sc if (index, order) == (si, so) else 0
        end = ec if (index, order) == (ei, eo) else chars - 1
        return min(start, chars - 1), min(end, chars - 1)

    def _has_selection(self) -> bool:
        return self._range() is not None

    def selected_text(self) -> str:
        """The selected text: paragraphs and messages separated by blank lines."""
        span = self._range()
        if span is None:
            return ""
        width = self._body_width()
        pieces: list[str] = []
        for index in range(span[0][0], span[1][0] + 1):
            row = self._rows[index]
            if row.body is None:
                pieces.append(row.msg.text)  # never rendered: its source
                continue
            parts = [(p, k) for k, p in enumerate(row.body)] + [(p, -1) for p in row.trailing()]
            texts = []
            for part, k in parts:
                if part.doc is None:
                    self._measure(row, part, width, k)
                assert part.doc is not None
                a, b = self._span_in(
                    span, index, self._order(row, part, k), part.doc.characterCount()
                )
                if a < b:
                    cursor = QTextCursor(part.doc)
                    cursor.setPosition(a)
                    cursor.setPosition(b, QTextCursor.MoveMode.KeepAnchor)
                    texts.append(
                        cursor.selectedText().replace("\u2029", "\n").replace("\u2028", "\n")
                    )
            pieces.append("\n\n".join(t for t in texts if t))
        return "\n\n".join(p for p in pieces if p)

    def _copy_selection(self) -> bool:
        text = self.selected_text()
        if not text:
            return False
        QGuiApplication.clipboard().setText(text)
        return True

    def clear_selection(self) -> None:
        self._sel_anchor = self._sel_head = None
        self.viewport().update()
