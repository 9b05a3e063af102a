"""The chat flow: build the request from the conversation, stream, persist, account.

A :class:`ChatSession` works on one conversation. ``send``, ``regenerate`` and ``edit``
are async generators of :class:`ChatEvent` values that the UI renders as they come:

    async for event in session.send("Hello", target=Target("openai", "gpt-4o")):
        ...

Every answer is in the store from its first byte (status ``streaming``, written while it
streams by the store's throttle) and ends ``complete``, ``stopped`` (the task was
cancelled), ``interrupted`` (the stream broke; the partial text is kept) or ``error``.
Cancellation always propagates after the stopped answer is saved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from app import log
from app.api.errors import ApiError, InsufficientCreditsError, StreamInterruptedError
from app.core.clients import ClientPool, ProviderUnavailable
from app.core.metered import metered
from app.core.usage import credits_message
from app.store import CURRENT_LEAF, Message, MessageStatus, Store, StoreWriteError
from app.store import Usage as StoredUsage

if TYPE_CHECKING:  # the wire types (pydantic) load with the first call, not at start-up
    from app.api import ChatRequest, ChatStream, CompletionStream, ProviderProfile
    from app.api import Usage as ApiUsage

_log = log.get("core.chat")

TITLE_LENGTH = 60


@dataclass(frozen=True)
class Target:
    """Which provider and model answer."""

    provider_id: str
    model: str


def text_file_block(name: str, text: str) -> str:
    """How an attached text file is inlined into the prompt."""
    return f"File `{name}`:\n\n```\n{text}\n```"


@dataclass(frozen=True)
class Attachment:
    """Input the user attached: an image (sent as a vision part) or a text file (inlined)."""

    name: str
    mime: str
    data: bytes

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    def as_text_block(self) -> str:
        return text_file_block(self.name, self.data.decode("utf-8", errors="replace"))


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageSaved:
    """A message now exists in the store (the user's, or an answer's first row)."""

    message: Message


@dataclass(frozen=True)
class AnswerDelta:
    """New text for a streaming answer; ``text`` is only what arrived."""

    message_id: int
    text: str


@dataclass(frozen=True)
class AnswerFinished:
    """The answer's final row; ``error`` is set when it ended in ``error`` or ``interrupted``."""

    message: Message
    error: ErrorInfo | None = None


ChatEvent = MessageSaved | AnswerDelta | AnswerFinished


@dataclass(frozen=True)
class ErrorInfo:
    """An error in plain words, stored with the message and shown inline."""

    kind: str
    message: str
    status: int | None = None
    retry_after_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "status": self.status,
            "retry_after_s": self.retry_after_s,
            **self.extra,
        }

    @classmethod
    def from_exception(cls, error: BaseException) -> ErrorInfo:
        if isinstance(error, ApiError):
            retry = getattr(error, "retry_after", None)
            return cls(type(error).__name__, error.user_message, error.status, retry)
        if isinstance(error, ProviderUnavailable):
            return cls("ProviderUnavailable", error.user_message)
        if isinstance(error, StoreWriteError):
            return cls("StoreWriteError", str(error))
        return cls(type(error).__name__, f"Unexpected error: {error}")


# --- session -----------------------------------------------------------------------------


COMPLETION_PARAMS = frozenset(
    {"temperature", "top_p", "n", "stop", "max_tokens", "presence_penalty", "frequency_penalty",
     "logit_bias", "user", "seed"}
)  # fmt: skip
TOOL_CALL_PART = "tool_call"


def tool_call_part(call: Any) -> dict[str, Any]:
    """A finished tool call as a message part (shown as a collapsible block)."""
    return {
        "type": TOOL_CALL_PART,
        "id": call.id,
        "name": call.function.name,
        "arguments": call.function.arguments,
    }


def _choice_text(choice: Any) -> str:
    message = getattr(choice, "message", None)
    return (message.content or "") if message is not None else str(getattr(choice, "text", ""))


