"""Saving clips and preparing files for a transcription upload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.audio import (
    Clip,
    DecodeError,
    EncodeError,
    UnsupportedFormat,
    decode,
    prepare_upload,
    prepare_upload_async,
    save,
    save_async,
)
from tests.helpers.audio_env import dominant_frequency, tone

TONE = Clip.from_array(tone(440.0, 1.0, samplerate=24_000), 24_000)


def test_save_picks_the_format_from_the_suffix_or_the_argument(tmp_path: Path) -> None:
    assert sf.info(str(save(TONE, tmp_path / "a.flac"))).format == "FLAC"
    assert sf.info(str(save(TONE, tmp_path / "b.audio", "wav"))).format == "WAV"


async def test_save_async(tmp_path: Path) -> None:
    path = await save_async(TONE, tmp_path / "c.ogg")
    assert sf.info(str(path)).format == "OGG"


def test_save_refuses_unknown_formats_and_bad_places(tmp_path: Path) -> None:
    with pytest.raises(EncodeError, match="choose one of"):
        save(TONE, tmp_path / "a.m4a")
    with pytest.raises(EncodeError):
        save(TONE, tmp_path / "missing-dir" / "a.wav")


def test_opus_at_an_odd_rate_is_resampled(tmp_path: Path) -> None:
    odd = Clip.from_array(tone(440.0, 0.5, samplerate=22_050), 22_050)
    clip = decode(save(odd, tmp_path / "odd.opus"))
    assert dominant_frequency(clip.samples, clip.samplerate) == pytest.approx(440, abs=2)


def test_accepted_files_are_sent_as_they_are(tmp_path: Path) -> None:
    for name in ("a.mp3", "a.flac", "a.wav"):
        path = save(TONE, tmp_path / name)
        assert prepare_upload(path) == path
    m4a = tmp_path / "voice.m4a"
    m4a.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(100))
    assert prepare_upload(m4a) == m4a


def test_raw_pcm_becomes_flac(tmp_path: Path) -> None:
    pcm = tmp_path / "speech.pcm"
    pcm.write_bytes((TONE.samples[:, 0] * 32767).astype("<i2").tobytes())
    upload = prepare_upload(pcm, dest_dir=tmp_path)
    assert upload.suffix == ".flac" and upload.parent == tmp_path
    info = sf.info(str(upload))
    assert info.samplerate == 24_000 and info.frames == TONE.frames


async def test_unaccepted_readable_formats_are_converted(tmp_path: Path) -> None:
    aiff = tmp_path / "take.aiff"
    sf.write(str(aiff), TONE.samples, 24_000, format="AIFF")
    upload = await prepare_upload_async(aiff, dest_dir=tmp_path)
    assert upload != aiff and sf.info(str(upload)).format == "FLAC"
    clip = decode(upload)
    assert dominant_frequency(clip.samples, clip.samplerate) == pytest.approx(440, abs=1)


def test_a_wav_over_the_limit_is_shrunk_to_flac(tmp_path: Path) -> None:
    wav = save(TONE, tmp_path / "big.wav")
    upload = prepare_upload(wav, max_bytes=wav.stat().st_size - 1, dest_dir=tmp_path)
    assert upload.suffix == ".flac"
    assert upload.stat().st_size < wav.stat().st_size
    assert sf.info(str(upload)).frames == TONE.frames


def test_an_incompressible_file_over_the_limit_becomes_mp3(tmp_path: Path) -> None:
    # Noise barely shrinks as FLAC, so only MP3 gets it under the limit.
    noise = np.random.default_rng(7).uniform(-0.5, 0.5, 48_000).astype(np.float32)
    wav = save(Clip.from_array(noise, 24_000), tmp_path / "noise.wav")
    limit = wav.stat().st_size // 2
    upload = prepare_upload(wav, max_bytes=limit, dest_dir=tmp_path)
    assert upload.suffix == ".mp3" and upload.stat().st_size <= limit
    assert decode(upload).duration == pytest.approx(2.0, abs=0.1)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".mp3", ".wav"]  # no FLAC left


def test_too_long_even_as_mp3_is_a_clear_error(tmp_path: Path) -> None:
    wav = save(TONE, tmp_path / "speech.wav")
    with pytest.raises(EncodeError, match="too long to upload"):
        prepare_upload(wav, max_bytes=100, dest_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["speech.wav"]


def test_unreadable_files_are_typed_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.xyz"
    junk.write_bytes(b"\x00\x01\x02\x03" * 64)
    with pytest.raises(DecodeError):
        prepare_upload(junk, dest_dir=tmp_path)
    assert list(tmp_path.glob("junk-*.flac")) == []  # no half-written copy left behind
    webm = tmp_path / "clip.mkv"
    webm.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(100))
    with pytest.raises(UnsupportedFormat):
        prepare_upload(webm, dest_dir=tmp_path)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(DecodeError, match="empty"):
        prepare_upload(empty)
