"""Streamed chat over ``httpx.MockTransport``: deltas, accumulation, usage, interruptions,
closing, and the whole client fed a stream cut at every byte boundary."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from app.api import (
    ApiClient,
    ChatDelta,
    MalformedResponseError,
    ProviderProfile,
    StreamInterruptedError,
)

HELLO = [{"role": "user", "content": "Hello"}]


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, index: int = 0, **extra: Any
) -> bytes:
    obj: dict[str, Any] = {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": index, "delta": delta or {}, "finish_reason": finish}],
        **extra,
    }
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def usage_chunk(p: int, c: int) -> bytes:
    obj = {
        "id": "chatcmpl-s",
        "choices": [],
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
    }
    return b"data: " + orjson.dumps(obj) + b"\n\n"


DONE = b"data: [DONE]\n\n"
OPENAI_STREAM = (
    chunk({"role": "assistant", "content": ""})
    + chunk({"content": "Hel"})
    + b": keep-alive\n\n"
    + chunk({"content": "lo, "})
    + chunk({"content": "wörld ✓"})
    + chunk({}, "stop")
    + usage_chunk(5, 3)
    + DONE
)


class Body(httpx.AsyncByteStream):
    """A response body delivered in given pieces, optionally breaking, that records closing."""

    def __init__(
        self, pieces: list[bytes], fail: Exception | None = None, gate: asyncio.Event | None = None
    ) -> None:
        self.pieces = pieces
        self.fail = fail
        self.gate = gate
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i, piece in enumerate(self.pieces):
            if self.gate is not None and i == 1:
                await self.gate.wait()
            yield piece
        if self.fail is not None:
            raise self.fail

    async def aclose(self) -> None:
        self.closed = True


class Server:
    def __init__(self, *bodies: Body, content_type: str = "text/event-stream") -> None:
        self.bodies = list(bodies)
        self.requests: list[httpx.Request] = []
        self.content_type = content_type

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        body = self.bodies[min(len(self.requests) - 1, len(self.bodies) - 1)]
        return httpx.Response(
            200, headers={"content-type": self.content_type, "x-request-id": "req_s"}, stream=body
        )


def make(handler: Any, **profile_kw: Any) -> ApiClient:
    prof = ProviderProfile(
        **{"id": "unit", "name": "Unit", "base_url": "https://api.unit.test/v1", **profile_kw}
    )
    return ApiClient(prof, "sk-unit-0123456789", transport=httpx.MockTransport(handler))


async def collect(client: ApiClient, **req: Any) -> tuple[list[ChatDelta], Any]:
    async with client.stream_chat({"model": "m", "messages": HELLO, **req}) as stream:
        deltas = [d async for d in stream]
    return deltas, stream.result


async def test_openai_stream_accumulates_with_usage_and_meta() -> None:
    body = Body([OPENAI_STREAM])
    server = Server(body)
    async with make(server) as client:
        deltas, result = await collect(client)
    assert "".join(d.content or "" for d in deltas) == "Hello, wörld ✓"
    assert deltas[0].role == "assistant" and deltas[-1].finish_reason == "stop"
    assert result.text == "Hello, wörld ✓" and result.choices[0].finish_reason == "stop"
    assert (
        result.usage.prompt_tokens == 5
        and result.usage.completion_tokens == 3
        and not result.usage.estimated
    )
    assert result.id == "chatcmpl-s" and result.meta.request_id == "req_s"
    assert result.meta.ttft_s is not None and result.meta.ttft_s >= 0
    assert body.closed
    sent = orjson.loads(server.requests[0].content)
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert server.requests[0].headers["accept"] == "text/event-stream"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("never", None), ("always", None), ("on_request", {"include_usage": True})],
)
async def test_stream_options_follow_the_profile(mode: str, expected: Any) -> None:
    server = Server(Body([OPENAI_STREAM]))
    async with make(server, stream_usage=mode) as client:
        await collect(client)
    assert orjson.loads(server.requests[0].content).get("stream_options") == expected


async def test_stream_split_at_every_byte_boundary_through_the_client() -> None:
    stream = OPENAI_STREAM.replace(b"\n", b"\r\n")
    for cut in range(0, len(stream) + 1):
        server = Server(Body([stream[:cut], stream[cut:]]))
        async with make(server) as client:
            _, result = await collect(client)
        assert result.text == "Hello, wörld ✓", cut
        assert result.usage.total_tokens == 8, cut


async def test_spafe_whole_content_first_then_empty_finish_and_no_usage() -> None:
    first = chunk(
        {"content": "Hello! How can I assist you today?", "role": "assistant"}, usage=None
    )
    last = chunk({"content": "", "role": "assistant"}, "stop", usage=None)
    server = Server(Body([first + last + DONE]))
    async with make(server, stream_usage="never") as client:
        deltas, result = await collect(
            client, messages=[{"role": "user", "content": "Hi there, friend"}]
        )
    assert len(deltas) == 2 and result.text == "Hello! How can I assist you today?"
    assert result.usage.estimated
    assert result.usage.prompt_tokens == 4 and result.usage.completion_tokens == 9
    assert result.meta.usage == result.usage


async def test_tool_call_deltas_become_whole_calls() -> None:
    parts = [
        chunk({"role": "assistant", "content": None}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": "{}"},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Paris"}'}}]}),
        chunk({}, "tool_calls"),
        DONE,
    ]
    async with make(Server(Body([b"".join(parts)]))) as client:
        deltas, result = await collect(client)
    calls = result.choices[0].message.tool_calls
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("call_a", "get_weather", '{"city": "Paris"}'),
        ("call_b", "get_time", "{}"),
    ]
    assert (
        result.choices[0].message.content is None
        and result.choices[0].finish_reason == "tool_calls"
    )
    assert any(d.tool_calls for d in deltas)


async def test_n_choices_are_kept_apart() -> None:
    parts = [
        chunk({"content": "A1 "}, index=0),
        chunk({"content": "B1 "}, index=1),
        chunk({"content": "A2"}, index=0),
        chunk({"content": "B2"}, index=1),
        chunk({}, "stop", index=0),
        chunk({}, "length", index=1),
        DONE,
    ]
    async with make(Server(Body([b"".join(parts)]))) as client:
        _, result = await collect(client, n=2)
    assert [(c.index, c.message.content, c.finish_reason) for c in result.choices] == [
        (0, "A1 A2", "stop"),
        (1, "B1 B2", "length"),
    ]


async def test_a_broken_json_line_is_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    stream = (
        chunk({"content": "a"})
        + b'data: {"choices": [oops\n\n'
        + chunk({"content": "b"})
        + chunk({}, "stop")
        + DONE
    )
    caplog.set_level(logging.WARNING, logger="palaver.api.stream")
    async with make(Server(Body([stream]))) as client:
        _, result = await collect(client)
    assert result.text == "ab"
    assert any("malformed" in r.getMessage() for r in caplog.records)


async def test_lines_without_blank_separators_are_recovered() -> None:
    sloppy = b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\ndata: {"choices":[{"index":0,"delta":{"content":"y"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    async with make(Server(Body([sloppy]))) as client:
        _, result = await collect(client)
    assert result.text == "xy"


async def test_abrupt_close_raises_with_the_partial_answer() -> None:
    body = Body(
        [chunk({"content": "Half an "}) + chunk({"content": "answer"})],
        fail=httpx.RemoteProtocolError("peer closed"),
    )
    async with make(Server(body)) as client:
        got: list[str] = []
        with pytest.raises(StreamInterruptedError) as info:
            async with client.stream_chat({"model": "m", "messages": HELLO}) as stream:
                async for delta in stream:
                    got.append(delta.content or "")
    assert "".join(got) == "Half an answer"
    partial = info.value.partial
    assert partial.text == "Half an answer" and partial.usage.estimated
    assert "cut off" in info.value.user_message and body.closed


async def test_clean_eof_without_done_is_interrupted_unless_finished() -> None:
    body = Body([chunk({"content": "no end"})])
    async with make(Server(body)) as client:
        with pytest.raises(StreamInterruptedError, match=r"without \[DONE\]") as info:
            await collect(client)
    assert info.value.partial.text == "no end"
    body = Body([chunk({"content": "done"}) + chunk({}, "stop")])
    async with make(Server(body)) as client:
        _, result = await collect(client)
    assert result.text == "done"


async def test_error_object_mid_stream() -> None:
    stream = (
        chunk({"content": "so far"}) + b'data: {"error": {"message": "upstream overloaded"}}\n\n'
    )
    async with make(Server(Body([stream]))) as client:
        with pytest.raises(StreamInterruptedError, match="upstream overloaded") as info:
            await collect(client)
    assert info.value.partial.text == "so far"


async def test_json_answer_to_a_stream_request_is_replayed_as_deltas() -> None:
    whole = orjson.dumps(
        {
            "id": "x",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "whole"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    )
    async with make(Server(Body([whole]), content_type="application/json")) as client:
        deltas, result = await collect(client)
    assert [d.content for d in deltas] == ["whole"] and result.usage.total_tokens == 2


async def test_response_is_closed_when_the_consumer_leaves_early() -> None:
    body = Body([chunk({"content": str(i)}) for i in range(50)] + [DONE])
    async with make(Server(body)) as client:
        async with client.stream_chat({"model": "m", "messages": HELLO}) as stream:
            async for _delta in stream:
                break
        assert body.closed
        assert stream.result.text == "0"


async def test_stream_iterated_without_async_with() -> None:
    body = Body([OPENAI_STREAM])
    async with make(Server(body)) as client:
        stream = client.stream_chat({"model": "m", "messages": HELLO})
        text = "".join([d.content or "" async for d in stream])
    assert text == "Hello, wörld ✓" and body.closed


async def test_cancellation_passes_straight_through_and_closes() -> None:
    gate = asyncio.Event()
    body = Body([chunk({"content": "first"}), chunk({"content": "never"}), DONE], gate=gate)
    got: list[str] = []

    async def consume(client: ApiClient) -> None:
        async with client.stream_chat({"model": "m", "messages": HELLO}) as stream:
            async for delta in stream:
                got.append(delta.content or "")

    async with make(Server(body)) as client:
        task = asyncio.create_task(consume(client))
        for _ in range(100):
            await asyncio.sleep(0.005)
            if got:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert got == ["first"] and body.closed


async def test_legacy_completion_stream() -> None:
    text = b"".join(
        b"data: "
        + orjson.dumps({"id": "c", "choices": [{"index": 0, "text": t, "finish_reason": f}]})
        + b"\n\n"
        for t, f in (("Once", None), (" upon", None), ("", "stop"))
    )
    async with (
        make(Server(Body([text + DONE]))) as client,
        client.stream_complete("m", "Tell") as stream,
    ):
        pieces = [d.text async for d in stream]
    assert pieces == ["Once", " upon", ""] and stream.result.text == "Once upon"
    assert stream.result.usage.estimated


async def read_any(stream: Any) -> tuple[str, list[str], tuple[Any, ...]]:
    """One consumer for both streams: it reads only the fields a chat stream has."""
    text, finishes = "", []
    async with stream:
        async for delta in stream:
            assert isinstance(delta, ChatDelta) and delta.tool_calls is None
            if delta.index == 0 and delta.content:
                text += delta.content
            if delta.finish_reason:
                finishes.append(delta.finish_reason)
    result = stream.result
    first = result.choices[0]
    usage = result.usage
    return text, finishes, (
        result.text, first.message.content, first.finish_reason, result.created, result.model,
        usage.prompt_tokens, usage.completion_tokens, result.meta.status, result.meta.attempts,
    )  # fmt: skip


async def test_the_completion_stream_yields_what_the_chat_stream_yields() -> None:
    def legacy(text: str, finish: str | None) -> bytes:
        choice = {"index": 0, "text": text, "finish_reason": finish}
        obj = {"id": "c", "created": 1, "model": "m", "choices": [choice]}
        return b"data: " + orjson.dumps(obj) + b"\n\n"

    pieces = [("Once", None), (" upon", None), ("", "stop")]
    chat_body = b"".join(chunk({"content": t} if t else {}, f) for t, f in pieces)
    legacy_body = b"".join(legacy(t, f) for t, f in pieces)
    async with make(Server(Body([chat_body + usage_chunk(4, 2) + DONE]))) as client:
        chat = await read_any(client.stream_chat({"model": "m", "messages": HELLO}))
    async with make(Server(Body([legacy_body + usage_chunk(4, 2) + DONE]))) as client:
        legacy_read = await read_any(client.stream_complete("m", "Tell"))
    assert chat == legacy_read
    assert chat == ("Once upon", ["stop"], ("Once upon", "Once upon", "stop", 1, "m", 4, 2, 200, 1))


async def test_a_completion_stream_whose_choices_all_finished_needs_no_done() -> None:
    body = b"data: " + orjson.dumps({"choices": [{"text": "Hi", "finish_reason": "stop"}]})
    async with make(Server(Body([body + b"\n\n"]))) as client:
        text, finishes, _ = await read_any(client.stream_complete("m", "Tell"))
    assert (text, finishes) == ("Hi", ["stop"])


async def test_odd_field_types_do_not_break_a_stream() -> None:
    parts = [
        chunk(
            {"content": [{"type": "text", "text": "list "}, {"type": "text", "text": "parts"}]},
            created="soon",
        ),
        chunk({"content": "!"}),
        chunk({}, "stop"),
        b'data: {"choices": [], "usage": {"prompt_tokens": null, "completion_tokens": 2}}\n\n',
        DONE,
    ]
    async with make(Server(Body([b"".join(parts)]))) as client:
        _, result = await collect(client)
    assert result.text == "list parts!" and result.created is None
    assert result.usage.completion_tokens == 2 and result.usage.prompt_tokens == 0


async def test_an_html_page_instead_of_a_stream() -> None:
    page = b"<html><head><title>Hotel Wi-Fi login</title></head><body>...</body></html>"
    async with make(Server(Body([page]), content_type="text/html; charset=utf-8")) as client:
        with pytest.raises(MalformedResponseError, match="Hotel Wi-Fi login") as info:
            await collect(client)
    assert "<" not in info.value.user_message
