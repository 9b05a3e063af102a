"""Text to speech against a real store and the local server over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.api import ProviderProfile
from app.audio import decode
from app.core.clients import ClientPool
from app.core.context import AppContext
from app.core.speech import (
    FORMATS,
    OPENAI_VOICES,
    AudioPrefs,
    Speaker,
    SpeechError,
    SpeechRequest,
    load_clip,
    speech_models,
    synthesize,
    voices_for,
)
from app.paths import AppPaths
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.audio_env import dominant_frequency
from tests.helpers.openai_server import OpenAIServer


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path))
    context.registry.add(
        local_provider(
            openai_server, capabilities={"speech": True}, prices={"tts-test": {"per_m_chars": 15.0}}
        )
    )
    yield context
    await context.close()


async def _ledger(ctx: AppContext) -> list[dict]:  # type: ignore[type-arg]
    return await ctx.store.usage_entries()


@pytest.mark.parametrize("format", [f for f in FORMATS if f != "aac"])
async def test_every_format_is_kept_decoded_and_accounted(ctx: AppContext, format: str) -> None:
    received: list[int] = []
    text = "Hello there, this is a test."
    outcome = await synthesize(
        ctx.store,
        ctx.clients,
        SpeechRequest("local", "tts-test", text, voice="nova", format=format),
        progress=received.append,
    )
    assert received and received[-1] == len(outcome.audio)
    assert outcome.path.read_bytes() == outcome.audio
    item = outcome.item
    assert (item.text, item.voice, item.format, item.model) == (text, "nova", format, "tts-test")
    # Replays offline from the stored blob: the server's "nova" is a 660 Hz tone.
    clip = await load_clip(ctx.store, ctx.store.list_speech()[0])
    assert clip.duration == pytest.approx(len(text) * 0.06, abs=0.1)
    assert dominant_frequency(clip.samples, clip.samplerate) == pytest.approx(660, abs=5)
    row = (await _ledger(ctx))[0]
    assert row["endpoint"] == "speech" and row["characters"] == len(text)
    assert row["cost"] == pytest.approx(15.0 * len(text) / 1e6)
    assert item.cost == pytest.approx(row["cost"])


async def test_speed_is_sent_and_kept(ctx: AppContext) -> None:
    outcome = await synthesize(
        ctx.store,
        ctx.clients,
        SpeechRequest("local", "tts-test", "x" * 50, format="wav", speed=2.0),
    )
    assert outcome.item.params == {"speed": 2.0}
    assert decode(outcome.audio).duration == pytest.approx(50 * 0.06 / 2, abs=0.05)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (SpeechRequest("local", "tts-test", "   "), "text is empty"),
        (SpeechRequest("local", "tts-test", "x" * 5000), "at most 4,096"),
        (SpeechRequest("local", "", "hi"), "Choose a speech model"),
        (SpeechRequest("local", "tts-test", "hi", format="ogg"), "Choose a format"),
        (SpeechRequest("local", "tts-test", "hi", speed=9.0), "Speed must be"),
        (SpeechRequest("gone", "tts-test", "hi"), "not configured"),
    ],
)
async def test_bad_requests_say_why(ctx: AppContext, request_: SpeechRequest, message: str) -> None:
    with pytest.raises(SpeechError, match=message):
        await synthesize(ctx.store, ctx.clients, request_)
    assert ctx.store.list_speech() == []


async def test_provider_errors_are_plain_and_in_the_ledger(ctx: AppContext) -> None:
    with pytest.raises(SpeechError) as caught:
        await synthesize(ctx.store, ctx.clients, SpeechRequest("local", "m?fault=402", "hi"))
    assert "credit" in caught.value.user_message.lower()
    row = (await _ledger(ctx))[0]
    assert row["status"].startswith("error:") and row["cost"] == 0
    assert ctx.store.list_speech() == []


async def test_json_instead_of_audio_is_a_clear_error(ctx: AppContext) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"error": {"message": "voice not found"}})

    pool = ClientPool(
        ctx.registry,
        ctx.keys,
        ctx.settings,
        transport_factory=lambda _p: httpx.MockTransport(handler),
    )
    try:
        with pytest.raises(SpeechError, match="JSON instead of audio: voice not found"):
            await synthesize(ctx.store, pool, SpeechRequest("local", "tts-test", "hi"))
    finally:
        await pool.aclose()
    assert ctx.store.list_speech() == []


async def test_cancelling_keeps_nothing_but_the_stopped_call(ctx: AppContext) -> None:
    task = asyncio.create_task(
        synthesize(ctx.store, ctx.clients, SpeechRequest("local", "tts-test?delay=5", "hello"))
    )
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ctx.store.list_speech() == []
    assert (await _ledger(ctx))[0]["status"] == "stopped"


def test_choices_from_the_profile() -> None:
    profile = ProviderProfile(
        id="p",
        name="P",
        base_url="http://x/v1",
        models=["gpt-4o", "gpt-4o-mini-tts", "whisper-1"],
        prices={"tts-1-hd": {"per_m_chars": 30.0}},
        capabilities={"speech": True, "voices": ["Aria", "Ben"]},
    )
    assert speech_models(profile) == ["tts-1-hd", "gpt-4o-mini-tts"]
    assert voices_for(profile) == ("Aria", "Ben")
    assert voices_for(None) == OPENAI_VOICES
    bare = ProviderProfile(id="q", name="Q", base_url="http://x/v1")
    assert speech_models(bare) == ["tts-1"]


def test_prefs_survive_a_restart_and_a_damaged_file(tmp_path: Path) -> None:
    prefs = AudioPrefs(voice="echo", speech_format="wav", output_device="Speakers")
    prefs.save(tmp_path)
    assert AudioPrefs.load(tmp_path) == prefs
    (tmp_path / "audio.json").write_text("{not json")
    assert AudioPrefs.load(tmp_path) == AudioPrefs()
    assert any(p.name.startswith("audio.json.bad-") for p in tmp_path.iterdir())


async def test_speaker_uses_the_saved_choices(ctx: AppContext) -> None:
    AudioPrefs(speech_provider="local", speech_model="tts-test", voice="onyx", speed=1.5).save(
        ctx.paths.config
    )
    speaker = Speaker(ctx.store, ctx.clients, ctx.registry, ctx.paths.config)
    request = speaker.request_for("Read me")
    assert (request.provider_id, request.model, request.voice, request.speed) == (
        "local",
        "tts-test",
        "onyx",
        1.5,
    )
    ctx.registry.remove("local")
    with pytest.raises(SpeechError, match="No provider offers text to speech"):
        speaker.request_for("Read me")


async def test_deleting_a_clip_removes_its_audio_unless_shared(ctx: AppContext) -> None:
    from app.core.speech import delete_clip

    request = SpeechRequest("local", "tts-test", "Same words", format="wav")
    first = await synthesize(ctx.store, ctx.clients, request)
    second = await synthesize(ctx.store, ctx.clients, request)  # the same bytes: one blob
    assert first.path == second.path
    await delete_clip(ctx.store, first.item.id)
    assert [i.id for i in ctx.store.list_speech()] == [second.item.id]
    assert second.path.exists()
    await delete_clip(ctx.store, second.item.id)
    await delete_clip(ctx.store, second.item.id)  # already gone: nothing to do
    assert ctx.store.list_speech() == [] and not second.path.exists()
