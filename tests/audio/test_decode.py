"""Decoding files and bytes: every writable format round-trips, bad input is a typed error."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.audio import (
    PCM_SAMPLERATE,
    Clip,
    DecodeError,
    UnsupportedFormat,
    decode,
    decode_async,
    decode_pcm,
    encode,
    save,
    sniff,
)
from tests.helpers.audio_env import dominant_frequency, rms_dbfs, tone

TONE = Clip.from_array(tone(440.0, 1.0, samplerate=24_000, amplitude=0.5), 24_000)


def test_pcm_is_raw_24khz_16bit_mono_little_endian() -> None:
    data = struct.pack("<4h", 0, 16384, -32768, 32767) + b"\x01"  # odd trailing byte
    clip = decode(data, "pcm")
    assert clip.samplerate == PCM_SAMPLERATE == 24_000
    assert clip.channels == 1 and clip.frames == 4
    assert clip.samples[:, 0].tolist() == pytest.approx([0.0, 0.5, -1.0, 32767 / 32768])


def test_pcm_speech_from_a_file_by_its_suffix(tmp_path: Path) -> None:
    ints = (TONE.samples[:, 0] * 32767).astype("<i2")
    path = tmp_path / "speech.pcm"
    path.write_bytes(ints.tobytes())
    clip = decode(path)
    assert clip.duration == pytest.approx(1.0)
    assert dominant_frequency(clip.samples, clip.samplerate) == pytest.approx(440, abs=1)


@pytest.mark.parametrize("format", ["wav", "flac", "ogg", "opus", "mp3"])
def test_round_trip_keeps_pitch_level_and_length(format: str, tmp_path: Path) -> None:
    path = save(TONE, tmp_path / f"tone.{format}")
    assert sniff(path.read_bytes()[:64]) == ("ogg" if format == "opus" else format)
    for clip in (decode(path), decode(path.read_bytes())):
        assert dominant_frequency(clip.samples, clip.samplerate) == pytest.approx(440, abs=2)
        assert rms_dbfs(clip.samples) == pytest.approx(rms_dbfs(TONE.samples), abs=1.0)
        # Lossy codecs add encoder delay and padding: a few tens of milliseconds at most.
        assert clip.duration == pytest.approx(1.0, abs=0.1)


def test_encode_in_memory_matches_saving(tmp_path: Path) -> None:
    data = encode(TONE, "flac")
    info = sf.info(str(save(TONE, tmp_path / "t.flac")))
    assert data[:4] == b"fLaC"
    assert decode(data).frames == info.frames == TONE.frames


async def test_decode_async_runs_off_the_loop(tmp_path: Path) -> None:
    clip = await decode_async(save(TONE, tmp_path / "t.wav"))
    assert clip.frames == TONE.frames


def test_corrupt_file_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.wav"
    good = save(TONE, tmp_path / "good.wav").read_bytes()
    path.write_bytes(good[:12] + b"\x00garbage" * 10)  # a RIFF/WAVE header and then junk
    with pytest.raises(DecodeError, match=r"broken\.wav.*not audio that can be read"):
        decode(path)


def test_random_bytes_are_a_typed_error() -> None:
    noise = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with pytest.raises(DecodeError, match="not audio"):
        decode(b"\x00\x01" + noise)


def test_json_instead_of_audio_says_so() -> None:
    body = b'{"error": {"message": "Invalid voice", "type": "invalid_request_error"}}'
    with pytest.raises(DecodeError, match=r"JSON, not audio.*Invalid voice") as caught:
        decode(body, "mp3")
    assert not isinstance(caught.value, UnsupportedFormat)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    with pytest.raises(DecodeError, match="empty"):
        decode(empty)
    with pytest.raises(DecodeError, match="could not be opened"):
        decode(tmp_path / "missing.wav")
    with pytest.raises(DecodeError, match="empty"):
        decode_pcm(b"\x01")


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + bytes(40), "M4A"),
        (b"\x1a\x45\xdf\xa3" + bytes(60), "WebM"),
        (b"\xff\xf1\x50\x80" + bytes(60), "AAC"),
    ],
    ids=["m4a", "webm", "aac"],
)
def test_formats_soundfile_cannot_decode_say_so(head: bytes, name: str) -> None:
    with pytest.raises(UnsupportedFormat, match=rf"{name}.*audio cannot be played here") as caught:
        decode(head)
    assert "transcription" in str(caught.value)


def test_clip_helpers() -> None:
    stereo = Clip.from_array(np.stack([TONE.samples[:, 0], -TONE.samples[:, 0]], axis=1), 24_000)
    assert stereo.channels == 2
    assert np.allclose(stereo.mixed_to(1).samples, 0.0)
    assert TONE.mixed_to(2).channels == 2
    faster = TONE.resampled(48_000)
    assert faster.frames == 48_000
    assert dominant_frequency(faster.samples, 48_000) == pytest.approx(440, abs=1)
    with pytest.raises(ValueError):
        Clip(np.zeros(10, dtype=np.float32), 24_000)
