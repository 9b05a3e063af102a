"""Write clips to files, and turn audio files into something a transcription API accepts."""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections.abc import Collection
from pathlib import Path

from app.audio._clip import Clip
from app.audio._decode import PCM_SAMPLERATE, decode_pcm, sniff
from app.audio._errors import DecodeError, EncodeError, UnsupportedFormat

ENCODINGS: dict[str, tuple[str, str]] = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
"""Formats this layer can write: name -> (libsndfile format, subtype)."""

UPLOAD_FORMATS = frozenset({"flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm"})
"""File types OpenAI's transcription endpoint accepts as they are."""

UPLOAD_LIMIT_BYTES = 25 * 1024 * 1024
"""OpenAI's upload limit for transcription."""

# Opus only runs at these rates; anything else is resampled to 48 kHz before encoding.
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def save(clip: Clip, path: str | Path, format: str | None = None) -> Path:
    """Write ``clip`` to ``path`` as ``format`` (default: from the suffix). Returns the path."""
    target = Path(path)
    name = _format_name(format or target.suffix)
    try:
        _write(clip, str(target), name)
    except OSError as exc:
        raise EncodeError(f"Could not write “{target.name}”: {exc.strerror or exc}.") from exc
    return target


async def save_async(clip: Clip, path: str | Path, format: str | None = None) -> Path:
    """:func:`save` on a worker thread."""
    return await asyncio.to_thread(save, clip, path, format)


def encode(clip: Clip, format: str) -> bytes:
    """``clip`` encoded in memory as ``format`` (wav, flac, ogg, opus, mp3)."""
    buffer = io.BytesIO()
    _write(clip, buffer, _format_name(format))
    return buffer.getvalue()


def prepare_upload(
    path: str | Path,
    *,
    accepted: Collection[str] = UPLOAD_FORMATS,
    max_bytes: int | None = UPLOAD_LIMIT_BYTES,
    dest_dir: str | Path | None = None,
) -> Path:
    """A file a transcription endpoint will take: ``path`` itself when it already fits.

    Otherwise a converted copy is written to ``dest_dir`` (default: the temp directory)
    and returned; the caller deletes it after the upload. Raw ``.pcm`` (24 kHz speech) and
    readable formats not in ``accepted`` (aiff, au, ...) become FLAC. A file over
    ``max_bytes`` becomes FLAC when that is a lossless shrink of WAV/AIFF/PCM and fits,
    else MP3 (speech takes ~0.4-0.8 MB a minute). Copies are written block by block, so a
    long recording is never held in memory. Raises :class:`EncodeError` when even MP3 is
    over the limit, :class:`UnsupportedFormat` for an oversized m4a/webm/aac, and
    :class:`DecodeError` for unreadable files; no partial copy is left behind.
    """
    source = Path(path)
    suffix = source.suffix.lower().lstrip(".")
    try:
        size = source.stat().st_size
        with source.open("rb") as handle:
            kind = sniff(handle.read(64))
    except OSError as exc:
        raise DecodeError(f"“{source.name}” could not be opened: {exc.strerror or exc}.") from exc
    if size == 0:
        raise DecodeError(f"“{source.name}” is empty: there is no audio in it.")
    too_big = max_bytes is not None and size > max_bytes
    if suffix in accepted and suffix != "pcm" and not too_big:
        return source
    if too_big:
        lossless_first = kind in ("wav", "aiff") or suffix == "pcm"
        wanted = ["flac", "mp3"] if lossless_first else ["mp3"]
    else:
        wanted = ["flac"]
    formats = [f for f in wanted if f in accepted] or wanted
    target_dir = Path(dest_dir) if dest_dir is not None else Path(tempfile.gettempdir())
    for format in formats:
        target = _convert(source, suffix, kind, format, target_dir)
        if max_bytes is None or target.stat().st_size <= max_bytes:
            return target
        target.unlink(missing_ok=True)
    limit = (max_bytes or 0) / 1_000_000
    raise EncodeError(
        f"“{source.name}” is too long to upload in one piece: over {limit:.0f} MB even "
        "compressed. Record or split it into shorter parts."
    )


def _convert(source: Path, suffix: str, kind: str | None, format: str, folder: Path) -> Path:
    with tempfile.NamedTemporaryFile(
        dir=folder, prefix=source.stem + "-", suffix=f".{format}", delete=False
    ) as handle:
        target = Path(handle.name)
    try:
        if suffix == "pcm":
            save(decode_pcm(source.read_bytes(), PCM_SAMPLERATE), target, format)
        else:
            _transcode_blocks(source, target, kind, format)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


async def prepare_upload_async(path: str | Path, **options: object) -> Path:
    """:func:`prepare_upload` on a worker thread."""
    return await asyncio.to_thread(prepare_upload, path, **options)  # type: ignore[arg-type]


def _transcode_blocks(source: Path, target: Path, kind: str | None, format: str) -> None:
    import soundfile as sf

    if kind in ("m4a", "webm", "aac"):
        raise UnsupportedFormat(
            f"“{source.name}” ({kind}) cannot be converted here; send it as it is.", kind
        )
    container, subtype = ENCODINGS[format]
    try:
        with sf.SoundFile(str(source)) as reader:
            if format == "flac" and reader.subtype in ("PCM_24", "PCM_32", "FLOAT", "DOUBLE"):
                subtype = "PCM_24"
            with sf.SoundFile(
                str(target),
                "w",
                samplerate=reader.samplerate,
                channels=reader.channels,
                format=container,
                subtype=subtype,
            ) as writer:
                for block in reader.blocks(blocksize=65536, dtype="float32", always_2d=True):
                    writer.write(block)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise DecodeError(
            f"“{source.name}” is not audio that can be read, or it is damaged."
        ) from exc


def _format_name(format: str) -> str:
    name = format.lower().lstrip(".")
    if name == "oga":
        name = "ogg"
    if name not in ENCODINGS:
        known = ", ".join(sorted(ENCODINGS))
        raise EncodeError(f"Cannot save audio as “{name or '?'}”: choose one of {known}.")
    return name


def _write(clip: Clip, target: str | io.BytesIO, name: str) -> None:
    import soundfile as sf

    container, subtype = ENCODINGS[name]
    if name == "opus" and clip.samplerate not in _OPUS_RATES:
        clip = clip.resampled(48000)
    if name == "mp3" and clip.channels > 2:
        clip = clip.mixed_to(2)
    try:
        sf.write(target, clip.samples, clip.samplerate, format=container, subtype=subtype)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise EncodeError(f"Could not encode the audio as {name}: {exc}") from exc
