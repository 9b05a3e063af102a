"""The client against the local OpenAI-compatible server over real loopback HTTP: every
endpoint, every seed provider's flavour, every fault."""

from __future__ import annotations

import asyncio
import io
import re
import socket
import time
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile

from app.api import (
    ApiClient,
    ApiConnectionError,
    ApiTimeoutError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    ConflictError,
    GatewayTimeoutError,
    InsufficientCreditsError,
    NotFoundError,
    ProviderProfile,
    RateLimitError,
    RequestValidationError,
    RetryPolicy,
    StreamInterruptedError,
)
from tests.helpers.fixtures import TEST_API_KEY
from tests.helpers.openai_server import OpenAIServer

HELLO = [{"role": "user", "content": "What is a monad?"}]
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05)


def prof(server: OpenAIServer, **kw: Any) -> ProviderProfile:
    return ProviderProfile(
        **{"id": "local-test", "name": "Local test", "base_url": server.base_url, **kw}
    )


def client_for(server: OpenAIServer, key: str | None = None, **kw: Any) -> ApiClient:
    profile_kw = {k: kw.pop(k) for k in list(kw) if k in ProviderProfile.model_fields}
    kw.setdefault("retry_policy", FAST)
    return ApiClient(prof(server, **profile_kw), key, **kw)


async def stream_text(client: ApiClient, **req: Any) -> tuple[list[Any], Any]:
    async with client.stream_chat({"messages": HELLO, **req}) as stream:
        deltas = [d async for d in stream]
    return deltas, stream.result


# --------------------------------------------------------------------------- models & auth


async def test_models_on_every_path(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server) as client:
        listing = await client.list_models()
        assert "gpt-test" in listing.ids and listing.models[0].owned_by == "palaver-test"
        assert listing.models[0].price.input_per_m == 2.5  # type: ignore[union-attr]
        info = await client.get_model("gpt-test")
        assert info.id == "gpt-test" and info.meta.status == 200  # type: ignore[union-attr]
        with pytest.raises(NotFoundError, match="missing-model"):
            await client.get_model("missing-model")
    async with client_for(openai_server, paths={"models": "/api/v1/chat/models"}) as client:
        assert "flux" in (await client.list_models()).ids
    assert [r.path for r in openai_server.requests][-1] == "/api/v1/chat/models"


async def test_keys(openai_server_with_key: OpenAIServer) -> None:
    server = openai_server_with_key
    async with client_for(server, TEST_API_KEY) as client:
        assert (await client.chat({"model": "gpt-test", "messages": HELLO})).text
    assert server.requests[-1].headers["authorization"] == f"Bearer {TEST_API_KEY}"
    async with client_for(server, "sk-wrong-key-000000") as client:
        with pytest.raises(AuthenticationError) as info:
            await client.list_models()
    assert info.value.user_message.startswith("The API key was rejected (401)")
    assert "Local test" in info.value.user_message and len(server.requests) == 2  # no retry
    async with client_for(server) as client:
        with pytest.raises(AuthenticationError, match="didn't provide"):
            await client.chat({"model": "gpt-test", "messages": HELLO})


# --------------------------------------------------------------------------- chat


async def test_chat_whole_with_meta(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server) as client:
        result = await client.chat({"model": "gpt-test", "messages": HELLO, "temperature": 0.2})
    assert '"What is a monad?"' in result.text and "```python" in result.text
    assert result.usage.completion_tokens > 0 and not result.usage.estimated
    meta = result.meta
    assert meta.request_id and meta.request_id.startswith("req_test_") and meta.status == 200
    assert meta.rate_limit.limit_requests == 60 and meta.rate_limit.remaining_requests is not None
    assert (
        meta.rate_limit.limit_requests_day == 10000 and 0 <= meta.rate_limit.reset_requests_s <= 60
    )
    recorded = openai_server.requests[-1]
    assert recorded.json == {"model": "gpt-test", "messages": HELLO, "temperature": 0.2}
    assert recorded.headers["idempotency-key"] == meta.idempotency_key


