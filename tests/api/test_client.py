"""ApiClient unit tests over ``httpx.MockTransport``: auth, paths, validation, retries,
cancellation, metadata, and the result of every endpoint."""

from __future__ import annotations

import asyncio
import base64
import ssl
import struct
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

import app.api.base as base_module
from app.api import (
    ApiClient,
    ApiConnectionError,
    ApiTimeoutError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    ChatRequest,
    ConflictError,
    InsufficientCreditsError,
    InternalServerError,
    MalformedResponseError,
    ProviderProfile,
    RateLimitError,
    RequestValidationError,
    TLSError,
    image_part,
    user_message,
)
from app.api.meta import parse_duration, parse_rate_limit

KEY = "sk-unit-0123456789abcdef"
BASE = "https://api.unit.test/v1"
HELLO = [{"role": "user", "content": "Hello"}]
CHAT_OK = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi there!"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
}

Handler = Callable[[httpx.Request], Any]


def profile(**kw: Any) -> ProviderProfile:
    return ProviderProfile(**{"id": "unit", "name": "Unit", "base_url": BASE, **kw})


def make(
    handler: Handler, *, key: str | None = KEY, prof: ProviderProfile | None = None, **kw: Any
) -> ApiClient:
    return ApiClient(prof or profile(), key, transport=httpx.MockTransport(handler), **kw)


class Recorder:
    """A handler that records requests and answers from a list (the last one repeats)."""

    def __init__(
        self, *answers: httpx.Response | Callable[[httpx.Request], httpx.Response]
    ) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers[min(len(self.requests) - 1, len(self.answers) - 1)]
        return answer(request) if callable(answer) else answer

    def body(self, i: int = -1) -> Any:
        return orjson.loads(self.requests[i].content)


def ok(obj: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=CHAT_OK if obj is None else obj, headers=headers)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(base_module, "_sleep", fake_sleep)
    return waits


# --------------------------------------------------------------------------- auth & headers


async def test_auth_header_only_when_a_key_is_given() -> None:
    rec = Recorder(ok())
    async with make(rec) as client:
        await client.chat({"model": "m", "messages": HELLO})
    assert rec.requests[0].headers["authorization"] == f"Bearer {KEY}"
    rec2 = Recorder(ok())
    async with make(rec2, key=None) as client:
        await client.chat({"model": "m", "messages": HELLO})
    assert "authorization" not in rec2.requests[0].headers


async def test_profile_headers_and_custom_auth_scheme() -> None:
    rec = Recorder(ok(), httpx.Response(200, json={"data": []}))
    prof = profile(headers={"X-Title": "Palaver"}, auth_header="x-api-key", auth_scheme="")
    async with make(rec, prof=prof) as client:
        await client.chat({"model": "m", "messages": HELLO})
        await client.list_models()
    for request in rec.requests:
        assert request.headers["x-title"] == "Palaver"
        assert request.headers["x-api-key"] == KEY
        assert "authorization" not in request.headers


async def test_response_hook_sees_every_response_errors_included() -> None:
    rec = Recorder(
        httpx.Response(401, json={"error": {"message": "bad key"}}),
        httpx.Response(200, json={"data": []}),
    )
    seen: list[int] = []

    async def hook(response: httpx.Response) -> None:
        seen.append(response.status_code)

    async with make(rec) as client:
        client.add_response_hook(hook)
        with pytest.raises(AuthenticationError):
            await client.list_models()
        await client.list_models()
    assert seen == [401, 200]


@pytest.mark.parametrize("auth_header", ["Authorization", "x-api-key"])
async def test_redirect_to_another_host_never_carries_the_key(auth_header: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.unit.test" and request.url.path.endswith("/models"):
            return httpx.Response(302, headers={"Location": "https://evil.example/v1/models"})
        return httpx.Response(200, json={"data": [{"id": "x"}]})

    prof = profile(auth_header=auth_header)
    async with make(handler, prof=prof) as client:
        listing = await client.list_models()
    assert listing.ids == ["x"]
    assert [r.url.host for r in seen] == ["api.unit.test", "evil.example"]
    assert seen[0].headers[auth_header].endswith(KEY)
    assert auth_header.lower() not in seen[1].headers
    assert KEY not in str(seen[1].headers)


async def test_redirect_within_the_provider_keeps_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/models":
            return httpx.Response(307, headers={"Location": "/v2/models"})
        return httpx.Response(200, json={"data": []})

    async with make(handler) as client:
        await client.list_models()
    assert [r.url.path for r in seen] == ["/v1/models", "/v2/models"]
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in seen)


