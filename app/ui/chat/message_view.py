"""``ConversationView``: a custom scroll area that stays fast at any conversation length.

Rows keep their heights in prefix sums (:class:`RowHeights`); only rows in the viewport
are rendered and laid out (QTextDocuments are created lazily, per markdown block, and
evicted LRU), so opening 2,000 messages or re-wrapping on resize touches a handful of
documents. A streaming row appends finished blocks and re-renders only its tail, once
per frame (:class:`FrameScheduler`).

The view never opens, fetches or deletes anything itself: it emits signals carrying the
message id and the app acts. Actions live on a hover bar of real buttons (objectNames,
accessible names), in a context menu, and on keys (Up/Down pick a message, Ctrl+C copy,
Delete, Alt+Left/Right switch branch, Menu/Shift+F10 for everything else).
"""

from __future__ import annotations

import html as html_lib
import math
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from PySide6.QtCore import (
    QEasingCurve,
    QEvent,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    QUrl,
    QVariantAnimation,
    Signal,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QCloseEvent,
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QTextDocument,
    QTextLine,
    QTextOption,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QFrame,
    QMenu,
    QToolButton,
    QWidget,
)

from app.ui.chat import highlight
from app.ui.chat.action_bar import ActionBar
from app.ui.chat.footer import countdown_running, error_text, footer_text
from app.ui.chat.images import decode_image
from app.ui.chat.markdown_render import (
    MarkdownRenderer,
    RenderContext,
    StreamRender,
    Theme,
    is_safe_url,
)
from app.ui.chat.messages import DisplayMessage, Role, Status
from app.ui.chat.row_heights import RowHeights
from app.ui.chat.rows import NO_PARTS, Part, Row, body_part
from app.ui.chat.stream_buffer import FrameScheduler, StreamBuffer

MARGIN = 12  # around each message card
PAD = 10  # inside a card
HEADER_GAP = 4
MAX_BODY_WIDTH = 860  # readable line length; wider windows centre the column
DOC_CACHE = 400  # QTextDocuments kept alive (the rest keep only their measured height)
IMAGE_MAX_WIDTH = 480
# Markdown work per stream per frame; after a stall the backlog is spread over frames.
FRAME_BUDGET_S = 0.006
# Markdown, then Pygments lexers (11-24 ms each), are warmed up one per tick after start-up.
WARMUP_FIRST_MS = 400
WARMUP_NEXT_MS = 30
_IMAGE_SRC = re.compile(r'src="image:(\d+)"')
_HREF = re.compile(r'<a [^>]*href="([^"]+)"')


def _cursor_x(line: QTextLine, position: int) -> float:
    x: Any = line.cursorToX(position)  # PySide6 returns (x, position)
    return float(x[0] if isinstance(x, tuple) else x)