class ChatSession:
    """Sends, regenerates and edits within one conversation (created on the first send)."""

    def __init__(
        self,
        store: Store,
        clients: ClientPool,
        conversation_id: int | None = None,
        *,
        params: dict[str, Any] | None = None,
        system_prompt: str = "",
    ) -> None:
        self.store = store
        self.clients = clients
        self.conversation_id = conversation_id
        self.params: dict[str, Any] = dict(params or {})
        self.system_prompt = system_prompt

    async def send(
        self, text: str, target: Target, attachments: Sequence[Attachment] = ()
    ) -> AsyncIterator[ChatEvent]:
        """Append the user's message after the current leaf and stream the answer."""
        if self.conversation_id is None:
            title = " ".join(text.split())[:TITLE_LENGTH] or (
                attachments[0].name if attachments else "New chat"
            )
            conversation = await self.store.create_conversation(
                title, provider=target.provider_id, model=target.model,
                system_prompt=self.system_prompt, params=self.params,
            )  # fmt: skip
            self.conversation_id = conversation.id
        parts = await self._parts(attachments)
        user = await self.store.add_message(
            self.conversation_id, "user", text, parent_id=CURRENT_LEAF, parts=parts
        )
        yield MessageSaved(user)
        async for event in self._answer(user, target):
            yield event

    async def edit(self, message_id: int, text: str, target: Target) -> AsyncIterator[ChatEvent]:
        """A new version of a user message (a sibling; the old one stays as a branch), answered."""
        original = self.store.get_message(message_id)
        user = await self.store.add_message(
            original.conversation_id,
            "user",
            text,
            parent_id=original.parent_id,
            parts=original.parts,
        )
        yield MessageSaved(user)
        async for event in self._answer(user, target):
            yield event

    async def regenerate(self, message_id: int, target: Target) -> AsyncIterator[ChatEvent]:
        """Another answer to the same prompt, as a sibling of ``message_id``."""
        answer = self.store.get_message(message_id)
        if answer.parent_id is None:
            raise ValueError("only an answer to a message can be regenerated")
        parent = self.store.get_message(answer.parent_id)
        async for event in self._answer(parent, target):
            yield event

    async def answer(self, prompt: Message, target: Target) -> AsyncIterator[ChatEvent]:
        """A new answer to an existing message (a comparison column asks this of each model)."""
        async for event in self._answer(prompt, target):
            yield event

    # --- internals ---------------------------------------------------------------------------
    async def _answer(self, prompt: Message, target: Target) -> AsyncIterator[ChatEvent]:
        assert self.conversation_id is not None or prompt.conversation_id
        conversation_id = prompt.conversation_id
        answer = await self.store.start_message(
            conversation_id,
            "assistant",
            parent_id=prompt.id,
            model=target.model,
            provider=target.provider_id,
        )
        yield MessageSaved(answer)
        text = ""
        info: ErrorInfo | None = None
        started = time.perf_counter()
        try:
            async with metered(
                self.store, self.clients, target.provider_id, "chat", target.model,
                conversation_id=conversation_id, message_id=answer.id,
            ) as meter:  # fmt: skip
                stream: ChatStream | CompletionStream | None = None
                try:
                    profile = self.clients.profile(target.provider_id)
                    if self.mode == "completion":
                        stream = meter.client.stream_complete(
                            target.model, prompt.text, **self._completion_params()
                        )
                    else:
                        request = self._request(self._history(prompt), target, profile)
                        stream = meter.client.stream_chat(request)
                    from app.api.types import CompletionDelta

                    async with stream:
                        async for delta in stream:
                            piece = (
                                delta.text if isinstance(delta, CompletionDelta) else delta.content
                            )
                            if delta.index != 0 or not piece:
                                continue  # other choices (n > 1) are kept as branches at the end
                            text += piece
                            self.store.update_streaming(answer.id, text)
                            yield AnswerDelta(answer.id, piece)
                    result = stream.result
                    meter.ok(result)
                    final = await self._finish(
                        answer, result.text or text, MessageStatus.COMPLETE, result, started,
                        cost=meter.cost,
                    )  # fmt: skip
                    for other in result.choices[1:]:
                        await self.store.add_message(
                            conversation_id, "assistant", _choice_text(other), parent_id=prompt.id,
                            model=target.model, provider=target.provider_id,
                            finish_reason=other.finish_reason, make_current=False,
                        )  # fmt: skip
                except asyncio.CancelledError:
                    # Save what arrived as "stopped" even while being cancelled, then let it
                    # through (the meter writes the stopped call, billed for what arrived).
                    arrived = stream.result if stream is not None else None
                    meter.stopped(arrived)
                    await asyncio.shield(
                        self._finish(
                            answer, text, MessageStatus.STOPPED, arrived, started, cost=meter.cost
                        )
                    )
                    raise
                except StreamInterruptedError as exc:
                    meter.fail(exc, result=exc.partial, status=MessageStatus.INTERRUPTED.value)
                    partial = exc.partial.text if exc.partial is not None else ""
                    info = ErrorInfo.from_exception(exc)
                    final = await self._finish(
                        answer, partial or text, MessageStatus.INTERRUPTED, exc.partial, started,
                        info, cost=meter.cost,
                    )  # fmt: skip
                except (ApiError, ProviderUnavailable) as exc:
                    meter.fail(exc)
                    info = self._error_info(exc, target)
                    final = await self._finish(
                        answer, text, MessageStatus.ERROR, None, started, info
                    )
        except ProviderUnavailable as exc:  # no client (a missing key): nothing was sent
            info = self._error_info(exc, target)
            final = await self._finish(answer, text, MessageStatus.ERROR, None, started, info)
        yield AnswerFinished(final, info)

    def _error_info(self, error: ApiError | ProviderUnavailable, target: Target) -> ErrorInfo:
        info = ErrorInfo.from_exception(error)
        if isinstance(error, InsufficientCreditsError):  # say where to top up
            known = self.clients.registry_profile(target.provider_id)
            info = replace(info, message=credits_message(known, target.provider_id))
        return info

    async def _finish(
        self,
        answer: Message,
        text: str,
        status: MessageStatus,
        result: Any,
        started: float,
        error: ErrorInfo | None = None,
        *,
        cost: float | None = None,
    ) -> Message:
        """The answer's final row (its call is the meter's)."""
        meta = getattr(result, "meta", None)
        usage: ApiUsage | None = getattr(result, "usage", None) or (meta.usage if meta else None)
        latency = (
            meta.latency_s if meta is not None and meta.latency_s else time.perf_counter() - started
        )
        finish_reason = None
        parts = None
        if result is not None and getattr(result, "choices", None):
            finish_reason = result.choices[0].finish_reason
            calls = getattr(getattr(result.choices[0], "message", None), "tool_calls", None) or []
            if calls:
                parts = [*answer.parts, *(tool_call_part(call) for call in calls)]
        return await self.store.finish_message(
            answer.id,
            text,
            status,
            finish_reason=finish_reason,
            usage=StoredUsage(usage.prompt_tokens, usage.completion_tokens, usage.estimated)
            if usage
            else None,
            cost=cost,
            latency_s=latency,
            ttft_s=meta.ttft_s if meta is not None else None,
            error=error.to_json() if error else None,
            parts=parts,
        )

    def _history(self, prompt: Message) -> list[Message]:
        """The prompt and the messages above it. Not simply the active branch: sibling answers
        (regenerations, comparison columns) may have moved the current leaf meanwhile."""
        branch = self.store.active_branch(prompt.conversation_id)
        for i, message in enumerate(branch):
            if message.id == prompt.id:
                return branch[: i + 1]
        history = [prompt]
        while history[-1].parent_id is not None:
            history.append(self.store.get_message(history[-1].parent_id))
        return history[::-1]

    def _request(
        self, branch: Sequence[Message], target: Target, profile: ProviderProfile
    ) -> ChatRequest:
        messages: list[dict[str, Any]] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        for message in branch:
            if message.role not in ("user", "assistant", "system"):
                continue
            if message.role == "assistant" and message.status is MessageStatus.STREAMING:
                continue  # the answer being written right now
            if (
                message.role == "assistant"
                and message.status is MessageStatus.ERROR
                and not message.text
            ):
                continue
            messages.append({"role": message.role, "content": self._content(message)})
        params = {k: v for k, v in self.params.items() if v is not None and k != "mode"}
        from app.api.types import ChatRequest

        return ChatRequest.build(model=target.model, messages=messages, stream=True, **params)

    @property
    def mode(self) -> str:
        """``chat``, or ``completion`` for the legacy /completions endpoint (seed 002)."""
        return str(self.params.get("mode") or "chat")

    def _completion_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.params.items() if k in COMPLETION_PARAMS and v is not None}

    def _content(self, message: Message) -> str | list[dict[str, Any]]:
        texts = [message.text] if message.text else []
        images: list[dict[str, Any]] = []
        for part in message.parts:
            kind = part.get("type")
            if kind == "text_file":
                texts.append(text_file_block(part.get("name", "attachment"), part.get("text", "")))
            elif kind == "image" and isinstance(part.get("blob"), dict):
                image = self._image_part(part["blob"])
                if image is not None:
                    images.append(image)
        text = "\n\n".join(texts)
        if not images:
            return text
        return [{"type": "text", "text": text}, *images] if text else images

    def _image_part(self, blob: dict[str, Any]) -> dict[str, Any] | None:
        try:
            data = self.store.blob_path(blob["sha256"]).read_bytes()
        except (OSError, KeyError):
            return None  # a missing file drops the image, not the whole request
        from app.api.types import image_part

        return image_part(data, blob.get("mime", "image/png"))

    async def _parts(self, attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
        return await attachment_parts(self.store, attachments)


async def attachment_parts(store: Store, attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
    """A message's ``parts`` for attachments: images kept as blobs, text files inlined."""
    parts: list[dict[str, Any]] = []
    for attachment in attachments:
        if attachment.is_image:
            ref = await store.put_blob(attachment.data, attachment.mime)
            parts.append({"type": "image", "name": attachment.name, "blob": ref.to_json()})
        else:
            text = attachment.data.decode("utf-8", errors="replace")
            parts.append({"type": "text_file", "name": attachment.name, "text": text})
    return parts