# --------------------------------------------------------------------------- models


async def test_list_models_honours_the_profile_path_and_reads_pricing() -> None:
    models = {
        "data": [
            {
                "id": "a",
                "owned_by": "me",
                "pricing": {"prompt": "0.000002", "completion": "0.00001"},
                "extra": 1,
            },
            {"id": "b", "pricing": {"input": 0.2, "output": 0.6}},
            {"name": "c"},
            "d",
        ]
    }
    rec = Recorder(httpx.Response(200, json=models, headers={"x-request-id": "req_9"}))
    async with make(rec, prof=profile(paths={"models": "/api/v1/chat/models"})) as client:
        listing = await client.list_models()
    assert str(rec.requests[0].url) == "https://api.unit.test/api/v1/chat/models"
    assert listing.ids == ["a", "b", "c", "d"]
    a = listing.models[0]
    assert a.owned_by == "me" and a.extra == 1  # type: ignore[attr-defined]
    assert a.price is not None and a.price.input_per_m == 2.0 and a.price.output_per_m == 10.0
    assert listing.models[1].price.output_per_m == 0.6  # type: ignore[union-attr]
    assert listing.models[2].price is None
    assert listing.meta.request_id == "req_9" and listing.meta.status == 200


async def test_list_models_without_a_list_uses_the_profile_models() -> None:
    rec = Recorder(ok())
    prof = profile(models=["gpt-4o", "o1-mini"], capabilities={"model_list": False})
    async with make(rec, prof=prof) as client:
        listing = await client.list_models()
    assert listing.ids == ["gpt-4o", "o1-mini"] and rec.requests == []


async def test_get_model() -> None:
    rec = Recorder(httpx.Response(200, json={"id": "gpt-x", "object": "model", "owned_by": "o"}))
    async with make(rec) as client:
        info = await client.get_model("gpt-x")
    assert rec.requests[0].url.path == "/v1/models/gpt-x"
    assert info.id == "gpt-x" and info.meta is not None and info.meta.status == 200


async def test_malformed_model_list() -> None:
    async with make(Recorder(httpx.Response(200, json={"nope": 1}))) as client:
        with pytest.raises(MalformedResponseError):
            await client.list_models()


# --------------------------------------------------------------------------- chat request


async def test_only_set_fields_are_sent() -> None:
    rec = Recorder(ok())
    async with make(rec) as client:
        await client.chat(ChatRequest(model="m", messages=HELLO))
        await client.chat(
            ChatRequest(
                model="m", messages=HELLO, temperature=0.5, stop="\n", seed=7, max_tokens=10
            )
        )
    assert rec.body(0) == {"model": "m", "messages": HELLO}
    assert rec.body(1) == {
        "model": "m",
        "messages": HELLO,
        "temperature": 0.5,
        "stop": "\n",
        "seed": 7,
        "max_tokens": 10,
    }
    assert rec.requests[0].headers["content-type"] == "application/json"


