"""Speech to text: record from a microphone or take a file, upload it, keep the transcript.

- :class:`VoiceRecorder` records the microphone to a FLAC file at 16 kHz (what speech
  models use; a 10-minute recording stays ~10 MB and never sits in memory).
- :func:`transcribe_file` prepares the file for upload (converted only when the provider
  would refuse it), sends it, keeps the audio as a blob and the transcript (with its
  segments) as a ``transcriptions`` row, and writes the call to the usage ledger priced
  by audio minutes. Cancelling the awaiting task stops it; nothing half-done is kept.
- :func:`export` turns a kept transcript into ``.txt``, ``.srt`` or ``.vtt`` text.

No Qt here: callbacks are plain functions run on the asyncio loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import log
from app.api import ApiError
from app.api.profiles import ProviderProfile
from app.api.types import TranscriptionResult
from app.audio import AudioError
from app.core.clients import ClientPool, ProviderUnavailable
from app.core.metered import metered
from app.core.models_cache import ModelsCache
from app.store import NotFoundError, Store, StoreWriteError, Transcription
from app.store.audio_queries import delete_transcription as _delete_row

if TYPE_CHECKING:  # the audio stack (numpy, PortAudio) loads on first use, not at start-up
    from app.audio import DeviceChoice, Level, Recorder, Recording

__all__ = [
    "EXPORT_FORMATS",
    "RESPONSE_FORMATS",
    "TranscriptionError",
    "TranscriptionRequest",
    "VoiceRecorder",
    "audio_duration",
    "default_transcription_target",
    "delete_transcription",
    "export",
    "format_timestamp",
    "transcribe_file",
    "transcription_models",
    "transcription_providers",
]

_log = log.get("core.transcription")

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
EXPORT_FORMATS = ("txt", "srt", "vtt")
DEFAULT_MODEL = "whisper-1"
RECORD_SAMPLERATE = 16_000
_STT_HINTS = ("whisper", "transcri", "stt", "speech-to-text", "asr")

Progress = Callable[[str], None]


class TranscriptionError(Exception):
    """Transcription failed; ``user_message`` (also ``str()``) says why in plain words."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


# --- choices ---------------------------------------------------------------------------------


def transcription_providers(profiles: list[ProviderProfile]) -> list[ProviderProfile]:
    return [p for p in profiles if p.capabilities.transcription]


def transcription_models(profile: ProviderProfile, cache: ModelsCache | None = None) -> list[str]:
    """Models of ``profile`` that look like transcription models; ``whisper-1`` otherwise."""
    found: list[str] = []
    for model, price in profile.prices.items():
        if price.per_audio_minute is not None and model not in found:
            found.append(model)
    cached = cache.get(profile.id) if cache is not None else None
    for model in [*profile.models, *(cached.ids if cached is not None else [])]:
        if any(hint in model.lower() for hint in _STT_HINTS) and model not in found:
            found.append(model)
    return found or [DEFAULT_MODEL]


def default_transcription_target(profiles: list[ProviderProfile]) -> tuple[str, str] | None:
    providers = transcription_providers(profiles)
    if not providers:
        return None
    return providers[0].id, transcription_models(providers[0])[0]


# --- recording -------------------------------------------------------------------------------


