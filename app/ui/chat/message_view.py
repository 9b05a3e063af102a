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

The class joins its parts, each on :class:`~app.ui.chat.layout.RowLayout` (rows, heights,
documents, scrolling): ``stream_intake`` (deltas, per-frame render), ``painting`` and
``interaction`` (mouse, keys, context menu, action bar). This module adds the content API.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QAccessible, QImage, QPainter, QPalette
from PySide6.QtWidgets import QFrame, QWidget

from app.ui.chat import accessibility, highlight
from app.ui.chat.accessibility import MessageNode, notify_changed
from app.ui.chat.images import decode_image
from app.ui.chat.interaction import RowInteraction
from app.ui.chat.markdown_render import RenderContext
from app.ui.chat.messages import DisplayMessage, Status
from app.ui.chat.painting import RowPainter
from app.ui.chat.row_heights import RowHeights
from app.ui.chat.selection import RowSelection
from app.ui.chat.stream_intake import StreamIntake

# Markdown, then Pygments lexers (11-24 ms each), are warmed up one per tick after start-up.
WARMUP_FIRST_MS = 400
WARMUP_NEXT_MS = 30
# A formula with every size math uses (scripts, big operators, tall delimiters).
MATH_WARMUP = (
    r"$x^2_i$ $$\sum_{n=1}^{N} \int_0^1 \frac{\sqrt{a}}{b} \left(\frac{1}{n}\right)"
    r" \begin{pmatrix} a \\ b \end{pmatrix} \begin{cases} 1 \\ 2 \\ 3 \end{cases}$$"
)


class ConversationView(RowInteraction, RowSelection, RowPainter, StreamIntake):
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

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        accessibility.install(ConversationView)
        self._nodes: dict[int, MessageNode] = {}  # made only when a screen reader asks
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
        self._warmup = QTimer(self)
        self._math_cold = False  # set once Markdown is warm: the math step comes next
        self._warmup.setInterval(WARMUP_FIRST_MS)  # after start-up has painted
        self._warmup.timeout.connect(self.on_warmup_timeout)
        self._warmup.start()

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
            self._replace_row(i, msg)
        self._after_rows_changed()

    # --- what screen readers see (app.ui.chat.accessibility) -----------------------------------
    def row_index(self, message_id: int) -> int:
        """The message's position in the view (-1 when not shown)."""
        return self._index.get(message_id, -1)

    def card_rect(self, message_id: int) -> QRect:
        """The message's card in viewport coordinates (empty when not shown)."""
        index = self._index.get(message_id)
        if index is None:
            return QRect()
        return self._card_rect(
            index, self._heights.offset(index) - self.verticalScrollBar().value()
        )

    def message_at(self, pos: QPoint) -> int | None:
        index, _href = self._hit(pos)
        return self._rows[index].msg.id if 0 <= index < len(self._rows) else None

    def accessible_node(self, message_id: int) -> MessageNode:
        """The object a message's accessible interface wraps (made when first asked for)."""
        node = self._nodes.get(message_id)
        if node is None:
            node = self._nodes[message_id] = MessageNode(self, message_id)
        return node

    def _text_grew(self, message_id: int) -> None:
        if self._nodes:
            notify_changed(self, self._nodes.get(message_id), QAccessible.Event.ValueChanged)

    def _after_rows_changed(self) -> None:
        if self._nodes:
            for gone in [i for i in self._nodes if i not in self._index]:
                self._nodes.pop(gone).deleteLater()  # Qt drops its interface with it
        super()._after_rows_changed()

    @property
    def current_id(self) -> int | None:
        """The keyboard's current message (focus ring, action bar), if any."""
        return (
            self._rows[self._current_row].msg.id
            if 0 <= self._current_row < len(self._rows)
            else None
        )

    def is_on_screen(self, message_id: int) -> bool:
        """Whether the top of a message's card is within the viewport."""
        index = self._index.get(message_id)
        if index is None:
            return False
        top = self._heights.offset(index) - self.verticalScrollBar().value()
        return 0 <= top < self.viewport().height()

    def reveal_message(self, message_id: int) -> bool:
        """Scroll a message to the top of the view and make it current (a search hit)."""
        index = self._index.get(message_id)
        if index is None:
            return False
        self._stick = False
        self.select_row(index)
        self.verticalScrollBar().setValue(max(0, self._heights.offset(index) - 8))
        return True

    def mark_message(self, message_id: int | None) -> None:
        """Outline one message (the one being edited), or none."""
        if message_id != self._marked:
            self._marked = message_id
            self.viewport().update()

    @property
    def marked_id(self) -> int | None:
        return self._marked

    def keep_until(self, message_id: int | None) -> None:
        """Drop the rows below ``message_id`` (all rows for None): a new version of a
        message replaces the old one and what followed it on the path shown."""
        end = 0 if message_id is None else self._index.get(message_id, len(self._rows) - 1) + 1
        if end >= len(self._rows):
            return
        self._cancel_streams()
        for row in self._rows[end:]:
            self._scheduler_forget(row.msg.id)
            self._forget_row_docs(row)
        del self._rows[end:]
        self._reindex()
        self._heights = RowHeights(self._estimates(self._rows))
        if self._current_row >= len(self._rows):
            self._current_row = len(self._rows) - 1
        self._hide_actions()
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

    def sizeHint(self) -> QSize:
        return QSize(720, 600)

    def on_warmup_timeout(self) -> None:
        if self._warmup.interval() == WARMUP_FIRST_MS:
            self._warmup.setInterval(WARMUP_NEXT_MS)
            _ = self._renderer  # imports and builds Markdown (~40 ms) before it is needed
            self._math_cold = True
            return
        if self._math_cold:
            # The math fonts' first lookups (each size is a font of its own), table layout
            # and glyph drawing (~15 ms) happen now, not in the first answer with math.
            self._math_cold = False
            doc = self._blank_doc()
            doc.setHtml("".join(self._renderer.render_text(MATH_WARMUP, RenderContext())))
            doc.setTextWidth(600)
            image = QImage(8, 8, QImage.Format.Format_ARGB32_Premultiplied)
            painter = QPainter(image)
            doc.drawContents(painter)
            painter.end()
            return
        # One lexer per idle tick: each first use costs 11–24 ms, under a frame.
        if not highlight.warm_up_next():
            self._warmup.stop()