async def test_every_chat_parameter_reaches_the_wire() -> None:
    rec = Recorder(ok())
    fields = {
        "model": "m",
        "messages": [user_message("What is this?", [image_part(b"\x89PNG", "image/png")])],
        "temperature": 2,
        "top_p": 1,
        "n": 2,
        "stop": ["a", "b", "c", "d"],
        "max_tokens": 1,
        "presence_penalty": -2,
        "frequency_penalty": 2,
        "logit_bias": {"50256": -100},
        "user": "u-1",
        "seed": 1,
        "tools": [
            {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
        ],
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
        "provider_specific": {"x": 1},
    }
    async with make(rec) as client:
        await client.chat(fields)
    body = rec.body()
    assert body == fields
    assert (
        body["messages"][0]["content"][1]["image_url"]["url"]
        == "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode()
    )


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"temperature": 2.5}, "temperature", "Temperature must be between 0 and 2"),
        ({"temperature": -0.1}, "temperature", "Temperature must be between 0 and 2"),
        ({"top_p": 1.5}, "top_p", "Top P must be between 0 and 1"),
        ({"max_tokens": 0}, "max_tokens", "Max tokens must be a positive whole number"),
        ({"stop": ["1", "2", "3", "4", "5"]}, "stop", "at most 4"),
        ({"presence_penalty": -3}, "presence_penalty", "Presence penalty must be between -2 and 2"),
        (
            {"frequency_penalty": 2.1},
            "frequency_penalty",
            "Frequency penalty must be between -2 and 2",
        ),
        ({"messages": []}, "messages", "Messages must not be empty"),
        ({"model": " "}, "model", "model name is empty"),
        ({"n": 0}, "n", "between 1 and 128"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages", "no valid role"),
        ({"temperature": "hot"}, "temperature", "Temperature"),
        ({"max_tokens": 1.5}, "max_tokens", "Max tokens"),
        ({"logit_bias": {"1": 200}}, "logit_bias", "between -100 and 100"),
    ],
)
async def test_validation_names_the_field_and_sends_nothing(
    fields: dict[str, Any], field: str, words: str
) -> None:
    rec = Recorder(ok())
    async with make(rec) as client:
        with pytest.raises(RequestValidationError) as info:
            await client.chat({"model": "m", "messages": HELLO, **fields})
        with pytest.raises(RequestValidationError):
            client.stream_chat({"model": "m", "messages": HELLO, **fields})
    assert info.value.field == field
    assert words in str(info.value)
    assert rec.requests == []


async def test_chat_result_and_meta() -> None:
    headers = {
        "x-request-id": "req_1",
        "X-RateLimit-Limit-Requests": "60",
        "X-RateLimit-Remaining-Requests": "59",
        "X-RateLimit-Reset-Requests": "9999999999",
        "X-RateLimit-Remaining-Requests-Day": "9999",
    }
    async with make(Recorder(ok(**headers))) as client:
        result = await client.chat({"model": "m", "messages": HELLO})
    assert result.text == "Hi there!" and result.choices[0].finish_reason == "stop"
    assert result.usage.total_tokens == 7 and not result.usage.estimated
    meta = result.meta
    assert (
        meta.status == 200
        and meta.request_id == "req_1"
        and meta.endpoint == "chat"
        and meta.model == "m"
    )
    assert meta.provider == "unit" and meta.latency_s > 0 and meta.attempts == 1
    assert meta.rate_limit.limit_requests == 60 and meta.rate_limit.remaining_requests == 59
    assert meta.rate_limit.remaining_requests_day == 9999 and meta.rate_limit.reset_requests_s > 0
    assert meta.usage == result.usage and meta.tokens_per_s > 0
    assert meta.idempotency_key


async def test_usage_null_is_estimated() -> None:
    body = {**CHAT_OK, "usage": None}
    body["choices"] = [
        {"index": 0, "message": {"role": "assistant", "content": "x" * 40}, "finish_reason": "stop"}
    ]
    async with make(Recorder(ok(body))) as client:
        result = await client.chat(
            {"model": "m", "messages": [{"role": "user", "content": "y" * 20}]}
        )
    assert result.usage.estimated
    assert (
        result.usage.prompt_tokens,
        result.usage.completion_tokens,
        result.usage.total_tokens,
    ) == (5, 10, 15)


async def test_extra_fields_are_kept_and_tool_calls_read() -> None:
    body = {
        **CHAT_OK,
        "new_field": {"a": 1},
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
    }
    async with make(Recorder(ok(body))) as client:
        result = await client.chat({"model": "m", "messages": HELLO})
    assert result.new_field == {"a": 1}  # type: ignore[attr-defined]
    call = result.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert (call.id, call.function.name, call.function.arguments) == ("c1", "f", "{}")