class ConversationView(QAbstractScrollArea):
    """The message list (objectName ``messageList``).

    Content: ``set_messages(list)``, ``prepend_messages(list)`` (after ``older_requested``),
    ``append_message(msg)``, ``update_message(msg)``, ``show_message(msg)`` (either),
    ``remove_message(id)``.
    Streaming: ``start_stream(id)`` on an appended row, ``append_delta(id, text)`` (buffers
    only), ``finish_stream(id, final)``. Images: ``set_image(url, bytes)`` after
    ``image_requested``. Also ``copy_message``, ``copy_code``, ``toggle_tool_call``,
    ``select_row``, ``scroll_to_bottom``, ``message(id)``, ``message_ids()``,
    ``message_links(id)``, ``build_context_menu(row)``, ``anchor_rects(id)``.

    Signals carry the message id; the app implements them. Only ``link_activated``
    carries a URL to open, and only ever an http(s) one.
    """

    link_activated = Signal(QUrl)  # only http(s); the app opens it
    image_requested = Signal(int, QUrl)  # message id, image URL: fetch, then set_image()
    older_requested = Signal()  # scrolled to the top: prepend_messages() older ones
    delete_requested = Signal(int)
    read_aloud_requested = Signal(int)
    edit_requested = Signal(int)  # user messages: edit and resend
    regenerate_requested = Signal(int)  # assistant messages
    retry_requested = Signal(int)
    branch_requested = Signal(int, int)  # message id, -1 previous / +1 next
    message_copied = Signal(int)
    code_copied = Signal(int, int)  # message id, code block index

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageList")
        self.setAccessibleName("Messages")
        self.setAccessibleDescription(
            "Conversation messages. Up and Down select a message; the context menu key lists its actions."
        )
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.viewport().setMouseTracking(True)
        self.viewport().setAutoFillBackground(True)
        self.viewport().setBackgroundRole(QPalette.ColorRole.Base)

        self._rows: list[Row] = []
        self._index: dict[int, int] = {}
        self._heights = RowHeights()
        self._docs: OrderedDict[int, Part] = OrderedDict()
        self._images: dict[str, QImage] = {}
        self._renderer_: MarkdownRenderer | None = None  # imports Markdown when first used
        self._buffer = StreamBuffer()
        self._behind: set[int] = set()  # streams with finished blocks still to render
        self._scheduler = FrameScheduler.shared()
        self._stick = True
        self._programmatic = 0
        self._older_pending = False
        self._hover_row = -1
        self._current_row = -1
        self._pressed_anchor: tuple[int, str] | None = None
        self._fonts_changed()

        self._actions = ActionBar(self.viewport())
        self._actions.hide()
        self._jump = QToolButton(self.viewport())
        self._jump.setObjectName("jumpToLatestButton")
        self._jump.setText("↓ Jump to latest")
        self._jump.setAccessibleName("Jump to latest message")
        self._jump.hide()
        self._scroll_anim = QVariantAnimation(self)
        self._scroll_anim.setDuration(140)
        self._scroll_anim.setEasingCurve(QEasingCurve.Type.OutCubic)
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._warmup = QTimer(self)
        self._warmup.setInterval(WARMUP_FIRST_MS)  # after start-up has painted
        self._connect_signals()
        self._warmup.start()

    def _connect_signals(self) -> None:
        bar = self._actions
        for button, signal in (
            (bar.read_aloud, self.read_aloud_requested),
            (bar.edit, self.edit_requested),
            (bar.regenerate, self.regenerate_requested),
            (bar.retry, self.retry_requested),
            (bar.delete, self.delete_requested),
        ):
            button.clicked.connect(self._bar_action(signal.emit))
        bar.copy.clicked.connect(self._bar_action(self.copy_message))
        bar.branch_prev.clicked.connect(self._bar_action(self.branch_requested.emit, -1))
        bar.branch_next.clicked.connect(self._bar_action(self.branch_requested.emit, 1))
        self._jump.clicked.connect(self.on_jump_clicked)
        self.verticalScrollBar().valueChanged.connect(self.on_scroll_value_changed)
        self._scroll_anim.valueChanged.connect(self.on_scroll_anim_value_changed)
        self._countdown.timeout.connect(self.on_countdown_timeout)
        self._warmup.timeout.connect(self.on_warmup_timeout)

    def _bar_action(self, action: Callable[..., object], *args: int) -> Callable[[], None]:
        """A hover-bar button's slot: ``action`` on the message the bar is over."""

        def run() -> None:
            if self._actions.message_id is not None:
                action(self._actions.message_id, *args)

        return run

    # ------------------------------------------------------------------ public API

    def set_messages(self, messages: list[DisplayMessage]) -> None:
        """Replace the conversation; shows the end (latest message)."""
        self._cancel_streams()
        self._drop_docs()
        self._rows = [self._new_row(m) for m in messages]
        self._reindex()
        self._heights = RowHeights(self._estimates(self._rows))
        self._stick = True
        self._older_pending = False
        self._current_row = -1
        self._hide_actions()
        self._after_rows_changed()

    def prepend_messages(self, messages: list[DisplayMessage]) -> None:
        """Insert older messages above; what is on screen stays where it is."""
        self._older_pending = False
        if not messages:
            return
        rows = [self._new_row(m) for m in messages]
        heights = self._estimates(rows)
        self._rows[:0] = rows
        self._reindex()
        self._heights.insert_front(heights)
        if self._current_row >= 0:
            self._current_row += len(rows)
        self._update_scrollbar()
        if not self._stick:
            self._scroll_by(sum(heights))
        self._after_rows_changed()

    def append_message(self, msg: DisplayMessage) -> None:
        row = self._new_row(msg)
        self._rows.append(row)
        self._index[msg.id] = len(self._rows) - 1
        self._heights.append(self._estimate(row))
        self._after_rows_changed()

    def show_message(self, msg: DisplayMessage) -> None:
        """Replace the row with ``msg``'s id, or append one."""
        if msg.id in self._index:
            self.update_message(msg)
        else:
            self.append_message(msg)

    def update_message(self, msg: DisplayMessage) -> None:
        """Replace one message's content or state (not for the text of a live stream)."""
        i = self._index.get(msg.id)
        if i is None:
            return
        old = self._rows[i]
        if old.stream is not None and msg.status is Status.STREAMING:
            # Footer/usage while streaming; the text keeps coming through deltas.
            old.msg = replace(msg, text=old.stream.text)
            self._render_extras(old)
        else:
            self._forget_row_docs(old)
            new = self._new_row(msg)
            new.expanded_tools = old.expanded_tools
            self._rows[i] = new
            self._set_height(i, self._estimate(new))
        self._after_rows_changed()

    def remove_message(self, message_id: int) -> None:
        i = self._index.pop(message_id, None)
        if i is None:
            return
        self._scheduler_forget(message_id)
        self._forget_row_docs(self._rows[i])
        del self._rows[i]
        self._reindex()
        self._heights.remove(i)
        if self._current_row >= len(self._rows):
            self._current_row = len(self._rows) - 1
        self._hide_actions()
        self._after_rows_changed()

    def start_stream(self, message_id: int) -> None:
        """Prepare the row (already appended) to receive deltas."""
        i = self._index.get(message_id)
        if i is None:
            return
        row = self._rows[i]
        row.msg = replace(row.msg, status=Status.STREAMING)  # our copy: text grows in it
        row.stream = StreamRender(self._renderer, row.ctx)
        row.stream.feed(row.msg.text)
        self._materialise(row)
        self._relayout_row(i)
        self._after_rows_changed()

    def append_delta(self, message_id: int, text: str) -> None:
        """Cheap: buffers only; the next frame renders everything buffered."""
        if text:
            self._buffer.add(message_id, text)
            self._scheduler.request(self)

    def finish_stream(self, message_id: int, final: DisplayMessage) -> None:
        """End the stream; ``final`` carries the status, usage and the whole text."""
        i = self._index.get(message_id)
        if i is None:
            return
        row = self._rows[i]
        pending = self._buffer.take_one(message_id)
        self._behind.discard(message_id)
        stream = row.stream
        if stream is not None and stream.text + pending == final.text:
            fed = stream.feed(pending)
            update = stream.finish()
            if row.body is not None:  # (else it is rendered whole when next shown)
                for html in fed.finished + update.finished:
                    row.append_body(body_part(html))
            if row.tail is not None:
                self._forget_doc(row.tail)
            row.tail = None
            row.stream = None
            row.msg = final
            self._render_extras(row)
            self._relayout_row(i)
            self._after_rows_changed()
        else:
            row.stream = None
            self.update_message(final)

    def flush_pending(self) -> None:
        """Render every buffered delta (called by the frame scheduler)."""
        changed = False
        pending = self._buffer.take()
        for message_id in self._behind - pending.keys():
            pending[message_id] = ""
        self._behind.clear()
        for message_id, text in pending.items():
            i = self._index.get(message_id)
            if i is None:
                continue
            row = self._rows[i]
            if row.stream is None:
                continue
            update = row.stream.feed(text, FRAME_BUDGET_S)
            if update.behind:
                self._behind.add(message_id)
                self._scheduler.request(self)
            row.msg.text = row.stream.text
            if row.body is None:  # restyled meanwhile: rebuilt from the stream when shown
                self._set_height(i, self._estimate(row))
                changed = True
                continue
            width = self._body_width()
            for html in update.finished:
                if row.tail is not None and row.tail.html == html and row.tail.width == width:
                    # The tail just became final unchanged: keep its laid-out document.
                    part, row.tail = row.tail, None
                    part.gap = body_part(html).gap
                else:
                    part = body_part(html)
                    self._measure(row, part, width)
                row.append_body(part)
            if update.tail is None:
                if row.tail is not None:
                    self._forget_doc(row.tail)
                row.tail = None
            elif row.tail is None:
                row.tail = Part(update.tail)
                self._measure(row, row.tail, width)
            elif row.tail.html != update.tail:
                self._reset_part(row, row.tail, update.tail, width)
            self._set_height(i, self._row_height(row))
            changed = True
        if changed:
            self._update_scrollbar()
            if self._stick:
                self._scroll_to_bottom()
            self.viewport().update()

    def set_image(self, url: str, data: bytes) -> bool:
        """Show an image the app fetched after ``image_requested``.

        False (and nothing shown) when the bytes are not a readable image or are too big
        to decode safely on the UI thread (see ``images.decode_image``).
        """
        image = decode_image(data)
        if image is None:
            return False
        self._images[url] = image
        for i, row in enumerate(self._rows):
            ctx = row._ctx
            if ctx is not None and (url in ctx.images or url in ctx.tail_images):
                row.ctx.loaded.add(url)
                if row.stream is None:
                    self._forget_row_docs(row)
                    row.body = None
                    row.exact = False
                    self._set_height(i, self._estimate(row))
        self._after_rows_changed()
        return True

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

    def copy_message(self, message_id: int) -> None:
        """Copy the message's text (its markdown source) to the clipboard."""
        msg = self.message(message_id)
        if msg is not None:
            QGuiApplication.clipboard().setText(msg.text)
            self.message_copied.emit(message_id)

    def copy_code(self, message_id: int, index: int) -> bool:
        i = self._index.get(message_id)
        code = None if i is None else self._rows[i].ctx.code(index)
        if code is None:
            return False
        QGuiApplication.clipboard().setText(code)
        self.code_copied.emit(message_id, index)
        return True

    def toggle_tool_call(self, message_id: int, index: int) -> None:
        i = self._index.get(message_id)
        if i is None:
            return
        row = self._rows[i]
        row.expanded_tools ^= {index}
        self._render_extras(row)
        self._relayout_row(i)
        self._after_rows_changed()

    def message_links(self, message_id: int) -> list[str]:
        """The message's http(s) links, in order, once each (keyboard access to them)."""
        i = self._index.get(message_id)
        if i is None:
            return []
        row = self._rows[i]
        self._materialise(row)
        seen: dict[str, None] = {}
        for part in row.parts():
            for url in _HREF.findall(part.html):
                url = html_lib.unescape(url)
                if is_safe_url(url):
                    seen.setdefault(url, None)
        return list(seen)

    def anchor_rects(self, message_id: int) -> list[tuple[str, QRect]]:
        """Anchors of a visible message in viewport coordinates (for tests and automation)."""
        i = self._index.get(message_id)
        if i is None:
            return []
        self._prepare_visible()
        out: list[tuple[str, QRect]] = []
        value = self.verticalScrollBar().value()
        for part, origin, k in self._part_origins(i):
            if part.doc is None:
                self._measure(self._rows[i], part, self._body_width(), k)
            assert part.doc is not None
            block = part.doc.begin()
            while block.isValid():
                it = block.begin()
                while not it.atEnd():
                    frag = it.fragment()
                    href = frag.charFormat().anchorHref()
                    if href:
                        layout = block.layout()
                        line = layout.lineForTextPosition(frag.position() - block.position())
                        if line.isValid():
                            x = _cursor_x(line, frag.position() - block.position())
                            pos = part.doc.documentLayout().blockBoundingRect(block).topLeft()
                            end = _cursor_x(
                                line, frag.position() + frag.length() - block.position()
                            )
                            r = QRectF(
                                origin.x() + pos.x() + x,
                                origin.y() + pos.y() + line.y() - value,
                                max(2.0, end - x),
                                line.height(),
                            )
                            out.append((href, r.toRect()))
                    it += 1
                block = block.next()
        return out

    # ------------------------------------------------------------------ rows

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
        elif row.msg.text:
            html = self._renderer.render_text(row.msg.text, row.ctx)
        else:
            html = []
        row.set_body([body_part(h) for h in html])
        self._render_extras(row)

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

    # ------------------------------------------------------------------ documents

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
        doc = QTextDocument()
        doc.setUndoRedoEnabled(False)
        doc.setDocumentMargin(0)
        doc.setDefaultFont(self._body_font)
        option = doc.defaultTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        doc.setDefaultTextOption(option)
        self._add_resources(row, doc, html)
        doc.setHtml(html)
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
            _, old = self._docs.popitem(last=False)
            old.doc = None  # keep the height; the document is rebuilt if it is seen again

    def _forget_doc(self, part: Part) -> None:
        self._docs.pop(id(part), None)
        part.doc = None

    def _forget_row_docs(self, row: Row) -> None:
        for part in row.parts():
            self._forget_doc(part)

    def _drop_docs(self) -> None:
        for part in self._docs.values():
            part.doc = None
        self._docs.clear()

    # ------------------------------------------------------------------ geometry

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
        if self._actions.message_id is not None:
            i = self._index.get(self._actions.message_id)
            if i is None:
                self._hide_actions()
            else:
                self._actions.configure(self._rows[i].msg)
        self._update_scrollbar()
        if self._stick:
            self._scroll_to_bottom()
        self._update_overlays()
        self.viewport().update()

    def _update_overlays(self) -> None:
        vp = self.viewport()
        self._jump.setVisible(not self._stick and bool(self._rows))
        if self._jump.isVisible():
            self._jump.adjustSize()
            size = self._jump.size()
            self._jump.move((vp.width() - size.width()) // 2, vp.height() - size.height() - 12)
            self._jump.raise_()
        row = self._hover_row if self._hover_row >= 0 else self._current_row
        if 0 <= row < len(self._rows):
            self._show_actions(row)
        else:
            self._hide_actions()

    def _show_actions(self, index: int) -> None:
        bar = self._actions
        msg = self._rows[index].msg
        if bar.message_id != msg.id or not bar.isVisible():
            bar.configure(msg)
        card = self._card_rect(
            index, self._heights.offset(index) - self.verticalScrollBar().value()
        )
        if (
            card.bottom() < bar.height() + PAD
            or card.top() > self.viewport().height() - bar.height()
        ):
            bar.hide()  # the row is off screen; its actions stay in the menu and on keys
            return
        # Pinned to the top edge while a tall message is scrolled, never below its card.
        y = min(max(0, card.top() + PAD // 2), card.bottom() - bar.height())
        bar.move(max(0, card.right() - bar.width() - PAD // 2), y)
        bar.show()
        bar.raise_()

    def _hide_actions(self) -> None:
        self._actions.hide()
        self._actions.message_id = None

    # ------------------------------------------------------------------ theme

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

    # ------------------------------------------------------------------ events

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

    def sizeHint(self) -> QSize:
        return QSize(720, 600)

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
        if msg.role is Role.USER:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.color(QPalette.ColorRole.AlternateBase))
            painter.drawRoundedRect(card, 8, 8)
        if index == self._current_row and self.hasFocus():
            painter.setPen(pal.color(QPalette.ColorRole.Highlight))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(card.adjusted(1, 1, -1, -1), 8, 8)
        # Header: role label, and the branch position when there are siblings.
        header = QRect(card.x() + PAD, card.y() + PAD, card.width() - 2 * PAD, self._header_h)
        painter.setFont(self._header_font)
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        painter.drawText(
            header, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, msg.role_label()
        )
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
            part.doc.documentLayout().draw(painter, ctx)
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

    # -- mouse

    def _hit(self, pos: QPoint) -> tuple[int, str]:
        """(row index, anchor href or "") under a viewport position; (-1, "") if none."""
        if not self._rows:
            return -1, ""
        y = pos.y() + self.verticalScrollBar().value()
        i = self._heights.row_at(y)
        if not (0 <= i < len(self._rows)) or y >= self._heights.total():
            return -1, ""
        for part, origin, _k in self._part_origins(i, y, y):
            if part.doc is None:
                continue
            local = QPointF(pos.x() - origin.x(), y - origin.y())
            if 0 <= local.y() < part.height and 0 <= local.x() <= part.width:
                return i, part.doc.documentLayout().anchorAt(local)
        return i, ""

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        row, href = self._hit(event.position().toPoint())
        if row != self._hover_row:
            self._hover_row = row
            self._update_overlays()
        vp = self.viewport()
        if href:
            vp.setCursor(Qt.CursorShape.PointingHandCursor)
            vp.setToolTip(href if is_safe_url(href) else "")
        else:
            vp.unsetCursor()
            vp.setToolTip("")
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._hover_row = -1
        self._update_overlays()
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        row, href = self._hit(event.position().toPoint())
        if row >= 0:
            self._current_row = row
        self._pressed_anchor = (
            (row, href) if href and event.button() == Qt.MouseButton.LeftButton else None
        )
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        row, href = self._hit(event.position().toPoint())
        if self._pressed_anchor == (row, href) and href:
            self.activate_anchor(self._rows[row].msg.id, href)
        self._pressed_anchor = None
        super().mouseReleaseEvent(event)

    def activate_anchor(self, message_id: int, href: str) -> None:
        """What clicking an anchor does: only http(s) leaves the view, as a signal."""
        i = self._index.get(message_id)
        if i is None:
            return
        row = self._rows[i]
        scheme, _, rest = href.partition(":")
        if scheme == "copy" and rest.isdigit():
            self.copy_code(message_id, int(rest))
        elif scheme == "tool" and rest.isdigit():
            self.toggle_tool_call(message_id, int(rest))
        elif scheme == "retry":
            self.retry_requested.emit(message_id)
        elif scheme == "loadimg" and rest.isdigit():
            url = row.ctx.image(int(rest))
            if url is not None and is_safe_url(url):
                self.image_requested.emit(message_id, QUrl(url))
        elif is_safe_url(href):
            self.link_activated.emit(QUrl(href))

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.angleDelta().y() > 0 or event.pixelDelta().y() > 0:
            self._stick = False  # the user reads upwards: streaming must not pull them down
        if not event.pixelDelta().isNull():
            self._scroll_anim.stop()
            self._user_scroll_to(self.verticalScrollBar().value() - event.pixelDelta().y())
        else:
            steps = event.angleDelta().y() / 120
            bar = self.verticalScrollBar()
            start = bar.value()
            end = (
                self._scroll_anim.endValue()
                if self._scroll_anim.state() == QVariantAnimation.State.Running
                else start
            )
            target = int(end) - int(steps * bar.singleStep())
            target = max(bar.minimum(), min(bar.maximum(), target))
            self._scroll_anim.stop()
            self._scroll_anim.setStartValue(start)
            self._scroll_anim.setEndValue(target)
            self._scroll_anim.start()
        event.accept()

    def _user_scroll_to(self, value: int) -> None:
        self.verticalScrollBar().setValue(value)

    # -- keyboard and menu

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        mods = event.modifiers()
        n = len(self._rows)
        cur = self._current_row if 0 <= self._current_row < n else n - 1
        if n and key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            step = -1 if key == Qt.Key.Key_Up else 1
            self.select_row(max(0, min(n - 1, cur + step)) if self._current_row >= 0 else cur)
        elif n and key == Qt.Key.Key_Home and mods & Qt.KeyboardModifier.ControlModifier:
            self.select_row(0)
        elif n and key == Qt.Key.Key_End and mods & Qt.KeyboardModifier.ControlModifier:
            self.select_row(n - 1)
            self.scroll_to_bottom()
        elif n and key == Qt.Key.Key_C and mods & Qt.KeyboardModifier.ControlModifier:
            self.copy_message(self._rows[cur].msg.id)
        elif n and key == Qt.Key.Key_Delete:
            self.delete_requested.emit(self._rows[cur].msg.id)
        elif (
            n
            and mods & Qt.KeyboardModifier.AltModifier
            and key in (Qt.Key.Key_Left, Qt.Key.Key_Right)
        ):
            msg = self._rows[cur].msg
            if msg.branch_count > 1:
                self.branch_requested.emit(msg.id, -1 if key == Qt.Key.Key_Left else 1)
        else:
            super().keyPressEvent(event)

    def select_row(self, index: int) -> None:
        """Make a message current (keyboard focus ring, action bar) and scroll it into view."""
        if not 0 <= index < len(self._rows):
            return
        self._current_row = index
        self._relayout_row(index)
        top = self._heights.offset(index)
        h = self._heights[index]
        bar = self.verticalScrollBar()
        vh = self.viewport().height()
        if top < bar.value():
            self._stick = False
            bar.setValue(top)
        elif top + h > bar.value() + vh:
            bar.setValue(min(top, top + h - vh))
        # Painted text is invisible to screen readers: say what the current message is.
        msg = self._rows[index].msg
        words = " ".join(msg.text.split())
        status = "" if msg.status is Status.COMPLETE else f" ({msg.status.value})"
        self.setAccessibleDescription(
            f"Message {index + 1} of {len(self._rows)}, {msg.role_label()}{status}: "
            f"{words[:500]}{'…' if len(words) > 500 else ''}"
        )
        self._update_overlays()
        self.viewport().update()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if event.reason() == QContextMenuEvent.Reason.Mouse:
            row, href = self._hit(event.pos())
        else:
            row, href = self._current_row if self._current_row >= 0 else len(self._rows) - 1, ""
        if not 0 <= row < len(self._rows):
            return
        menu = self.build_context_menu(row, href)
        pos = event.globalPos()
        if event.reason() != QContextMenuEvent.Reason.Mouse:
            card = self._card_rect(
                row, self._heights.offset(row) - self.verticalScrollBar().value()
            )
            pos = self.viewport().mapToGlobal(card.topLeft() + QPoint(PAD, PAD))
        menu.exec(pos)

    def build_context_menu(self, index: int, href: str = "") -> QMenu:
        """Every action of a message (the keyboard and screen-reader path to them)."""
        row = self._rows[index]
        msg = row.msg
        mid = msg.id
        menu = QMenu(self)
        menu.setObjectName("messageContextMenu")
        menu.setAccessibleName("Message actions")
        if href and is_safe_url(href):
            menu.addAction("Open link", lambda: self.link_activated.emit(QUrl(href)))
            menu.addAction("Copy link address", lambda: QGuiApplication.clipboard().setText(href))
            menu.addSeparator()
        menu.addAction("Copy message", lambda: self.copy_message(mid))
        for n in range(len(row.ctx.codes)):
            menu.addAction(f"Copy code block {n + 1}", partial(self.copy_code, mid, n))
        menu.addAction("Read aloud", lambda: self.read_aloud_requested.emit(mid))
        if msg.role is Role.USER:
            menu.addAction("Edit and resend", lambda: self.edit_requested.emit(mid))
        if msg.role is Role.ASSISTANT and msg.status is not Status.STREAMING:
            menu.addAction("Regenerate", lambda: self.regenerate_requested.emit(mid))
        if msg.status in (Status.ERROR, Status.INTERRUPTED):
            menu.addAction("Retry", lambda: self.retry_requested.emit(mid))
        if msg.branch_count > 1:
            prev = menu.addAction("Previous version", lambda: self.branch_requested.emit(mid, -1))
            prev.setEnabled(msg.branch_index > 0)
            nxt = menu.addAction("Next version", lambda: self.branch_requested.emit(mid, 1))
            nxt.setEnabled(msg.branch_index < msg.branch_count - 1)
        for n, call in enumerate(msg.tool_calls):
            verb = "Collapse" if n in row.expanded_tools else "Expand"
            menu.addAction(f"{verb} tool call {call.name}", partial(self.toggle_tool_call, mid, n))
        for n, url in enumerate(row.ctx.images):
            if url not in row.ctx.loaded:
                menu.addAction(
                    f"Load image {n + 1}", partial(self.image_requested.emit, mid, QUrl(url))
                )
        links = self.message_links(mid)
        if links and not href:
            sub = menu.addMenu("Open link")
            sub.setObjectName("openLinkMenu")
            for url in links[:20]:
                label = url if len(url) <= 70 else url[:67] + "…"
                sub.addAction(label, partial(self.link_activated.emit, QUrl(url)))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete_requested.emit(mid))
        return menu

    # ------------------------------------------------------------------ slots

    def on_scroll_value_changed(self, value: int) -> None:
        if not self._programmatic:
            bar = self.verticalScrollBar()
            self._stick = value >= bar.maximum() - 2
            if value <= 0 and self._rows and not self._older_pending:
                self._older_pending = True
                self.older_requested.emit()
        self._update_overlays()
        self.viewport().update()

    def on_scroll_anim_value_changed(self, value: object) -> None:
        if isinstance(value, int):
            self._user_scroll_to(value)

    def on_jump_clicked(self) -> None:
        self.scroll_to_bottom()

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

    @property
    def _renderer(self) -> MarkdownRenderer:
        if self._renderer_ is None:
            self._renderer_ = MarkdownRenderer(self._theme_from_palette())
        return self._renderer_

    def on_warmup_timeout(self) -> None:
        if self._warmup.interval() == WARMUP_FIRST_MS:
            self._warmup.setInterval(WARMUP_NEXT_MS)
            _ = self._renderer  # imports and builds Markdown (~40 ms) before it is needed
            return
        # One lexer per idle tick: each first use costs 11–24 ms, under a frame.
        if not highlight.warm_up_next():
            self._warmup.stop()

    # ------------------------------------------------------------------ teardown

    def _cancel_streams(self) -> None:
        self._buffer.take()
        self._behind.clear()
        self._scheduler.cancel(self)

    def _scheduler_forget(self, message_id: int) -> None:
        self._buffer.take_one(message_id)
        self._behind.discard(message_id)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._cancel_streams()
        super().closeEvent(event)