class VoiceRecorder:
    """Records the microphone into ``folder`` (FLAC, 16 kHz mono) with live levels.

    ``on_level(Level)`` runs ~30 times a second on the loop; ``on_finished(Recording)``
    when the recording ended by itself (maximum length, device lost).
    """

    def __init__(
        self,
        folder: Path,
        *,
        device: DeviceChoice = None,
        max_seconds: float | None = 600.0,
        on_level: Callable[[Level], None] | None = None,
        on_finished: Callable[[Recording | None], None] | None = None,
    ) -> None:
        self.folder = folder
        self.device = device
        self.max_seconds = max_seconds
        self.on_level = on_level
        self.on_finished = on_finished
        self._recorder: Recorder | None = None

    @property
    def recorder(self) -> Recorder:
        """The engine's recorder, made on first use (loading the audio stack then)."""
        if self._recorder is None:
            from app.audio import Recorder

            self._recorder = Recorder(
                device=self.device,
                format="flac",
                samplerate=RECORD_SAMPLERATE,
                channels=1,
                max_seconds=self.max_seconds,
                on_level=self.on_level,
                on_finished=self.on_finished,
            )
        return self._recorder

    @property
    def recording(self) -> bool:
        return self._recorder is not None and self._recorder.recording

    @property
    def elapsed(self) -> float:
        return self._recorder.elapsed if self._recorder is not None else 0.0

    def configure(self, *, device: DeviceChoice, max_seconds: float | None) -> None:
        """Device and limit for the next :meth:`start`."""
        self.device, self.max_seconds = device, max_seconds
        if self._recorder is not None:
            self._recorder.device = device
            self._recorder.max_seconds = max_seconds

    async def start(self) -> Path:
        """Start recording into a new file; returns its path. Raises ``AudioError``s."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / time.strftime("recording-%Y%m%d-%H%M%S.flac")
        counter = 1
        while path.exists():
            counter += 1
            path = self.folder / time.strftime(f"recording-%Y%m%d-%H%M%S-{counter}.flac")
        await self.recorder.start(path)
        return path

    async def stop(self) -> Recording:
        """End the recording; raises ``EmptyRecording`` when nothing was captured."""
        return await self.recorder.stop()

    async def wait(self) -> Recording:
        return await self.recorder.wait()

    async def cancel(self) -> None:
        if self._recorder is not None:
            await self._recorder.cancel()


# --- transcription ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TranscriptionRequest:
    """Options of one transcription; None and "" are "not sent" (the provider's default)."""

    provider_id: str
    model: str
    language: str | None = None
    prompt: str | None = None
    temperature: float | None = None
    response_format: str = "json"

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"response_format": self.response_format}
        for key in ("language", "prompt", "temperature"):
            value = getattr(self, key)
            if value not in (None, ""):
                options[key] = value
        return options


def check_request(request: TranscriptionRequest) -> None:
    if not request.model.strip():
        raise TranscriptionError("Choose a transcription model (e.g. whisper-1).")
    if request.response_format not in RESPONSE_FORMATS:
        raise TranscriptionError(f"Choose a response format: {', '.join(RESPONSE_FORMATS)}.")
    if request.temperature is not None and not 0.0 <= request.temperature <= 1.0:
        raise TranscriptionError("Temperature must be between 0 and 1.")


def _duration_of(path: Path) -> float | None:
    import soundfile as sf  # loaded on first use: it costs ~0.3 s to import

    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError, sf.LibsndfileError):
        return None  # m4a, webm...: the provider's answer may still say
    return float(info.frames) / info.samplerate if info.samplerate else None


async def audio_duration(path: Path) -> float | None:
    """Seconds of audio in ``path`` (header only), or None when it cannot be read here."""
    return await asyncio.to_thread(_duration_of, path)


async def transcribe_file(
    store: Store,
    clients: ClientPool,
    source: Path,
    request: TranscriptionRequest,
    *,
    models: ModelsCache | None = None,
    progress: Progress | None = None,
    keep_audio: bool = True,
    name: str | None = None,
) -> Transcription:
    """Transcribe ``source``, keep the result in history, account for the call.

    Raises :class:`TranscriptionError` with a message to show.
    """
    say = progress or (lambda _text: None)
    check_request(request)
    name = name or source.name
    try:
        size = (await asyncio.to_thread(source.stat)).st_size
    except OSError as exc:
        raise TranscriptionError(f"“{name}” could not be opened: {exc.strerror or exc}.") from exc
    if size == 0:
        raise TranscriptionError(f"“{name}” is empty: there is no audio in it.")
    try:
        await clients.get(request.provider_id)  # a missing key is said before converting
    except ProviderUnavailable as exc:
        raise TranscriptionError(exc.user_message) from exc
    from app.audio import prepare_upload_async

    say("Preparing the audio…")
    try:
        upload = await prepare_upload_async(source)
    except AudioError as exc:
        raise TranscriptionError(str(exc)) from exc
    try:
        duration = await audio_duration(upload)
        upload_size = (await asyncio.to_thread(upload.stat)).st_size
        async with metered(
            store, clients, request.provider_id, "transcriptions", request.model, models=models
        ) as meter:
            provider = meter.profile.name if meter.profile is not None else request.provider_id
            say(f"Uploading {_size(upload_size)} to {provider}…")
            result = await meter.client.transcribe(
                upload,
                request.model,
                language=request.language or None,
                prompt=request.prompt or None,
                temperature=request.temperature,
                response_format=request.response_format,
            )
            seconds = result.duration or duration or 0.0
            meter.ok(result, audio_seconds=seconds)
    except (ApiError, ProviderUnavailable) as exc:
        raise TranscriptionError(exc.user_message) from exc
    finally:
        if upload != source:
            with contextlib.suppress(OSError):
                upload.unlink()
    say("Saving the transcript…")
    return await _keep(store, source, request, result, seconds, meter.cost, keep_audio, name)