async def test_chat_streamed_token_by_token(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server) as client:
        deltas, result = await stream_text(client, model="gpt-test?tokens=500")
        whole = await client.chat({"model": "gpt-test?tokens=500", "messages": HELLO})
    assert sum(1 for d in deltas if d.content) == 500
    assert (
        result.text == whole.text
        and result.usage.completion_tokens == 500
        and not result.usage.estimated
    )
    assert result.meta.ttft_s is not None and result.meta.tokens_per_s
    assert openai_server.requests[0].json["stream_options"] == {"include_usage": True}


async def test_n_choices_and_tool_calls(openai_server: OpenAIServer) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    async with client_for(openai_server) as client:
        _, result = await stream_text(client, model="gpt-test", n=3)
        assert [c.index for c in result.choices] == [0, 1, 2]
        assert result.choices[1].message.content.startswith("[1] ")  # type: ignore[union-attr]
        whole = await client.chat({"model": "gpt-test", "messages": HELLO, "n": 2})
        assert len(whole.choices) == 2
        _, streamed = await stream_text(client, model="gpt-test?tools=2", tools=tools)
        whole = await client.chat({"model": "gpt-test?tools=2", "messages": HELLO, "tools": tools})
    calls = streamed.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["lookup", "lookup"]
    assert calls[0].function.arguments == '{"city":"What is a monad?","day":0}'
    assert [c.model_dump() for c in calls] == [
        c.model_dump() for c in whole.choices[0].message.tool_calls
    ]
    assert streamed.choices[0].finish_reason == "tool_calls"


async def test_spafe_flavour(openai_server: OpenAIServer) -> None:
    async with client_for(
        openai_server, key_required=False, stream_usage="never", chat_image_models=["flux"]
    ) as client:
        deltas, result = await stream_text(client, model="gpt-4o?flavor=spafe")
        whole = await client.chat({"model": "gpt-4o?flavor=spafe", "messages": HELLO})
        image = await client.chat(
            {"model": "flux", "messages": [{"role": "user", "content": "a red fox"}]}
        )
        png, png_type = await client.download(image.image_urls[0])
    assert (
        len(deltas) == 2 and deltas[0].content == result.text and deltas[1].finish_reason == "stop"
    )
    assert result.usage.estimated and whole.usage.estimated and whole.usage.completion_tokens > 0
    assert "stream_options" not in openai_server.requests[0].json
    assert image.image_urls[0].startswith(openai_server.origin)
    assert png.startswith(b"\x89PNG") and png_type == "image/png"


async def test_seed004_flavour_paths_and_usage_chunk(openai_server: OpenAIServer) -> None:
    paths = {
        "chat": "/api/v1/chat/completions",
        "models": "/api/v1/chat/models",
        "model": "/v1/models/{model}",
    }
    async with client_for(openai_server, paths=paths, stream_usage="always") as client:
        assert "gpt-test" in (await client.list_models()).ids
        _, result = await stream_text(client, model="gpt-4o?flavor=seed004")
        with pytest.raises(BadRequestError) as info:
            await client.chat({"model": "gpt-4o?fault=400", "messages": HELLO})
    assert [r.path for r in openai_server.requests[:2]] == [
        "/api/v1/chat/models",
        "/api/v1/chat/completions",
    ]
    assert "stream_options" not in openai_server.requests[1].json
    assert not result.usage.estimated and result.usage.completion_tokens > 0
    assert info.value.param == "temperature" and "temperature" in info.value.user_message


async def test_server_side_validation_messages_name_the_field(openai_server: OpenAIServer) -> None:
    async with httpx.AsyncClient() as raw:
        answer = await raw.post(
            openai_server.base_url + "/chat/completions",
            json={"model": "m", "messages": HELLO, "top_p": 3},
        )
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "top_p"


async def test_llamacpp_detail_errors(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server, max_retries=0) as client:
        with pytest.raises(InsufficientCreditsError) as info:
            await client.chat({"model": "local?flavor=llamacpp&fault=402", "messages": HELLO})
        with pytest.raises(Exception) as text_error:
            await client.chat({"model": "local?errors=text&fault=500", "messages": HELLO})
    assert info.value.message == "Insufficient credits: top up your balance."
    assert text_error.value.message == "The server had an error while processing your request."  # type: ignore[attr-defined]


