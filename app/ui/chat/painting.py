"""The conversation view's painting: only the rows on screen, only their visible parts."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFontMetrics,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
)

from app.ui.chat.footer import footer_text
from app.ui.chat.layout import HEADER_GAP, PAD, RowLayout
from app.ui.chat.messages import Role, Status
from app.ui.chat.rows import Row


class RowPainter(RowLayout):
    """Paints the cards of the rows on screen: header, the visible parts, footer."""

    def paintEvent(self, event: QPaintEvent) -> None:
        self._prepare_visible()
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        value = self.verticalScrollBar().value()
        vh = self.viewport().height()
        pal = self.palette()
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.palette = pal
        if not self._rows:
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, "No messages yet"
            )
            return
        i = self._heights.row_at(value)
        while 0 <= i < len(self._rows):
            top = self._heights.offset(i)
            if top >= value + vh:
                break
            self._paint_row(painter, i, top - value, value, vh, ctx)
            i += 1
        painter.end()
        self._update_overlays()

    def _paint_row(
        self,
        painter: QPainter,
        index: int,
        y: int,
        value: int,
        vh: int,
        ctx: QAbstractTextDocumentLayout.PaintContext,
    ) -> None:
        row = self._rows[index]
        msg = row.msg
        pal = self.palette()
        card = self._card_rect(index, y)
        fill = pal.color(QPalette.ColorRole.Base)
        if msg.role is Role.USER:
            fill = pal.color(QPalette.ColorRole.AlternateBase)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(card, 8, 8)
        marked = msg.id == self._marked
        if marked or (index == self._current_row and self.hasFocus()):
            pen = QPen(pal.color(QPalette.ColorRole.Highlight), 2 if marked else 1)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(card.adjusted(1, 1, -1, -1), 8, 8)
        # Header: role label, and the branch position when there are siblings.
        header = QRect(card.x() + PAD, card.y() + PAD, card.width() - 2 * PAD, self._header_h)
        painter.setFont(self._header_font)
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        label = f"{msg.role_label()} · editing" if marked else msg.role_label()
        painter.drawText(header, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)
        if msg.branch_count > 1:
            painter.setFont(self._small_font)
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                header,
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"‹ {msg.branch_index + 1}/{msg.branch_count} ›",
            )
        # Body parts, only those on screen.
        width = self._body_width()
        dpr = painter.device().devicePixelRatioF()
        px = card.x() + PAD
        body_y = header.bottom() + 1 + HEADER_GAP
        for part, top, k in list(row.visible(-body_y, vh - body_y)):
            py = body_y + top
            if part.doc is None or part.width != width:
                self._measure(row, part, width, k)
            assert part.doc is not None
            self._docs.move_to_end(id(part))
            painter.save()
            painter.translate(px, py)
            ctx.clip = QRectF(0, -py, width, vh)
            ctx.selections = self._part_selections(index, row, part, k)
            if ctx.selections:
                part.doc.documentLayout().draw(painter, ctx)
            else:
                size = (width, part.height)
                self._pixmaps.draw(painter, id(part), part.doc, size, fill, ctx, dpr)
            painter.restore()
        if msg.has_footer:
            self._paint_footer(
                painter,
                row,
                QRect(px, card.bottom() - PAD - self._footer_h + 2, width, self._footer_h),
            )

    def _paint_footer(self, painter: QPainter, row: Row, rect: QRect) -> None:
        pal = self.palette()
        msg = row.msg
        text = footer_text(msg)
        painter.setFont(self._small_font)
        colour = pal.color(QPalette.ColorRole.PlaceholderText)
        if msg.status is Status.STREAMING:
            colour = QColor(self._renderer.theme.link)
        elif msg.status is Status.ERROR:
            colour = QColor(self._renderer.theme.error_border)
        painter.setPen(colour)
        fm = QFontMetrics(self._small_font)
        painter.drawText(
            rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            fm.elidedText(text, Qt.TextElideMode.ElideRight, rect.width()),
        )