async def test_image_urls_from_a_markdown_answer() -> None:
    body = {**CHAT_OK, "usage": None}
    body["choices"] = [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "![Generated Image](https://x.test/i.jpg)"},
        }
    ]
    async with make(Recorder(ok(body))) as client:
        result = await client.chat({"model": "flux", "messages": HELLO})
    assert result.image_urls == ["https://x.test/i.jpg"]


async def test_a_200_carrying_an_error_raises_it() -> None:
    body = {"error": {"message": "Upstream said no", "code": 402}}
    async with make(Recorder(ok(body))) as client:
        with pytest.raises(InsufficientCreditsError, match="Upstream said no"):
            await client.chat({"model": "m", "messages": HELLO})
    async with make(Recorder(ok({"error": {"message": "weird"}}))) as client:
        with pytest.raises(BadGatewayError, match="weird"):
            await client.chat({"model": "m", "messages": HELLO})


async def test_a_200_html_page_is_malformed_without_html() -> None:
    page = b"<html><head><title>Captive portal</title></head><body>log in</body></html>"
    rec = Recorder(httpx.Response(200, content=page, headers={"content-type": "text/html"}))
    async with make(rec) as client:
        with pytest.raises(MalformedResponseError) as info:
            await client.chat({"model": "m", "messages": HELLO})
    assert "Captive portal" in info.value.user_message and "<" not in info.value.user_message


# --------------------------------------------------------------------------- errors & retries


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, InsufficientCreditsError),
        (409, ConflictError),
    ],
)
async def test_client_errors_are_not_retried(status: int, cls: type, sleeps: list[float]) -> None:
    rec = Recorder(httpx.Response(status, json={"error": {"message": "no"}}))
    async with make(rec) as client:
        with pytest.raises(cls):
            await client.chat({"model": "m", "messages": HELLO})
    assert len(rec.requests) == 1 and sleeps == []


async def test_5xx_is_retried_with_backoff_and_one_idempotency_key(sleeps: list[float]) -> None:
    rec = Recorder(
        httpx.Response(500, json={"error": {"message": "oops"}}),
        httpx.Response(
            502,
            text="<html><title>502 Bad Gateway</title></html>",
            headers={"content-type": "text/html"},
        ),
        ok(),
    )
    async with make(rec, max_retries=2) as client:
        result = await client.chat({"model": "m", "messages": HELLO})
    assert result.meta.attempts == 3 and len(rec.requests) == 3
    keys = {r.headers["idempotency-key"] for r in rec.requests}
    assert len(keys) == 1 and result.meta.idempotency_key in keys
    assert len(sleeps) == 2 and 0.375 <= sleeps[0] <= 0.5 and 0.75 <= sleeps[1] <= 1.0
    async with make(Recorder(ok())) as client:
        other = await client.chat({"model": "m", "messages": HELLO})
    assert other.meta.idempotency_key not in keys  # a new call, a new key


async def test_retries_run_out(sleeps: list[float]) -> None:
    rec = Recorder(httpx.Response(504, json={"error": {"message": "Request timed out"}}))
    async with make(rec, max_retries=2) as client:
        with pytest.raises(Exception) as info:
            await client.chat({"model": "m", "messages": HELLO})
    assert type(info.value).__name__ == "GatewayTimeoutError" and len(rec.requests) == 3
    rec = Recorder(httpx.Response(500, json={}))
    async with make(rec, max_retries=0) as client:
        with pytest.raises(InternalServerError):
            await client.chat({"model": "m", "messages": HELLO})
    assert len(rec.requests) == 1


async def test_429_honours_retry_after(sleeps: list[float]) -> None:
    rec = Recorder(
        httpx.Response(429, json={"error": {"message": "slow down"}}, headers={"Retry-After": "3"}),
        ok(),
    )
    async with make(rec) as client:
        result = await client.chat({"model": "m", "messages": HELLO})
    assert sleeps == [3.0] and result.meta.attempts == 2