async def test_a_retry_after_a_time_out_reuses_the_key_and_is_not_charged_twice(
    openai_server: OpenAIServer,
) -> None:
    """Seed 001: the provider finished (and charged) the call the client gave up on; the
    person's Retry sends the same key and body within the window and gets the cached answer."""
    body = {"model": "gpt-test?delay=1.2", "messages": HELLO}
    async with client_for(openai_server, TEST_API_KEY, timeout=0.4, max_retries=0) as client:
        with pytest.raises(ApiTimeoutError):
            await client.chat(body)
        await asyncio.sleep(1.2)  # the server finishes the first call and caches it
        started = time.perf_counter()
        result = await client.chat(body)
        assert time.perf_counter() - started < 1.0  # answered from the cache, no new work
        await client.chat({**body, "model": "gpt-test"})  # another request: a new key
    first, retried, other = (r.headers.get("idempotency-key") for r in openai_server.requests)
    assert first == retried == result.meta.idempotency_key and other not in (None, first)


async def test_stansa_idempotency_replay_and_conflict(openai_server: OpenAIServer) -> None:
    url = openai_server.base_url + "/chat/completions"
    body = {"model": "stansa-g3", "messages": HELLO}
    async with httpx.AsyncClient() as raw:
        first = await raw.post(url, json=body, headers={"Idempotency-Key": "k1"})
        again = await raw.post(url, json=body, headers={"Idempotency-Key": "k1"})
        clash = await raw.post(
            url, json={**body, "temperature": 1}, headers={"Idempotency-Key": "k1"}
        )
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    assert clash.status_code == 409
    async with client_for(openai_server) as client:
        with pytest.raises(ConflictError) as info:
            await client.chat({"model": "stansa-g3?fault=409", "messages": HELLO})
        result = await client.chat({"model": "stansa-g3?fault=500&times=1", "messages": HELLO})
    assert "409" in info.value.user_message
    keys = [r.headers.get("idempotency-key") for r in openai_server.requests[-2:]]
    assert result.meta.attempts == 2 and keys[0] == keys[1] == result.meta.idempotency_key


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("fault", "cls", "words"),
    [
        ("400", BadRequestError, "temperature must be between 0 and 2"),
        ("401", AuthenticationError, "Incorrect API key"),
        ("402", InsufficientCreditsError, "Insufficient credits"),
        ("404", NotFoundError, "does not exist"),
        ("409", ConflictError, "Idempotency key"),
        ("502", BadGatewayError, "502 Bad Gateway"),
    ],
)
async def test_fault_statuses(
    openai_server: OpenAIServer, fault: str, cls: type, words: str
) -> None:
    async with client_for(openai_server, max_retries=0) as client:
        with pytest.raises(cls) as info:
            await client.chat({"model": f"gpt-test?fault={fault}", "messages": HELLO})
        with pytest.raises(cls):
            await stream_text(client, model=f"gpt-test?fault={fault}")
    assert words in info.value.message and info.value.status == int(fault)
    assert "<" not in info.value.user_message and info.value.request_id


async def test_429_retry_after(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server, max_retries=0) as client:
        with pytest.raises(RateLimitError) as info:
            await client.chat({"model": "gpt-test?fault=429&retry_after=7", "messages": HELLO})
    assert info.value.retry_after == 7
    async with client_for(openai_server, max_retries=2) as client:
        started = time.perf_counter()
        result = await client.chat(
            {"model": "gpt-test?fault=429&retry_after=0.2&times=1", "messages": HELLO}
        )
        waited = time.perf_counter() - started
    assert result.meta.attempts == 2 and waited >= 0.2