async def _keep(
    store: Store,
    source: Path,
    request: TranscriptionRequest,
    result: TranscriptionResult,
    seconds: float,
    cost: float | None,
    keep_audio: bool,
    name: str,
) -> Transcription:
    options = {**request.options(), "file_name": name}
    if isinstance(result.raw, str) and request.response_format in ("srt", "vtt"):
        options["raw"] = result.raw  # exactly what came, for saving in its own format
    try:
        blob = None
        if keep_audio:
            mime = mimetypes.guess_type(source.name)[0] or "application/octet-stream"
            blob = await store.put_blob(source, mime)
        return await store.add_transcription(
            result.text,
            blob,
            segments=[
                s.model_dump(include={"id", "start", "end", "text"}) for s in result.segments
            ],
            options=options,
            language=result.language or request.language or None,
            duration_s=seconds or None,
            provider=request.provider_id,
            model=request.model,
            cost=cost,
        )
    except StoreWriteError as exc:
        raise TranscriptionError(f"The transcript could not be saved: {exc}") from exc


def _size(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} MB"
    return f"{max(1, count // 1000)} KB"


async def delete_transcription(store: Store, item_id: int) -> None:
    """Remove a transcript from history, and its audio file when no other item uses it."""
    try:
        unused = await store.write(_delete_row, item_id)
    except NotFoundError:
        return  # already gone
    except StoreWriteError as exc:
        raise TranscriptionError(f"The transcript could not be deleted: {exc}") from exc
    for sha in unused:
        await asyncio.to_thread(store.blob_path(sha).unlink, True)


# --- export --------------------------------------------------------------------------------------


def format_timestamp(seconds: float, separator: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT) or with ``.`` (WebVTT)."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cues(item: Transcription) -> list[tuple[float, float, str]]:
    cues = []
    for segment in item.segments:
        text = str(segment.get("text") or "").strip()
        if text:
            cues.append(
                (float(segment.get("start") or 0.0), float(segment.get("end") or 0.0), text)
            )
    if not cues and item.transcript.strip():
        # No timings came back (json/text): one cue over the whole recording.
        cues.append((0.0, float(item.duration_s or 0.0), item.transcript.strip()))
    return cues


def _subtitles(cues: Sequence[tuple[float, float, str]], separator: str) -> list[str]:
    return [
        f"{format_timestamp(start, separator)} --> {format_timestamp(end, separator)}\n{text}\n"
        for start, end, text in cues
    ]


def export(item: Transcription, format: str) -> str:
    """The transcript as ``txt``, ``srt`` or ``vtt`` text (subtitles from its segments)."""
    raw = item.options.get("raw")
    kept = item.options.get("response_format")
    if format in ("srt", "vtt") and kept == format and isinstance(raw, str) and raw.strip():
        return raw if raw.endswith("\n") else raw + "\n"
    if format == "txt":
        return item.transcript.strip() + "\n"
    if format == "srt":
        blocks = _subtitles(_cues(item), ",")
        return "\n".join(f"{i}\n{block}" for i, block in enumerate(blocks, 1))
    if format == "vtt":
        return "WEBVTT\n\n" + "\n".join(_subtitles(_cues(item), "."))
    raise ValueError(f"unknown export format {format!r}")
