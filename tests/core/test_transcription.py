"""Transcription against a real store and the local server, which reports what it heard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import soundfile as sf

from app.api import ProviderProfile
from app.core.context import AppContext
from app.core.transcription import (
    RESPONSE_FORMATS,
    TranscriptionError,
    TranscriptionRequest,
    export,
    format_timestamp,
    transcribe_file,
    transcription_models,
)
from app.paths import AppPaths
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.audio_env import tone
from tests.helpers.openai_server import OpenAIServer


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path / "profile"))
    context.registry.add(
        local_provider(
            openai_server,
            capabilities={"transcription": True},
            prices={"stt": {"per_audio_minute": 0.006}},
        )
    )
    yield context
    await context.close()


def _tone_file(path: Path, seconds: float = 1.5, frequency: float = 440.0) -> Path:
    sf.write(str(path), tone(frequency, seconds, samplerate=16_000), 16_000)
    return path


@pytest.mark.parametrize("response_format", RESPONSE_FORMATS)
async def test_every_response_format_gives_the_transcript(
    ctx: AppContext, tmp_path: Path, response_format: str
) -> None:
    source = _tone_file(tmp_path / "tone.flac")
    steps: list[str] = []
    item = await transcribe_file(
        ctx.store,
        ctx.clients,
        source,
        TranscriptionRequest("local", "stt", response_format=response_format, language="en"),
        progress=steps.append,
    )
    assert "1.50 seconds at 16000 Hz, dominant frequency 440 Hz" in item.transcript
    assert any(s.startswith("Uploading") for s in steps)
    if response_format in ("verbose_json", "srt", "vtt"):
        assert len(item.segments) == 1
        assert item.segments[0]["end"] == pytest.approx(1.5, abs=0.01)
    assert item.duration_s == pytest.approx(1.5, abs=0.01)
    assert item.options["response_format"] == response_format
    assert item.options["file_name"] == "tone.flac"
    assert item.source is not None and ctx.store.blob_path(item.source).read_bytes() == (
        source.read_bytes()
    )
    row = (await ctx.store.usage_entries())[0]
    assert row["endpoint"] == "transcriptions"
    assert row["audio_seconds"] == pytest.approx(1.5, abs=0.01)
    assert row["cost"] == pytest.approx(0.006 * 1.5 / 60, rel=0.01)
    assert ctx.store.list_transcriptions()[0].id == item.id
    hits = await ctx.store.search("dominant")
    assert hits, "transcripts are searchable"


async def test_unaccepted_formats_are_converted_and_the_copy_removed(
    ctx: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    source = tmp_path / "tone.aiff"
    sf.write(str(source), tone(330.0, 1.0, samplerate=22_050), 22_050, format="AIFF")
    item = await transcribe_file(
        ctx.store, ctx.clients, source, TranscriptionRequest("local", "stt")
    )
    assert "dominant frequency 330 Hz" in item.transcript
    assert list((tmp_path / "tmp").iterdir()) == []


async def test_bad_inputs_say_why(ctx: AppContext, tmp_path: Path) -> None:
    request = TranscriptionRequest("local", "stt")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(TranscriptionError, match="empty"):
        await transcribe_file(ctx.store, ctx.clients, empty, request)
    with pytest.raises(TranscriptionError, match="could not be opened"):
        await transcribe_file(ctx.store, ctx.clients, tmp_path / "missing.wav", request)
    garbage = tmp_path / "notes.xyz"
    garbage.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(TranscriptionError, match="not audio that can be read"):
        await transcribe_file(ctx.store, ctx.clients, garbage, request)
    # A file that claims to be WAV goes as it is; the provider's refusal is shown plainly.
    liar = tmp_path / "liar.wav"
    liar.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(TranscriptionError, match="decode"):
        await transcribe_file(ctx.store, ctx.clients, liar, request)
    with pytest.raises(TranscriptionError, match="Temperature"):
        await transcribe_file(
            ctx.store, ctx.clients, liar, TranscriptionRequest("local", "stt", temperature=3)
        )
    assert ctx.store.list_transcriptions() == []


@pytest.mark.slow
async def test_provider_error_is_plain_and_in_the_ledger(ctx: AppContext, tmp_path: Path) -> None:
    source = _tone_file(tmp_path / "t.wav")
    with pytest.raises(TranscriptionError) as caught:
        await transcribe_file(
            ctx.store, ctx.clients, source, TranscriptionRequest("local", "m?fault=429")
        )
    assert "rate" in caught.value.user_message.lower()
    row = (await ctx.store.usage_entries())[0]
    assert row["status"].startswith("error:")


async def test_cancel_keeps_only_the_stopped_call(ctx: AppContext, tmp_path: Path) -> None:
    source = _tone_file(tmp_path / "t.wav")
    task = asyncio.create_task(
        transcribe_file(ctx.store, ctx.clients, source, TranscriptionRequest("local", "s?delay=5"))
    )
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ctx.store.list_transcriptions() == []
    assert (await ctx.store.usage_entries())[0]["status"] == "stopped"


async def test_exports(ctx: AppContext, tmp_path: Path) -> None:
    source = _tone_file(tmp_path / "t.wav", seconds=2.0)
    verbose = await transcribe_file(
        ctx.store,
        ctx.clients,
        source,
        TranscriptionRequest("local", "stt", response_format="verbose_json"),
    )
    srt = export(verbose, "srt")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:02,000\nTest transcription")
    vtt = export(verbose, "vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nTest transcription")
    assert export(verbose, "txt") == verbose.transcript + "\n"
    # Plain json has no timings: one cue over the whole recording.
    plain = await transcribe_file(
        ctx.store, ctx.clients, source, TranscriptionRequest("local", "stt", response_format="json")
    )
    assert "00:00:00,000 --> 00:00:02,000" in export(plain, "srt")
    # What the provider sent as srt is saved exactly.
    sent = await transcribe_file(
        ctx.store, ctx.clients, source, TranscriptionRequest("local", "stt", response_format="srt")
    )
    assert export(sent, "srt") == sent.options["raw"]


def test_timestamps_and_models() -> None:
    assert format_timestamp(3725.5) == "01:02:05,500"
    assert format_timestamp(0.0004, ".") == "00:00:00.000"
    profile = ProviderProfile(
        id="g", name="G", base_url="http://x/v1", models=["whisper-large-v3", "llama"]
    )
    assert transcription_models(profile) == ["whisper-large-v3"]
    assert transcription_models(ProviderProfile(id="h", name="H", base_url="http://x/v1")) == [
        "whisper-1"
    ]


async def test_deleting_a_transcript_removes_it_from_search_and_disk(
    ctx: AppContext, tmp_path: Path
) -> None:
    from app.core.transcription import delete_transcription

    item = await transcribe_file(
        ctx.store, ctx.clients, _tone_file(tmp_path / "t.wav"), TranscriptionRequest("local", "stt")
    )
    assert item.source is not None
    audio = ctx.store.blob_path(item.source)
    assert audio.exists() and await ctx.store.search("dominant")
    await delete_transcription(ctx.store, item.id)
    assert ctx.store.list_transcriptions() == [] and not audio.exists()
    assert not await ctx.store.search("dominant")