async def test_5xx_retried_then_fine(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server, max_retries=2) as client:
        result = await client.chat({"model": "gpt-test?fault=502&times=2", "messages": HELLO})
        assert result.meta.attempts == 3
        with pytest.raises(BadGatewayError):
            await stream_text(
                client, model="gpt-test?fault=502&times=1"
            )  # streams are not retried on 5xx


async def test_504_after_a_delay(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server, max_retries=0) as client:
        started = time.perf_counter()
        with pytest.raises(GatewayTimeoutError, match="3-minute upstream limit"):
            await client.chat({"model": "gpt-test?fault=504&delay=0.3", "messages": HELLO})
        assert time.perf_counter() - started >= 0.3
    async with client_for(openai_server, max_retries=0, timeout=0.2) as client:
        with pytest.raises(ApiTimeoutError):
            await client.chat({"model": "gpt-test?fault=504&delay=1", "messages": HELLO})


async def test_dropped_stream_keeps_the_partial_answer(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server) as client:
        with pytest.raises(StreamInterruptedError) as info:
            await stream_text(client, model="gpt-test?tokens=100&fault=drop&drop_after=40")
    partial = info.value.partial
    assert len(partial.text) > 0 and partial.usage.estimated
    assert len(openai_server.requests) == 1  # never retried after the first byte


async def test_malformed_line_and_sse_comments_do_not_stop_a_stream(
    openai_server: OpenAIServer,
) -> None:
    async with client_for(openai_server) as client:
        _, clean = await stream_text(client, model="gpt-test")
        _, malformed = await stream_text(client, model="gpt-test?fault=malformed")
        _, comments = await stream_text(client, model="gpt-test?fault=comments")
    assert malformed.text == clean.text == comments.text


async def test_slow_drip_measures_ttft_and_rate(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server) as client:
        started = time.perf_counter()
        _, result = await stream_text(client, model="gpt-test?tokens=15&rate=50")
    elapsed = time.perf_counter() - started
    assert elapsed >= 0.25
    assert result.meta.ttft_s is not None and result.meta.ttft_s < 0.25
    assert 15 <= result.meta.tokens_per_s <= 150  # type: ignore[operator]


async def test_cancelling_a_slow_stream(openai_server: OpenAIServer) -> None:
    got: list[str] = []
    async with client_for(openai_server) as client:

        async def consume() -> None:
            async with client.stream_chat(
                {"model": "gpt-test?fault=slow&rate=20", "messages": HELLO}
            ) as stream:
                async for delta in stream:
                    got.append(delta.content or "")

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (
            got and (await client.chat({"model": "gpt-test", "messages": HELLO})).text
        )  # client still fine


async def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    profile = ProviderProfile(id="gone", name="Gone", base_url=f"http://127.0.0.1:{port}/v1")
    async with ApiClient(profile, retry_policy=FAST, max_retries=1) as client:
        with pytest.raises(ApiConnectionError, match="refused"):
            await client.list_models()


# --------------------------------------------------------------------------- other endpoints


async def test_legacy_completions(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server) as client:
        whole = await client.complete("gpt-test", "Say this is a test", max_tokens=20)
        async with client.stream_complete(
            "gpt-test?fault=malformed", "Say this is a test"
        ) as stream:
            pieces = [d.text async for d in stream]
    assert whole.text == " This is a test completion for: Say this is a test"
    assert "".join(pieces) == whole.text == stream.result.text
    assert not stream.result.usage.estimated


async def test_embeddings_are_deterministic(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server) as client:
        a = await client.embeddings("text-embedding-test", ["The food was delicious", "x"])
        b = await client.embeddings("text-embedding-test", "The food was delicious", dimensions=32)
    assert len(a.vectors) == 2 and len(a.vectors[0]) == 16 and len(b.vectors[0]) == 32
    assert a.vectors[0] != a.vectors[1]
    assert abs(sum(v * v for v in a.vectors[0]) - 1.0) < 1e-3
    assert a.usage.prompt_tokens > 0


