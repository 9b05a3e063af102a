"""How a streamed answer reaches the screen: one presenter for chat and compare.

A :class:`StreamPresenter` takes a core stream's events, the chat flow's
(:class:`~app.core.chat.MessageSaved`, ``AnswerDelta``, ``AnswerFinished``) or a comparison
column's (``ColumnStarted``, ``ColumnDelta``, ``ColumnFinished``), and drives one
:class:`StreamTarget` (a :class:`~app.ui.chat.message_view.ConversationView`) with the
store's integer message ids::

    presenter = StreamPresenter(view, display=display_message)
    async for event in session.send("Hello", target):
        presenter.on_chat_event(event)

The answer so far lives in one place, the target's streaming row: the presenter keeps
only which message streams, and passes each delta straight on. The target coalesces
them (``append_delta`` only buffers; the shared frame scheduler renders once per frame),
so the hot path stays two calls deep.

``display_message`` maps a store row onto the view's :class:`DisplayMessage`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from app.core import moderation
from app.core.chat import TOOL_CALL_PART, AnswerDelta, AnswerFinished, ChatEvent, MessageSaved
from app.core.remote_images import attachment_url
from app.store import Message, MessageStatus
from app.ui.chat.messages import Attached, DisplayMessage, Role, Status, ToolCall, Usage

if TYPE_CHECKING:  # app.core.compare loads the wire types (pydantic): not before the paint
    from app.core.compare import Column, CompareEvent

NO_ROW = 0
"""The id of a failure shown without an answer row (the store's ids start at 1)."""

_ROLES = {r.value: r for r in Role}


class StreamTarget(Protocol):
    """What a presenter drives; :class:`ConversationView` is one."""

    def set_messages(self, messages: list[DisplayMessage]) -> None: ...
    def show_message(self, message: DisplayMessage) -> None: ...  # add, or replace by id
    def start_stream(self, message_id: int) -> None: ...
    def append_delta(self, message_id: int, text: str) -> None: ...  # cheap: buffers only
    def message_ids(self) -> list[int]: ...
    def keep_until(self, message_id: int | None) -> None: ...  # drop the rows below it
    def finish_stream(self, message_id: int, final: DisplayMessage) -> None: ...


Display = Callable[[Message], DisplayMessage]


class StreamPresenter:
    """Maps one target's stream events onto it.

    ``display`` turns a store row into what the target shows (the chat panel adds branch
    positions and cached images; a comparison column its label). With ``single`` the
    target shows only the current answer (a comparison column): a new answer replaces it.
    """

    def __init__(
        self, target: StreamTarget, display: Display | None = None, *, single: bool = False
    ) -> None:
        self.target = target
        self.display: Display = display or display_message
        self.single = single
        self.message_id: int | None = None  # the answer streaming now

    @property
    def streaming(self) -> bool:
        return self.message_id is not None

    # --- the chat flow's events --------------------------------------------------------------
    def on_chat_event(self, event: ChatEvent) -> None:
        if type(event) is AnswerDelta:  # the hot path first
            self.delta(event.text)
        elif isinstance(event, MessageSaved):
            self.saved(event.message)
        elif isinstance(event, AnswerFinished):
            self.finished(event.message)

    # --- a comparison column's events --------------------------------------------------------
    def on_column_event(self, event: CompareEvent, column: Column, *, model: str = "") -> None:
        """``column`` is the event's column; ``model`` labels a failure without a row.
        ``ColumnWaiting`` is the column header's business, not the view's: ignored.
        (A listener may call :meth:`delta` itself for ``ColumnDelta``, the hot path.)"""
        from app.core.compare import ColumnDelta, ColumnFinished, ColumnStarted

        if type(event) is ColumnDelta:
            self.delta(event.text)
        elif isinstance(event, ColumnStarted) and column.message is not None:
            self.saved(column.message)
        elif isinstance(event, ColumnFinished):
            if column.message is not None:
                self.finished(column.message)
            elif column.error is not None:
                self.failed(column.error.message, model=model)

    # --- what both come down to ----------------------------------------------------------------
    def saved(self, message: Message) -> None:
        """A row exists in the store: shown; an answer that streams starts its stream.

        A new row is a turn on the path shown: what stood below its parent there (the
        answer it regenerates, the question it edits, and their follow-ups) is another
        branch now, reached with the "‹ 2/2 ›" switcher, so it leaves the view."""
        if not self.single:
            shown = self.target.message_ids()
            if message.id not in shown and (
                message.parent_id is None or message.parent_id in shown
            ):
                self.target.keep_until(message.parent_id)
        self._show(self.display(message))
        if message.status is MessageStatus.STREAMING:
            self.message_id = message.id
            self.target.start_stream(message.id)

    def delta(self, text: str) -> None:
        if self.message_id is not None:
            self.target.append_delta(self.message_id, text)

    def finished(self, message: Message) -> None:
        """The answer's final row (complete, stopped, interrupted or failed)."""
        live, self.message_id = self.message_id, None
        shown = self.display(message)
        if live == message.id:
            self.target.finish_stream(live, shown)
        else:
            self._show(shown)

    def failed(self, error: str, *, model: str = "") -> None:
        """The stream ended before any answer row existed (nothing was saved)."""
        self.message_id = None
        self._show(
            DisplayMessage(NO_ROW, Role.ASSISTANT, model=model, status=Status.ERROR, error=error)
        )

    def reset(self) -> None:
        """Forget the stream (the target was cleared for something else)."""
        self.message_id = None

    def _show(self, shown: DisplayMessage) -> None:
        if self.single:
            self.target.set_messages([shown])
        else:
            self.target.show_message(shown)


def display_message(message: Message, branch: tuple[int, int] = (0, 1)) -> DisplayMessage:
    """A store row as the view shows it."""
    error = message.error or {}
    retry_at = None
    if error.get("retry_after_s"):
        retry_at = dt.datetime.fromtimestamp(message.updated_at + float(error["retry_after_s"]))
    ttft = message.ttft_s * 1000 if message.ttft_s is not None else None
    rate = None
    if message.completion_tokens and message.latency_s and message.ttft_s is not None:
        gen = message.latency_s - message.ttft_s
        rate = message.completion_tokens / gen if gen > 0 else None
    return DisplayMessage(
        id=message.id,
        role=_ROLES.get(message.role, Role.ASSISTANT),
        text=message.text,
        model=message.model or "",
        status=Status(message.status.value),
        usage=Usage(
            tokens_in=message.prompt_tokens,
            tokens_out=message.completion_tokens,
            estimated=message.tokens_estimated,
            cost=message.cost,
            ttft_ms=ttft,
            tokens_per_s=rate,
        ),
        error=str(error.get("message", ""))
        if message.status in (MessageStatus.ERROR, MessageStatus.INTERRUPTED)
        else "",
        retry_at=retry_at,
        tool_calls=tuple(
            ToolCall(str(p.get("name", "")), str(p.get("arguments", "")), str(p.get("id", "")))
            for p in message.parts
            if p.get("type") == TOOL_CALL_PART
        ),
        note=_moderation_note(message),
        attachments=_attached(message),
        branch_index=branch[0],
        branch_count=branch[1],
    )


def _attached(message: Message) -> tuple[Attached, ...]:
    """The files sent with a user message, images with the key their bytes come under."""
    if message.role != "user":
        return ()
    found = []
    for part in message.parts:
        name = str(part.get("name") or "attachment")
        if part.get("type") == "image" and isinstance(part.get("blob"), dict):
            found.append(Attached(name, attachment_url(part)))
        elif part.get("type") == "text_file":
            found.append(Attached(name))
    return tuple(found)


def _moderation_note(message: Message) -> str:
    """Flagged categories with scores, or why it was not checked; nothing when all is fine."""
    verdict = moderation.verdict_in(message)
    if verdict is None or verdict.status == "ok":
        return ""
    return f"⚑ {verdict.summary()}" if verdict.flagged else verdict.summary()
