"""Decode files and bytes into a :class:`Clip`.

soundfile (libsndfile 1.2.2) reads wav, flac, ogg (vorbis and opus), mp3, aiff and more.
``pcm`` is the OpenAI speech format: raw 24 kHz, 16-bit, mono, little-endian, no header.
m4a/mp4, webm and raw AAC are recognised but cannot be decoded here: they raise
:class:`UnsupportedFormat` (such files can still be uploaded for transcription as they are).
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import numpy as np

from app.audio._clip import Clip
from app.audio._errors import DecodeError, UnsupportedFormat

PCM_SAMPLERATE = 24_000
"""Sample rate of raw ``pcm`` speech (16-bit signed, mono, little-endian)."""

_UNDECODABLE = {
    "m4a": "M4A/MP4 (AAC)",
    "webm": "WebM",
    "aac": "AAC",
}
_TEXT = {"json": "JSON", "html": "an HTML page", "text": "text"}
_SNIFF_BYTES = 64


def sniff(head: bytes) -> str | None:
    """The container format the first bytes announce (``"wav"``, ``"mp3"``, ``"json"``, ...)."""
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if head.startswith(b"ID3"):
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # MPEG frame sync: layer bits 00 mean ADTS AAC, anything else MPEG audio (mp3).
        return "aac" if head[1] & 0x06 == 0 else "mp3"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return "json"
    if stripped[:1] == b"<":
        return "html"
    if stripped and all(32 <= b < 127 or b in (9, 10, 13) for b in stripped[:32]):
        return "text"
    return None


def decode(source: bytes | str | Path, format: str | None = None) -> Clip:
    """Decode a file path or bytes. ``format`` is a hint (``"pcm"`` is required for raw PCM).

    Raises :class:`UnsupportedFormat` for m4a/webm/aac and :class:`DecodeError` for
    anything that is not readable audio (corrupt, empty, text or JSON instead of audio).
    """
    hint = (format or "").lower().lstrip(".") or None
    target: bytes | Path
    if isinstance(source, bytes | bytearray | memoryview):
        data = target = bytes(source)
        what = "The data"
        if hint == "pcm":
            return decode_pcm(data)
        head = data[:_SNIFF_BYTES]
    else:
        path = target = Path(source)
        what = f"“{path.name}”"
        hint = hint or path.suffix.lower().lstrip(".") or None
        try:
            with path.open("rb") as handle:
                if hint == "pcm":
                    return decode_pcm(handle.read())
                head = handle.read(_SNIFF_BYTES)
        except OSError as exc:
            raise DecodeError(f"{what} could not be opened: {exc.strerror or exc}.") from exc
        data = b""
    if not head:
        raise DecodeError(f"{what} is empty: there is no audio in it.")
    kind = sniff(head)
    if kind in _TEXT:
        snippet = (data or head).decode("utf-8", "replace").strip()[:200]
        raise DecodeError(f"{what} is {_TEXT[kind]}, not audio: {snippet}")
    if kind in _UNDECODABLE or (kind is None and hint in _UNDECODABLE):
        name = _UNDECODABLE[kind or hint or ""]
        raise UnsupportedFormat(
            f"{name} audio cannot be played here; wav, flac, ogg, opus, mp3 and pcm can. "
            "(Such files can still be sent for transcription as they are.)",
            kind or hint or "",
        )
    return _read(target, what)


async def decode_async(source: bytes | str | Path, format: str | None = None) -> Clip:
    """:func:`decode` on a worker thread (long mp3s take a while to decode)."""
    return await asyncio.to_thread(decode, source, format)


def decode_pcm(data: bytes, samplerate: int = PCM_SAMPLERATE) -> Clip:
    """Raw signed 16-bit little-endian mono PCM; a trailing odd byte is ignored."""
    usable = len(data) - len(data) % 2
    if usable == 0:
        raise DecodeError("The audio is empty.")
    ints = np.frombuffer(data, dtype="<i2", count=usable // 2)
    return Clip.from_array(ints.astype(np.float32) / 32768.0, samplerate)


def _read(source: bytes | Path, what: str) -> Clip:
    import soundfile as sf  # ~275 ms to import: only when something is decoded

    target = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        samples, samplerate = sf.read(target, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise DecodeError(f"{what} is not audio that can be read, or it is damaged.") from exc
    if samples.shape[0] == 0:
        raise DecodeError(f"{what} contains no audio.")
    return Clip(np.ascontiguousarray(samples), int(samplerate))