async def test_images_b64_url_and_size_spelling(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server) as client:
        inline = await client.generate_images("dall-e-test", "a lighthouse", n=2, size=(64, 32))
        linked = await client.generate_images(
            "dall-e-test", "a lighthouse", size="48x48", response_format="url"
        )
        fetched, fetched_type = await client.download(linked.data[0].url)  # type: ignore[arg-type]
        with pytest.raises(NotFoundError):
            await client.download(openai_server.origin + "/files/nope.png")
        with pytest.raises(RequestValidationError):
            await client.download("file:///etc/passwd")
        with pytest.raises(BadRequestError, match="size must be spelled W\\*H"):
            await client.generate_images("sdxl?flavor=seed002", "x", size=(64, 64))
    png = inline.data[0].image_bytes
    assert (
        png is not None
        and png.startswith(b"\x89PNG")
        and png[16:24] == (64).to_bytes(4, "big") + (32).to_bytes(4, "big")
    )
    assert len(inline.data) == 2 and fetched_type == "image/png" and fetched.startswith(b"\x89PNG")
    async with client_for(openai_server, image_size_separator="*") as client:
        seed002 = await client.generate_images("sdxl?flavor=seed002", "x", size=(64, 64))
    assert openai_server.requests[-1].json["size"] == "64*64" and seed002.data[0].b64_json


@pytest.mark.parametrize(
    ("fmt", "ctype"), [("wav", "audio/wav"), ("mp3", "audio/mpeg"), ("flac", "audio/flac")]
)
async def test_speech_is_real_audio(openai_server: OpenAIServer, fmt: str, ctype: str) -> None:
    async with client_for(openai_server) as client:
        speech = await client.speech(
            "tts-test", "Hello from Palaver", voice="onyx", response_format=fmt
        )
        async with client.stream_speech(
            "tts-test", "Hello from Palaver", voice="onyx", response_format=fmt
        ) as stream:
            streamed = b"".join([piece async for piece in stream])
            assert stream.content_type == ctype
    assert speech.content_type == ctype and streamed == speech.audio
    samples, rate = soundfile.read(io.BytesIO(speech.audio))
    assert rate == 24000 and len(samples) / rate > 0.5
    spectrum = np.abs(np.fft.rfft(samples))
    assert abs(np.argmax(spectrum) * rate / len(samples) - 220) < 5  # onyx is a 220 Hz tone


@pytest.mark.parametrize("fmt", ["json", "text", "srt", "vtt", "verbose_json"])
async def test_transcription_in_every_format(
    openai_server: OpenAIServer, fmt: str, tmp_path: Any
) -> None:
    t = np.arange(int(1.5 * 16000)) / 16000
    path = tmp_path / "tone.wav"
    soundfile.write(path, 0.5 * np.sin(2 * np.pi * 440 * t), 16000)
    async with client_for(openai_server) as client:
        result = await client.transcribe(
            path, "whisper-test", language="en", prompt="tone", response_format=fmt
        )
    assert re.search(r"1\.50 seconds at 16000 Hz, dominant frequency 44\d Hz", result.text), (
        result.text
    )
    recorded = openai_server.requests[-1]
    assert recorded.form["response_format"] == fmt and recorded.files["file"][0] == "tone.wav"
    if fmt in ("srt", "vtt", "verbose_json"):
        assert result.segments and result.segments[0].end == pytest.approx(1.5, abs=0.01)
    if fmt == "verbose_json":
        assert result.language == "en" and result.duration == pytest.approx(1.5)


async def test_undecodable_upload_is_a_clear_400(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server) as client:
        with pytest.raises(BadRequestError, match="Could not decode"):
            await client.transcribe(
                ("notes.txt", b"not audio at all", "text/plain"), "whisper-test"
            )


async def test_moderation(openai_server: OpenAIServer) -> None:
    async with client_for(openai_server) as client:
        result = await client.moderate(["I will attack the castle", "tea time"])
    assert [r.flagged for r in result.results] == [True, False]
    assert result.results[0].flagged_categories == ["violence"]


async def test_openai_profile_fixture(openai_profile: ProviderProfile) -> None:
    async with ApiClient(openai_profile) as client:
        assert (await client.chat({"model": "gpt-test", "messages": HELLO})).text