async def test_429_with_a_long_retry_after_is_raised_at_once(sleeps: list[float]) -> None:
    rec = Recorder(
        httpx.Response(
            429, json={"error": {"message": "slow down"}}, headers={"Retry-After": "3600"}
        )
    )
    async with make(rec) as client:
        with pytest.raises(RateLimitError) as info:
            await client.chat({"model": "m", "messages": HELLO})
    assert info.value.retry_after == 3600 and sleeps == [] and len(rec.requests) == 1
    assert "3600 s" in info.value.user_message


async def test_server_can_forbid_a_retry(sleeps: list[float]) -> None:
    rec = Recorder(httpx.Response(500, json={}, headers={"x-should-retry": "false"}))
    async with make(rec) as client:
        with pytest.raises(InternalServerError):
            await client.chat({"model": "m", "messages": HELLO})
    assert len(rec.requests) == 1


async def test_connection_errors_are_retried_then_raised(sleeps: list[float]) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    async with make(handler, max_retries=2) as client:
        with pytest.raises(ApiConnectionError) as info:
            await client.chat({"model": "m", "messages": HELLO})
    assert calls == 3 and len(sleeps) == 2
    assert "refused" in info.value.user_message and "api.unit.test" in info.value.user_message


async def test_dns_failure_reads_plainly(sleeps: list[float]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    async with make(handler, max_retries=0) as client:
        with pytest.raises(ApiConnectionError, match="could not be found"):
            await client.list_models()


async def test_tls_errors_are_not_retried(sleeps: list[float]) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        try:
            raise ssl.SSLCertVerificationError("certificate verify failed: self-signed certificate")
        except ssl.SSLError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc

    async with make(handler) as client:
        with pytest.raises(TLSError) as info:
            await client.chat({"model": "m", "messages": HELLO})
    assert calls == 1 and isinstance(info.value, ApiConnectionError)


async def test_read_timeouts_become_timeout_errors(sleeps: list[float]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with make(handler, timeout=5) as client:
        with pytest.raises(ApiTimeoutError, match="5 s"):
            await client.chat({"model": "m", "messages": HELLO})


async def test_cancellation_passes_through_a_backoff_wait() -> None:
    rec = Recorder(httpx.Response(503, json={}))
    async with make(rec, max_retries=5) as client:
        task = asyncio.create_task(client.chat({"model": "m", "messages": HELLO}))
        for _ in range(50):
            await asyncio.sleep(0.01)
            if rec.requests:
                break
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(rec.requests) == 1


async def test_cancellation_passes_through_a_request_in_flight() -> None:
    started = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(3600)
        return ok()

    async with make(handler) as client:
        task = asyncio.create_task(client.chat({"model": "m", "messages": HELLO}))
        await asyncio.wait_for(started.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_streams_are_not_retried_on_5xx_but_are_on_429(sleeps: list[float]) -> None:
    rec = Recorder(httpx.Response(500, json={"error": {"message": "down"}}))
    async with make(rec) as client:
        with pytest.raises(InternalServerError):
            async with client.stream_chat({"model": "m", "messages": HELLO}) as stream:
                async for _ in stream:
                    pass
    assert len(rec.requests) == 1
    assert "idempotency-key" not in rec.requests[0].headers
    sse = b'data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    rec = Recorder(
        httpx.Response(429, json={}, headers={"Retry-After": "1"}),
        httpx.Response(200, content=sse, headers={"content-type": "text/event-stream"}),
    )
    async with make(rec) as client, client.stream_chat({"model": "m", "messages": HELLO}) as stream:
        async for _ in stream:
            pass
    assert stream.result.text == "ok" and sleeps == [1.0] and len(rec.requests) == 2


# --------------------------------------------------------------------------- metadata


def test_rate_limit_parsing_forms() -> None:
    now = 1_000_000_000.0
    status = parse_rate_limit(
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "12",
            "x-ratelimit-reset-requests": str(int(now) + 30),
            "x-ratelimit-reset-tokens": "6m0s",
            "x-ratelimit-remaining-tokens": "1000",
            "retry-after": "2",
        },
        now=now,
    )
    assert status.limit_requests == 60 and status.remaining_requests == 12
    assert (
        status.reset_requests_s == 30 and status.reset_tokens_s == 360 and status.retry_after_s == 2
    )
    assert status.remaining_tokens == 1000 and status.known
    assert not parse_rate_limit({"content-type": "x"}).known
    assert parse_duration("20ms", now=now) == pytest.approx(0.02)
    assert parse_duration("1h2m3.5s", now=now) == pytest.approx(3723.5)
    assert parse_duration("later", now=now) is None
    assert parse_duration(str(int(now * 1000) + 5000), now=now) == pytest.approx(5.0)


async def test_profile_rate_limit_header_names_are_used() -> None:
    prof = profile(rate_limit_headers={"remaining_requests": "X-Custom-Left"})
    async with make(
        Recorder(ok(**{"X-Custom-Left": "7", "x-ratelimit-x": "1"})), prof=prof
    ) as client:
        result = await client.chat({"model": "m", "messages": HELLO})
    assert result.meta.rate_limit.remaining_requests == 7
    assert client.last_rate_limit is not None and client.last_rate_limit.remaining_requests == 7


async def test_rate_limit_error_keeps_headers(sleeps: list[float]) -> None:
    rec = Recorder(
        httpx.Response(
            429, json={}, headers={"Retry-After": "1", "X-RateLimit-Remaining-Requests": "0"}
        )
    )
    async with make(rec, max_retries=0) as client:
        with pytest.raises(RateLimitError) as info:
            await client.chat({"model": "m", "messages": HELLO})
        assert client.last_rate_limit.remaining_requests == 0  # type: ignore[union-attr]
    assert (
        info.value.retry_after == 1.0
        and info.value.headers["x-ratelimit-remaining-requests"] == "0"
    )


# --------------------------------------------------------------------------- other endpoints


async def test_image_size_follows_the_profile() -> None:
    rec = Recorder(
        httpx.Response(
            200, json={"created": 1, "data": [{"b64_json": base64.b64encode(b"png").decode()}]}
        )
    )
    async with make(rec, prof=profile(image_size_separator="*")) as client:
        result = await client.generate_images(
            "sdxl", "a cat", size=(1024, 768), extra={"negative_prompt": "dog"}
        )
        await client.generate_images(
            "sdxl", "a cat", size="512x512", response_format="b64_json", quality="hd", style="vivid"
        )
        await client.generate_images("sdxl", "a cat", size="auto")
    assert rec.body(0) == {
        "model": "sdxl",
        "prompt": "a cat",
        "n": 1,
        "size": "1024*768",
        "negative_prompt": "dog",
    }
    assert (
        rec.body(1)["size"] == "512*512"
        and rec.body(1)["quality"] == "hd"
        and rec.body(1)["style"] == "vivid"
    )
    assert rec.body(2)["size"] == "auto"
    assert result.data[0].image_bytes == b"png"
    async with make(Recorder(ok())) as client:
        assert client.image_size((256, 256)) == "256x256"
        with pytest.raises(RequestValidationError):
            await client.generate_images("m", " ")
        with pytest.raises(RequestValidationError, match="between 1 and 10"):
            await client.generate_images("m", "x", n=11)


async def test_embeddings_float_and_base64() -> None:
    vec = [0.5, -0.25, 1.0]
    b64 = base64.b64encode(struct.pack("<3f", *vec)).decode()
    rec = Recorder(
        httpx.Response(
            200,
            json={
                "data": [{"index": 1, "embedding": b64}, {"index": 0, "embedding": vec}],
                "model": "e",
            },
        )
    )
    async with make(rec) as client:
        result = await client.embeddings("e", ["a", "b"], dimensions=3)
    assert rec.body() == {"model": "e", "input": ["a", "b"], "dimensions": 3}
    assert result.vectors == [vec, vec]
    assert result.usage.estimated and result.usage.prompt_tokens == 2


async def test_speech_and_transcription_shapes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.path.endswith("/audio/speech"):
            return httpx.Response(200, content=b"ID3audio", headers={"content-type": "audio/mpeg"})
        assert b'name="model"' in request.content and b"whisper-1" in request.content
        assert b'filename="a.wav"' in request.content and b"RIFFdata" in request.content
        assert b'name="language"' in request.content
        vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.\n\n00:00:01.500 --> 00:00:03.000\nSecond line.\n"
        return httpx.Response(200, text=vtt, headers={"content-type": "text/vtt"})

    async with make(handler) as client:
        speech = await client.speech(
            "tts-1", "Hello", voice="nova", response_format="mp3", speed=1.5
        )
        assert speech.audio == b"ID3audio" and speech.content_type == "audio/mpeg"
        text = await client.transcribe(
            ("a.wav", b"RIFFdata", "audio/wav"), "whisper-1", language="en", response_format="vtt"
        )
        with pytest.raises(RequestValidationError, match="Speed"):
            await client.speech("tts-1", "x", speed=9)
    assert text.text == "Hello there. Second line."
    assert [(s.start, s.end) for s in text.segments] == [(0.0, 1.5), (1.5, 3.0)]


async def test_moderation_result() -> None:
    body = {
        "id": "m",
        "results": [
            {
                "flagged": True,
                "categories": {"violence": True, "hate": False},
                "category_scores": {},
            }
        ],
    }
    rec = Recorder(httpx.Response(200, json=body))
    async with make(rec) as client:
        result = await client.moderate("text", model="omni")
    assert result.flagged and result.results[0].flagged_categories == ["violence"]
    assert rec.body() == {"input": "text", "model": "omni"}


async def test_legacy_completion_payload() -> None:
    body = {
        "id": "c",
        "choices": [{"index": 0, "text": " done", "finish_reason": "stop"}],
        "usage": None,
    }
    rec = Recorder(httpx.Response(200, json=body))
    async with make(rec) as client:
        result = await client.complete("m", "Say", max_tokens=5, stop=["\n"])
        with pytest.raises(RequestValidationError, match="Temperature"):
            await client.complete("m", "Say", temperature=9)
    assert rec.body() == {"model": "m", "prompt": "Say", "max_tokens": 5, "stop": ["\n"]}
    assert result.text == " done" and result.usage.estimated


async def test_client_lifecycle() -> None:
    client = make(Recorder(ok()))
    assert not client.is_closed and "key=set" in repr(client) and KEY not in repr(client)
    await client.aclose()
    assert client.is_closed


async def test_download_sends_the_key_only_to_the_provider() -> None:
    rec = Recorder(
        httpx.Response(200, content=b"\x89PNG", headers={"content-type": "image/png; x=1"})
    )
    async with make(rec) as client:
        own = await client.download("https://api.unit.test/files/a.png")
        other = await client.download("https://storage.example/a.png")
    assert own == other == (b"\x89PNG", "image/png")
    assert rec.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert "authorization" not in rec.requests[1].headers


async def test_redirect_loops_become_connection_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": str(request.url)})

    async with make(handler) as client:
        with pytest.raises(ApiConnectionError, match="redirects"):
            await client.list_models()


async def test_odd_model_entries_keep_their_ids() -> None:
    models = {
        "data": [{"id": "a", "created": "2024-01-01", "pricing": "free"}, {"id": "b", "created": 5}]
    }
    async with make(Recorder(httpx.Response(200, json=models))) as client:
        listing = await client.list_models()
    assert listing.ids == ["a", "b"] and listing.models[1].created == 5


async def test_a_header_set_in_the_profile_survives_without_a_key() -> None:
    rec = Recorder(httpx.Response(200, json={"data": []}))
    async with make(
        rec, key=None, prof=profile(headers={"Authorization": "Basic dXNlcjpwYXNz"})
    ) as client:
        await client.list_models()
    assert rec.requests[0].headers["authorization"] == "Basic dXNlcjpwYXNz"
