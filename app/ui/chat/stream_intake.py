"""The conversation view's stream intake: deltas in, rendered once per frame.

``append_delta`` only buffers (:class:`StreamBuffer`); the shared :class:`FrameScheduler`
calls ``flush_pending`` on one waiting view per tick, which feeds each live row's
:class:`StreamRender` within a time budget: finished markdown blocks join the row's body
once, the open tail is re-rendered. After a stall the backlog is spread over frames.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWidget

from app.ui.chat.layout import RowLayout
from app.ui.chat.markdown_render import StreamRender
from app.ui.chat.messages import DisplayMessage, Status
from app.ui.chat.rows import Part, body_part
from app.ui.chat.stream_buffer import FrameScheduler, StreamBuffer

# Markdown work per stream per frame; after a stall the backlog is spread over frames.
FRAME_BUDGET_S = 0.006


class StreamIntake(RowLayout):
    """Streaming rows: ``start_stream``, ``append_delta`` (buffers only), ``finish_stream``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._buffer = StreamBuffer()
        self._behind: set[int] = set()  # streams with finished blocks still to render
        self._scheduler = FrameScheduler.shared()

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
        else:  # the text differs from what streamed: shown whole
            row.stream = None
            self._replace_row(i, final)
            self._after_rows_changed()

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
            self._text_grew(message_id)
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

    def _text_grew(self, message_id: int) -> None:
        """A streaming message's text grew this frame (the view tells screen readers)."""

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
