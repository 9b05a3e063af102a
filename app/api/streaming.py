"""Streamed answers: chat and legacy completions over SSE, speech as raw bytes.

The hot path reads raw bytes (``aiter_bytes``), splits events itself (``SSEDecoder``),
parses each chunk with orjson, accumulates, and yields light ``ChatDelta`` dataclasses; the
whole ``ChatResult`` is validated once, at the end. A stream that ends without ``[DONE]``
raises ``StreamInterruptedError`` carrying ``.partial`` — unless every choice had already
finished (a ``finish_reason`` was sent), which some servers consider the end. A line of
broken JSON is logged and skipped. The response is always closed (``finally``), and
cancellation is never caught.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from app import log
from app.api.errors import ApiError, StreamInterruptedError, error_from_response
from app.api.profiles import Endpoint
from app.api.sse import SSEDecoder, SSEEvent
from app.api.types import (
    ChatChoice,
    ChatDelta,
    ChatMessage,
    ChatRequest,
    ChatResult,
    CompletionChoice,
    CompletionDelta,
    CompletionResult,
    FunctionCall,
    ToolCall,
    Usage,
    estimate_tokens,
)

if TYPE_CHECKING:
    from app.api.wire import Sent, StreamSource

__all__ = ["ChatStream", "CompletionStream", "SpeechStream"]

_log = log.get("api.stream")
_NO_DELTA: dict[str, Any] = {}


class _Choice:
    __slots__ = ("finish", "parts", "reasoning", "role", "tools")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.role: str | None = None
        self.finish: str | None = None
        self.tools: dict[int, list[Any]] | None = None  # index -> [id, type, name, [arg parts]]
        self.reasoning: list[str] | None = None

    def add_tools(self, calls: list[dict[str, Any]]) -> None:
        tools = self.tools
        if tools is None:
            tools = self.tools = {}
        for call in calls:
            if not isinstance(call, dict):
                continue
            index = call.get("index")
            call_id = call.get("id")
            if index is None:
                index = next(
                    (i for i, s in tools.items() if call_id and s[0] == call_id), len(tools)
                )
            slot = tools.get(index)
            if slot is None:
                slot = tools[index] = ["", "function", "", []]
            if call_id:
                slot[0] = call_id
            if call.get("type"):
                slot[1] = call["type"]
            fn = call.get("function") or _NO_DELTA
            name = fn.get("name")
            if name and name != slot[2]:
                slot[2] = slot[2] + name if slot[2] else name
            args = fn.get("arguments")
            if args:
                slot[3].append(args if isinstance(args, str) else orjson.dumps(args).decode())

    def message(self) -> ChatMessage:
        calls = None
        if self.tools:
            calls = [
                ToolCall(
                    id=s[0], type=s[1], function=FunctionCall(name=s[2], arguments="".join(s[3]))
                )
                for _, s in sorted(self.tools.items())
            ]
        content = "".join(self.parts) if (self.parts or not calls) else None
        return ChatMessage(
            role=self.role or "assistant",
            content=content,
            tool_calls=calls,
            reasoning="".join(self.reasoning) if self.reasoning else None,
        )


def _text_of(content: Any) -> str:
    """Text of a content value that is not a string (a list of parts, as some providers send)."""
    if isinstance(content, list):
        return "".join(
            str(part.get("text") or "") if isinstance(part, dict) else str(part) for part in content
        )
    return str(content)


def _recover(data: bytes) -> list[Any]:
    """Objects from a payload that is not one JSON value (e.g. lines joined by a sloppy server)."""
    found = []
    for line in data.split(b"\n"):
        line = line.strip()
        if line.startswith(b"data:"):
            line = line[5:].strip()
        if not line or line == b"[DONE]":
            continue
        try:
            found.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            _log.warning("skipped a malformed stream line: %r", line[:200])
    return found


class _SSEStream(ABC):
    """Shared plumbing: open (with retries before the first byte), iterate, close."""

    _endpoint: Endpoint

    def __init__(self, client: StreamSource, payload: dict[str, Any], model: str) -> None:
        self._client = client
        self._payload = payload
        self._model = model
        self._response: httpx.Response | None = None
        self._sent: Sent | None = None
        self._gen: AsyncIterator[Any] | None = None
        self._done = False
        self._closed = False
        self._usage_raw: Any = None
        self._id: str | None = None
        self._model_seen: str | None = None
        self._created: int | None = None
        self._t_first: float | None = None
        self._t_end: float | None = None
        self._result: Any = None

    async def __aenter__(self) -> Any:
        await self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _open(self) -> None:
        if self._closed:
            raise RuntimeError("this stream was closed; start a new one")
        if self._response is None:
            self._response, self._sent = await self._client.open_stream(
                self._endpoint, self._payload, self._model
            )

    def __aiter__(self) -> AsyncIterator[Any]:
        if self._gen is None:
            self._gen = self._iterate()
        return self._gen

    async def aclose(self) -> None:
        """Stop reading and close the connection (safe to call more than once)."""
        gen, self._gen = self._gen, None
        try:
            if gen is not None:
                await gen.aclose()  # type: ignore[attr-defined]
        finally:
            self._closed = True
            if self._response is not None:
                await self._response.aclose()

    @property
    def response(self) -> httpx.Response | None:
        return self._response

    async def _iterate(self) -> AsyncIterator[Any]:
        await self._open()
        response = self._response
        assert response is not None
        decoder = SSEDecoder()
        feed = decoder.feed
        process = self._process
        chunks = response.aiter_bytes()
        try:
            try:
                async for raw in chunks:
                    out = process(feed(raw))
                    for item in out:
                        yield item
                    if self._done:
                        break
                if not self._done:
                    for item in process(decoder.flush()):
                        yield item
            except httpx.TimeoutException as exc:
                self._t_end = time.perf_counter()
                raise StreamInterruptedError(
                    f"no data arrived for {self._client.timeout:g} s mid-stream ({type(exc).__name__})",
                    partial=self.result,
                    provider=self._client.profile.name,
                ) from exc
            except httpx.HTTPError as exc:
                self._t_end = time.perf_counter()
                raise StreamInterruptedError(
                    f"the connection broke mid-stream: {exc or type(exc).__name__}",
                    partial=self.result,
                    provider=self._client.profile.name,
                ) from exc
            self._t_end = time.perf_counter()
            if not self._done and not self._all_finished():
                raise StreamInterruptedError(
                    "the stream ended without [DONE]",
                    partial=self.result,
                    provider=self._client.profile.name,
                )
        finally:
            if self._t_end is None:
                self._t_end = time.perf_counter()
            try:
                # Close httpx's iterator here, on this loop: never leave it to a finaliser.
                await chunks.aclose()  # type: ignore[attr-defined]
            finally:
                await response.aclose()

    def _provider_error(self, obj: dict[str, Any]) -> ApiError:
        err = obj.get("error")
        code = err.get("code") if isinstance(err, dict) else None
        status = code if isinstance(code, int) and 400 <= code < 600 else 200
        if status == 200:
            message = (
                err.get("message") if isinstance(err, dict) else str(err)
            ) or "the provider reported an error"
            return StreamInterruptedError(
                f"the provider reported an error mid-stream: {message}",
                partial=self.result,
                provider=self._client.profile.name,
            )
        return error_from_response(status, orjson.dumps(obj), {"content-type": "application/json"})

    def _all_finished(self) -> bool:
        return False

    @abstractmethod
    def _process(self, events: list[SSEEvent]) -> list[Any]:
        """Turn decoded events into the deltas this stream yields (and accumulate them)."""

    @property
    @abstractmethod
    def result(self) -> Any:
        """The whole answer so far (complete once the stream has ended)."""


class ChatStream(_SSEStream):
    """``async with client.stream_chat(req) as stream: async for delta in stream: ...``

    Also iterable without ``async with`` (it opens itself and closes at the end).
    After the stream, ``stream.result`` is the whole ``ChatResult``; before that, the part
    so far.
    """

    _endpoint = Endpoint.CHAT

    def __init__(self, client: StreamSource, request: ChatRequest, payload: dict[str, Any]) -> None:
        super().__init__(client, payload, request.model)
        self._request = request
        self._choices: dict[int, _Choice] = {}

    def _all_finished(self) -> bool:
        return bool(self._choices) and all(c.finish for c in self._choices.values())

    def _process(self, events: list[SSEEvent]) -> list[ChatDelta]:
        out: list[ChatDelta] = []
        if not events:
            return out
        append = out.append
        loads = orjson.loads
        choices_state = self._choices
        first_seen = self._t_first is not None
        for _event, data in events:
            if data[0] == 123:  # "{"
                try:
                    items: Any = (loads(data),)
                except orjson.JSONDecodeError:
                    items = _recover(data)
            elif data == b"[DONE]":
                self._done = True
                break
            else:
                items = _recover(data)
            for item in items:
                if type(item) is not dict:
                    continue
                choices = item.get("choices")
                if choices:
                    for ch in choices:
                        delta = ch.get("delta") or ch.get("message") or _NO_DELTA
                        index = ch.get("index") or 0
                        content = delta.get("content")
                        if type(content) is str and len(delta) == 1:  # the common case
                            tools = role = reasoning = None
                        else:
                            if content is not None and type(content) is not str:
                                content = _text_of(content)
                            tools = delta.get("tool_calls")
                            role = delta.get("role")
                            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                        finish = ch.get("finish_reason")
                        state = choices_state.get(index)
                        if state is None:
                            state = choices_state[index] = _Choice()
                        if content:
                            state.parts.append(content)
                            if not first_seen:
                                self._t_first = time.perf_counter()
                                first_seen = True
                        if tools:
                            state.add_tools(tools)
                            if not first_seen:
                                self._t_first = time.perf_counter()
                                first_seen = True
                        if finish:
                            state.finish = finish
                        if role:
                            state.role = role
                        if reasoning:
                            if state.reasoning is None:
                                state.reasoning = []
                            state.reasoning.append(reasoning)
                        append(ChatDelta(index, content, tools, finish, role, reasoning))
                elif "error" in item and choices is None:
                    raise self._provider_error(item)
                usage = item.get("usage")
                if usage:
                    self._usage_raw = usage
                if self._id is None:
                    self._id = item.get("id")
                    self._model_seen = item.get("model")
                    self._created = item.get("created")
        return out

    @property
    def result(self) -> ChatResult:
        if self._result is not None:
            return self._result
        choices = [
            ChatChoice(index=i, message=state.message(), finish_reason=state.finish)
            for i, state in sorted(self._choices.items())
        ]
        usage = Usage.from_wire(self._usage_raw)
        if usage is None:
            completion = "".join(
                (c.message.content or "")
                + "".join(t.function.arguments for t in (c.message.tool_calls or []))
                for c in choices
            )
            usage = Usage.estimate(self._request.prompt_text(), completion)
        meta = self._client.stream_meta(
            self._sent, Endpoint.CHAT, self._model, usage, self._t_first, self._t_end
        )
        result = ChatResult(
            id=self._id if isinstance(self._id, str) else None,
            model=self._model_seen if isinstance(self._model_seen, str) else self._model,
            created=self._created if isinstance(self._created, int) else None,
            choices=choices,
            usage=usage,
            meta=meta,
        )
        if self._done or (self._t_end is not None and self._all_finished()):
            self._result = result
        return result


class CompletionStream(_SSEStream):
    """Legacy ``/completions`` streamed: yields ``CompletionDelta`` (a ``ChatDelta``, the text
    in ``content``); ``.result`` at the end, shaped like a chat result."""

    _endpoint = Endpoint.COMPLETIONS

    def __init__(
        self, client: StreamSource, payload: dict[str, Any], model: str, prompt: str
    ) -> None:
        super().__init__(client, payload, model)
        self._prompt = prompt
        self._texts: dict[int, list[str]] = {}
        self._finish: dict[int, str] = {}

    def _all_finished(self) -> bool:
        return bool(self._texts) and all(i in self._finish for i in self._texts)

    def _process(self, events: list[SSEEvent]) -> list[CompletionDelta]:
        out: list[CompletionDelta] = []
        for _event, data in events:
            if data == b"[DONE]":
                self._done = True
                break
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError:
                _log.warning("skipped a malformed stream line: %r", data[:200])
                continue
            if not isinstance(obj, dict):
                continue
            choices = obj.get("choices")
            if choices is None and "error" in obj:
                raise self._provider_error(obj)
            for ch in choices or ():
                index = ch.get("index") or 0
                text = ch.get("text") or ""
                self._texts.setdefault(index, []).append(text)
                if text and self._t_first is None:
                    self._t_first = time.perf_counter()
                if ch.get("finish_reason"):
                    self._finish[index] = ch["finish_reason"]
                out.append(CompletionDelta(index, text or None, None, ch.get("finish_reason")))
            if obj.get("usage"):
                self._usage_raw = obj["usage"]
            if self._id is None:
                self._id, self._model_seen = obj.get("id"), obj.get("model")
                self._created = obj.get("created")
        return out

    @property
    def result(self) -> CompletionResult:
        if self._result is not None:
            return self._result
        choices = [
            CompletionChoice(index=i, text="".join(parts), finish_reason=self._finish.get(i))
            for i, parts in sorted(self._texts.items())
        ]
        usage = Usage.from_wire(self._usage_raw) or Usage.estimate(
            self._prompt, "".join(c.text for c in choices)
        )
        meta = self._client.stream_meta(
            self._sent, Endpoint.COMPLETIONS, self._model, usage, self._t_first, self._t_end
        )
        result = CompletionResult(
            id=self._id if isinstance(self._id, str) else None,
            model=self._model_seen if isinstance(self._model_seen, str) else self._model,
            created=self._created if isinstance(self._created, int) else None,
            choices=choices,
            usage=usage,
            meta=meta,
        )
        if self._done or (self._t_end is not None and self._all_finished()):
            self._result = result
        return result


class SpeechStream:
    """Speech audio as it arrives: ``async with client.stream_speech(...) as s: async for b in s``.

    ``content_type`` is known once entered; ``meta`` after the end.
    """

    def __init__(self, client: StreamSource, payload: dict[str, Any], model: str) -> None:
        self._client = client
        self._payload = payload
        self._model = model
        self._response: httpx.Response | None = None
        self._sent: Sent | None = None
        self._t_first: float | None = None
        self._t_end: float | None = None
        self.received = 0

    async def __aenter__(self) -> SpeechStream:
        if self._response is None:
            self._response, self._sent = await self._client.open_stream(
                Endpoint.SPEECH, self._payload, self._model
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._response is not None:
            await self._response.aclose()

    @property
    def content_type(self) -> str:
        return self._response.headers.get("content-type", "") if self._response is not None else ""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        await self.__aenter__()
        assert self._response is not None
        chunks = self._response.aiter_bytes()
        try:
            async for chunk in chunks:
                if self._t_first is None:
                    self._t_first = time.perf_counter()
                self.received += len(chunk)
                yield chunk
        except httpx.HTTPError as exc:
            raise StreamInterruptedError(
                f"the audio stream broke: {exc or type(exc).__name__}"
            ) from exc
        finally:
            self._t_end = time.perf_counter()
            try:
                await chunks.aclose()  # type: ignore[attr-defined]
            finally:
                await self._response.aclose()

    @property
    def meta(self) -> Any:
        usage = Usage(
            prompt_tokens=estimate_tokens(str(self._payload.get("input", ""))), estimated=True
        )
        usage.total_tokens = usage.prompt_tokens
        return self._client.stream_meta(
            self._sent, Endpoint.SPEECH, self._model, usage, self._t_first, self._t_end
        )
