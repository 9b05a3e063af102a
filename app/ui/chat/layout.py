"""The conversation view's layout: rows, their documents and heights, and scrolling.

:class:`RowLayout` is the base the view's other parts build on (stream intake, painting,
interaction; :class:`~app.ui.chat.message_view.ConversationView` joins them). Row heights
are prefix sums (:class:`RowHeights`), so the row under a y, a row's top and the total
height are O(log n). Only rows in the viewport are laid out; the others keep an estimate
until they are scrolled to. QTextDocuments are made per markdown block when first needed
and evicted LRU (``DOC_CACHE``), keeping their measured height.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from html import escape as html_escape

from PySide6.QtCore import QEasingCurve, QEvent, QPoint, QRect, Qt, QTimer, QUrl, QVariantAnimation
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QFont,
    QFontMetrics,
    QImage,
    QPalette,
    QResizeEvent,
    QTextDocument,
    QTextOption,
)
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

from app.ui.chat.footer import countdown_running, error_text
from app.ui.chat.images import decode_image
from app.ui.chat.markdown_render import MarkdownRenderer, RenderContext, StreamRender, Theme
from app.ui.chat.messages import DisplayMessage, Role, Status
from app.ui.chat.part_pixmaps import PartPixmaps
from app.ui.chat.row_heights import RowHeights
from app.ui.chat.rows import NO_PARTS, Part, Row, body_part

MARGIN = 12  # around each message card
PAD = 10  # inside a card
HEADER_GAP = 4
MAX_BODY_WIDTH = 860  # readable line length; wider windows centre the column
DOC_CACHE = 400  # QTextDocuments kept alive (the rest keep only their measured height)
IMAGE_MAX_WIDTH = 480
ATTACHMENT_THUMB_WIDTH = 240  # an image sent with a question, shown small beside the words
_IMAGE_SRC = re.compile(r'src="image:(\d+)"')


class RowLayout(QAbstractScrollArea):
    """Rows and their documents, heights, geometry and scrolling (no input, no painting)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []
        self._index: dict[int, int] = {}  # message id -> row
        self._heights = RowHeights()
        self._docs: OrderedDict[int, Part] = OrderedDict()  # LRU of parts holding a document
        self._pixmaps = PartPixmaps()  # finished parts on screen, drawn once and blitted
        self._images: dict[str, QImage] = {}
        self._renderer_: MarkdownRenderer | None = None  # imports Markdown when first used
        self._stick = True  # follow the end while text streams in
        self._programmatic = 0  # scroll bar changes made by the view, not the user
        self._current_row = -1  # the keyboard's message (focus ring, action bar)
        self._marked: int | None = None  # the message being edited: outlined, labelled
        self._fonts_changed()
        self._scroll_anim = QVariantAnimation(self)
        self._scroll_anim.setDuration(140)
        self._scroll_anim.setEasingCurve(QEasingCurve.Type.OutCubic)
        self._countdown = QTimer(self)  # live rate-limit countdowns in error boxes
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self.on_countdown_timeout)

    @property
    def _renderer(self) -> MarkdownRenderer:
        if self._renderer_ is None:
            self._renderer_ = MarkdownRenderer(self._theme_from_palette())
        return self._renderer_

    def message_ids(self) -> list[int]:
        return [r.msg.id for r in self._rows]

    def message(self, message_id: int) -> DisplayMessage | None:
        i = self._index.get(message_id)
        return None if i is None else self._rows[i].msg

    def is_sticking_to_bottom(self) -> bool:
        return self._stick

    def scroll_to_bottom(self) -> None:
        self._stick = True
        self._after_rows_changed()

    def _new_row(self, msg: DisplayMessage) -> Row:
        return Row(msg)  # images the message carries are decoded when it is first shown

    def _reindex(self) -> None:
        self._index = {r.msg.id: i for i, r in enumerate(self._rows)}

    def _materialise(self, row: Row) -> None:
        """Render a row's HTML (not yet its documents)."""
        if row.body is not None:
            return
        for url, data in row.msg.images.items():
            if url not in self._images:
                image = decode_image(data)
                if image is None:
                    continue
                self._images[url] = image
            row.ctx.loaded.add(url)
        if row.stream is None:
            row.ctx.clear()  # a live stream's registrations are its own
        if row.stream is not None:
            html = row.stream.blocks
            row.tail = None if row.stream.tail is None else Part(row.stream.tail)
        elif row.msg.role is Role.USER:
            html = self._renderer.plain_text(row.msg.text)
            if row.msg.attachments:
                html.append(self._attachments_html(row))
        elif row.msg.text:
            html = self._renderer.render_text(row.msg.text, row.ctx)
        else:
            html = []
        row.set_body([body_part(h) for h in html])
        self._render_extras(row)

    def _attachments_html(self, row: Row) -> str:
        """The files sent with a user message: image thumbnails, other files by name."""
        shown = []
        for item in row.msg.attachments:
            image = self._images.get(item.url) if item.url else None
            name = html_escape(item.name)
            if image is None:
                shown.append(f'<span style="color:{self._renderer.theme.muted}">📎 {name}</span>')
                continue
            n = row.ctx.add_image(item.url)
            width = min(image.width(), ATTACHMENT_THUMB_WIDTH)
            shown.append(f'<img src="image:{n}" width="{width}" alt="{name}" title="{name}">')
        return f'<p style="margin-top:6px">{"&nbsp; ".join(shown)}</p>'

    def _render_extras(self, row: Row) -> None:
        """Tool calls and the error box: small parts re-rendered whenever they change."""
        for part in row.extras:
            self._forget_doc(part)
        if row.body is None:
            row.extras = NO_PARTS
            return
        r = self._renderer
        extras = [
            Part(r.tool_call(n, c.name, c.arguments, expanded=n in row.expanded_tools))
            for n, c in enumerate(row.msg.tool_calls)
        ]
        msg = row.msg
        if msg.status in (Status.ERROR, Status.INTERRUPTED):
            warning = msg.status is Status.INTERRUPTED
            extras.append(Part(r.error_box(error_text(msg), retry=True, warning=warning)))
            if countdown_running(msg) and not self._countdown.isActive():
                self._countdown.start()
        row.extras = extras

    def _estimate(self, row: Row) -> int:
        """A cheap height guess for a row never shown (replaced once laid out)."""
        return self._estimates([row])[0]

    def _estimates(self, rows: list[Row]) -> list[int]:
        """Height guesses for many rows: a few C-speed string scans each."""
        per_line = max(10, int(max(80, self._body_width()) / self._char_w))
        line_h = self._line_h
        user = MARGIN + 2 * PAD + self._header_h + HEADER_GAP
        assistant = user + self._footer_h
        failed = (Status.ERROR, Status.INTERRUPTED)
        out = []
        for row in rows:
            msg = row.msg
            text = msg.text
            h = (text.count("\n") + len(text) // per_line + 1) * line_h
            h += (assistant if msg.has_footer else user) + 8 * text.count("```")
            if msg.tool_calls:
                h += len(msg.tool_calls) * (line_h + 12)
            if msg.status in failed:
                h += 2 * line_h + 20
            out.append(h)
        return out

    def _chrome_height(self, row: Row) -> int:
        footer = self._footer_h if row.msg.has_footer else 0
        return MARGIN + 2 * PAD + self._header_h + HEADER_GAP + footer

    def _row_height(self, row: Row) -> int:
        return self._chrome_height(row) + row.content_height()

    def _relayout_row(self, index: int, visible: tuple[int, int] | None = None) -> None:
        """Measure a row's parts at the current width.

        The first time, every part is measured; afterwards (``visible`` given, in body
        coordinates) only the parts on screen are re-wrapped: the others keep their
        height until they are scrolled to.
        """
        row = self._rows[index]
        self._materialise(row)
        assert row.body is not None
        width = self._body_width()
        if visible is None:
            for k, part in enumerate(row.body):
                if part.height < 0 or part.width != width:
                    self._measure(row, part, width, k)
            for part in row.trailing():
                if part.height < 0 or part.width != width:
                    self._measure(row, part, width)
        else:
            for part, _top, k in list(row.visible(*visible)):
                if part.height < 0 or part.width != width:
                    self._measure(row, part, width, k)
        row.exact = True
        self._set_height(index, self._row_height(row))

    def _measure(self, row: Row, part: Part, width: int, k: int = -1) -> None:
        """Lay out ``part`` at ``width`` (creating its document); ``k``: its body index."""
        doc = part.doc
        if doc is None:
            doc = self._make_doc(row, part.html)
            part.doc = doc
            self._remember_doc(part)
        else:
            self._docs.move_to_end(id(part))
        if part.width != width or part.height < 0:
            doc.setTextWidth(width)
            part.width = width
        part.height = math.ceil(doc.size().height())
        if k >= 0 and row.body_h[k] != part.height + part.gap:
            row.body_h.set(k, part.height + part.gap)

    def _reset_part(self, row: Row, part: Part, html: str, width: int) -> None:
        part.html = html
        if part.doc is None:
            part.height = -1
            self._measure(row, part, width)
            return
        self._add_resources(row, part.doc, html)
        part.doc.setHtml(html)
        part.doc.setTextWidth(width)
        part.width = width
        part.height = math.ceil(part.doc.size().height())
        self._docs.move_to_end(id(part))

    def _make_doc(self, row: Row, html: str) -> QTextDocument:
        doc = self._blank_doc()
        self._add_resources(row, doc, html)
        doc.setHtml(html)
        return doc

    # Hooks for the selection (``RowSelection``): painting and copying ask them.
    def _part_selections(
        self, index: int, row: Row, part: Part, k: int
    ) -> list[QAbstractTextDocumentLayout.Selection]:
        return []

    def _has_selection(self) -> bool:
        return False

    def _copy_selection(self) -> bool:
        return False

    def _blank_doc(self) -> QTextDocument:
        """A document set up as every part's is (font, margins, wrapping)."""
        doc = QTextDocument()
        doc.setUndoRedoEnabled(False)
        doc.setDocumentMargin(0)
        doc.setDefaultFont(self._body_font)
        option = doc.defaultTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        doc.setDefaultTextOption(option)
        return doc

    def _add_resources(self, row: Row, doc: QTextDocument, html: str) -> None:
        for match in _IMAGE_SRC.finditer(html):
            url = row.ctx.image(int(match[1]))
            image = self._images.get(url or "")
            if image is None:
                continue
            # Shown at its own size (as on the web), or scaled down to the column width
            # with full-resolution pixels on high-DPI screens.
            target = min(IMAGE_MAX_WIDTH, self._body_width())
            if image.width() > target:
                pixels = min(image.width(), round(target * self.devicePixelRatioF()))
                image = image.scaledToWidth(pixels, Qt.TransformationMode.SmoothTransformation)
                image.setDevicePixelRatio(pixels / target)  # logical width: the column
            doc.addResource(
                QTextDocument.ResourceType.ImageResource, QUrl(f"image:{match[1]}"), image
            )

    def _remember_doc(self, part: Part) -> None:
        self._docs[id(part)] = part
        while len(self._docs) > DOC_CACHE:
            old_id, old = self._docs.popitem(last=False)
            self._pixmaps.forget(old_id)
            old.doc = None  # keep the height; the document is rebuilt if it is seen again

    def _forget_doc(self, part: Part) -> None:
        self._docs.pop(id(part), None)
        self._pixmaps.forget(id(part))
        part.doc = None

    def _forget_row_docs(self, row: Row) -> None:
        for part in row.parts():
            self._forget_doc(part)

    def _drop_docs(self) -> None:
        for part in self._docs.values():
            part.doc = None
        self._docs.clear()
        self._pixmaps.clear()

    def _fonts_changed(self) -> None:
        self._body_font = QFont(self.font())
        self._header_font = QFont(self.font())
        self._header_font.setBold(True)
        self._small_font = QFont(self.font())
        self._small_font.setPointSizeF(max(6.0, self.font().pointSizeF() * 0.85))
        fm = QFontMetrics(self._body_font)
        self._line_h = fm.lineSpacing()
        self._char_w = max(1.0, fm.averageCharWidth() * 1.05)
        self._header_h = QFontMetrics(self._header_font).height() + 4
        self._footer_h = QFontMetrics(self._small_font).height() + 6

    def _card_rect(self, index: int, top: int) -> QRect:
        vw = self.viewport().width()
        width = min(vw - 2 * MARGIN, MAX_BODY_WIDTH + 2 * PAD)
        x = max(MARGIN, (vw - width) // 2)
        return QRect(x, top + MARGIN // 2, width, self._heights[index] - MARGIN)

    def _body_width(self) -> int:
        vw = self.viewport().width() if self.viewport() is not None else 600
        return max(60, min(vw - 2 * MARGIN, MAX_BODY_WIDTH + 2 * PAD) - 2 * PAD)

    def _body_origin(self, index: int, top: int) -> QPoint:
        """Top-left of a row's body, for a row whose top is at ``top``."""
        card = self._card_rect(index, top)
        return QPoint(card.x() + PAD, card.y() + PAD + self._header_h + HEADER_GAP)

    def _part_origins(
        self, index: int, y0: int = 0, y1: int = 1 << 60
    ) -> list[tuple[Part, QPoint, int]]:
        """Parts meeting ``y0..y1`` (content coordinates) with their top-left there."""
        origin = self._body_origin(index, self._heights.offset(index))
        row = self._rows[index]
        return [
            (part, QPoint(origin.x(), origin.y() + top), k)
            for part, top, k in row.visible(y0 - origin.y(), y1 - origin.y())
        ]

    def _set_height(self, index: int, height: int) -> None:
        old = self._heights[index]
        if old == height:
            return
        self._heights.set(index, height)
        # A row above the viewport changed: keep what the user looks at still.
        if not self._stick and self._rows:
            value = self.verticalScrollBar().value()
            if self._heights.offset(index) + old <= value:
                self._update_scrollbar()
                self._scroll_by(height - old)

    def _update_scrollbar(self) -> None:
        bar = self.verticalScrollBar()
        page = self.viewport().height()
        self._programmatic += 1
        try:
            bar.setPageStep(page)
            bar.setSingleStep(max(20, self._line_h * 3))
            bar.setRange(0, max(0, self._heights.total() - page))
        finally:
            self._programmatic -= 1

    def _scroll_by(self, dy: int) -> None:
        bar = self.verticalScrollBar()
        self._programmatic += 1
        try:
            bar.setValue(bar.value() + dy)
        finally:
            self._programmatic -= 1

    def _scroll_to_bottom(self) -> None:
        self._scroll_anim.stop()
        bar = self.verticalScrollBar()
        self._programmatic += 1
        try:
            bar.setValue(bar.maximum())
        finally:
            self._programmatic -= 1

    def _prepare_visible(self) -> None:
        """Lay out the rows in the viewport; settle the scroll position."""
        if not self._rows:
            return
        vh = self.viewport().height()
        for _ in range(4):
            self._update_scrollbar()
            if self._stick:
                self._scroll_to_bottom()
            value = self.verticalScrollBar().value()
            first = self._heights.row_at(value)
            total_before = self._heights.total()
            i = first
            while i < len(self._rows):
                top = self._heights.offset(i)
                if top >= value + vh:
                    break
                row = self._rows[i]
                width = self._body_width()
                body_top = self._body_origin(i, top).y()
                view = (value - body_top, value + vh - body_top)
                if not row.exact or any(
                    p.width != width or p.doc is None for p, _, _ in row.visible(*view)
                ):
                    self._relayout_row(i, view if row.exact else None)
                i += 1
            if self._heights.total() == total_before:
                break
        self._update_scrollbar()
        if self._stick:
            self._scroll_to_bottom()

    def _after_rows_changed(self) -> None:
        """Settle the scroll range and position after rows changed; repaint."""
        self._update_scrollbar()
        if self._stick:
            self._scroll_to_bottom()
        self._update_overlays()
        self.viewport().update()

    def _update_overlays(self) -> None:
        """Place the widgets over the viewport (the interaction part has them)."""

    def _replace_row(self, index: int, msg: DisplayMessage) -> None:
        """A fresh row for ``msg`` in place of row ``index`` (its tool calls stay expanded)."""
        old = self._rows[index]
        self._forget_row_docs(old)
        new = self._new_row(msg)
        new.expanded_tools = old.expanded_tools
        self._rows[index] = new
        self._set_height(index, self._estimate(new))

    def _theme_from_palette(self) -> Theme:
        base = self.palette().color(QPalette.ColorRole.Base)
        return Theme.dark_theme() if base.lightness() < 128 else Theme.light()

    def _restyle(self) -> None:
        theme = self._theme_from_palette()
        if self._renderer_ is None or theme == self._renderer.theme:
            return
        self._renderer.theme = theme
        self._drop_docs()
        for row in self._rows:
            if row.stream is not None:
                text = row.stream.text
                row.ctx = RenderContext(loaded=row.ctx.loaded)
                row.stream = StreamRender(self._renderer, row.ctx)
                row.stream.feed(text)
            row.body = None
            row.tail = None
            row.exact = False
        self.viewport().update()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._restyle()
        elif event.type() == QEvent.Type.FontChange:
            self._fonts_changed()
            self._drop_docs()
            for row in self._rows:
                row.exact = False
                row.body = None  # rebuilt (and re-measured) when next shown
                row.tail = None
        super().changeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._after_rows_changed()

    def on_countdown_timeout(self) -> None:
        running = False
        for i, row in enumerate(self._rows):
            if row.msg.retry_at is None or row.body is None:
                continue
            running = running or countdown_running(row.msg)
            self._render_extras(row)
            self._relayout_row(i)
        if not running:
            self._countdown.stop()
        self.viewport().update()
