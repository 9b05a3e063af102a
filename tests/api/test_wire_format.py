"""The test server speaks the real wire format: the official ``openai`` SDK parses it."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import numpy as np
import openai
import pytest
import soundfile

from tests.helpers.fixtures import TEST_API_KEY
from tests.helpers.openai_server import OpenAIServer

HELLO = [{"role": "user", "content": "Hello SDK"}]


@pytest.fixture
def sdk(openai_server_with_key: OpenAIServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(
        base_url=openai_server_with_key.base_url, api_key=TEST_API_KEY, max_retries=0
    )
    yield client
    client.close()


def test_models(sdk: openai.OpenAI) -> None:
    ids = [m.id for m in sdk.models.list()]
    assert "gpt-test" in ids
    assert sdk.models.retrieve("gpt-test").owned_by == "palaver-test"


def test_chat_whole(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(model="gpt-test", messages=HELLO, n=2)  # type: ignore[arg-type]
    assert completion.object == "chat.completion" and len(completion.choices) == 2
    assert '"Hello SDK"' in (completion.choices[0].message.content or "")
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_chat_streamed_with_usage(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="gpt-test?tokens=50",
        messages=HELLO,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text) > 0 and chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 50
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_chat_streamed_tool_calls(sdk: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    stream = sdk.chat.completions.create(
        model="gpt-test?tools=1", messages=HELLO, tools=tools, stream=True
    )  # type: ignore[arg-type]
    args = ""
    name = None
    for chunk in stream:
        for call in chunk.choices[0].delta.tool_calls or []:
            name = name or (call.function.name if call.function else None)
            args += (call.function.arguments or "") if call.function else ""
    assert name == "lookup" and args == '{"city":"Hello SDK","day":0}'


def test_spafe_stream_parses(sdk: openai.OpenAI) -> None:
    chunks = list(
        sdk.chat.completions.create(model="gpt-4o?flavor=spafe", messages=HELLO, stream=True)
    )  # type: ignore[arg-type]
    assert (
        len(chunks) == 2
        and chunks[0].usage is None
        and chunks[1].choices[0].finish_reason == "stop"
    )


def test_legacy_completions(sdk: openai.OpenAI) -> None:
    completion = sdk.completions.create(model="gpt-test", prompt="Say this is a test")
    assert completion.choices[0].text.startswith(" This is a test completion")


def test_embeddings_default_and_float(sdk: openai.OpenAI) -> None:
    default = sdk.embeddings.create(
        model="text-embedding-test", input=["a", "b"]
    )  # SDK asks for base64
    floats = sdk.embeddings.create(
        model="text-embedding-test", input=["a", "b"], encoding_format="float"
    )
    assert len(default.data) == 2 and len(default.data[0].embedding) == 16
    assert np.allclose(default.data[0].embedding, floats.data[0].embedding, atol=1e-6)
    assert default.usage.prompt_tokens > 0


def test_images(sdk: openai.OpenAI) -> None:
    inline = sdk.images.generate(
        model="dall-e-test", prompt="a fox", size="256x256", response_format="b64_json"
    )
    linked = sdk.images.generate(
        model="dall-e-test", prompt="a fox", size="256x256", response_format="url"
    )
    assert inline.data and base64.b64decode(inline.data[0].b64_json or "").startswith(b"\x89PNG")
    assert linked.data and (linked.data[0].url or "").endswith(".png")


def test_speech(sdk: openai.OpenAI) -> None:
    speech = sdk.audio.speech.create(
        model="tts-test", voice="alloy", input="Hello there", response_format="wav"
    )
    samples, rate = soundfile.read(io.BytesIO(speech.read()))
    assert rate == 24000 and len(samples) > 0
    with sdk.audio.speech.with_streaming_response.create(
        model="tts-test", voice="alloy", input="Hello there", response_format="mp3"
    ) as response:
        audio = b"".join(response.iter_bytes())
    assert len(audio) > 100


def test_transcription_and_moderation(sdk: openai.OpenAI) -> None:
    buffer = io.BytesIO()
    t = np.arange(16000) / 16000
    soundfile.write(buffer, 0.3 * np.sin(2 * np.pi * 330 * t), 16000, format="WAV")
    result = sdk.audio.transcriptions.create(
        model="whisper-test", file=("tone.wav", buffer.getvalue(), "audio/wav")
    )
    assert "1.00 seconds at 16000 Hz" in result.text
    assert sdk.moderations.create(input="I hate this").results[0].flagged


@pytest.mark.parametrize(
    ("fault", "cls"),
    [
        ("400", openai.BadRequestError),
        ("404", openai.NotFoundError),
        ("409", openai.ConflictError),
        ("429", openai.RateLimitError),
        ("500", openai.InternalServerError),
    ],
)
def test_errors_have_the_openai_shape(sdk: openai.OpenAI, fault: str, cls: type) -> None:
    with pytest.raises(cls) as info:
        sdk.chat.completions.create(model=f"gpt-test?fault={fault}", messages=HELLO)  # type: ignore[arg-type]
    assert info.value.status_code == int(fault)  # type: ignore[attr-defined]


def test_wrong_key_is_an_sdk_authentication_error(openai_server_with_key: OpenAIServer) -> None:
    client = openai.OpenAI(
        base_url=openai_server_with_key.base_url, api_key="sk-wrong", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    client.close()
