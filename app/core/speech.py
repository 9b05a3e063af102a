"""Text to speech: synthesise, keep every clip in the store, account for it, play it back.

- :func:`synthesize` streams the audio from the provider (reporting bytes as they
  arrive), checks that what came back is audio (a provider answering with JSON or an HTML
  page gets a plain :class:`SpeechError`), keeps it as a blob plus a ``speech_items`` row,
  and writes the call to the usage ledger. Cancelling the awaiting task stops it; the
  ledger keeps the stopped call and nothing half-received is stored.
- :func:`load_clip` decodes a stored clip for offline replay.
- :class:`Speaker` is the "Read aloud" path: synthesise with the saved choices, then play.
- :class:`AudioPrefs` remembers the panels' choices (provider, model, voice, devices...)
  in ``audio.json`` under the config dir, so the chat's Read aloud uses the speech panel's
  voice.

No Qt here: callbacks are plain functions run on the asyncio loop.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app import log
from app.api import ApiError
from app.api.profiles import ProviderProfile
from app.audio import AudioError
from app.core.clients import ClientPool, ProviderUnavailable
from app.core.metered import metered
from app.core.models_cache import ModelsCache
from app.core.providers import ProviderRegistry
from app.settings import keep_aside, write_atomic
from app.store import NotFoundError, SpeechItem, Store, StoreWriteError
from app.store.audio_queries import delete_speech

if TYPE_CHECKING:  # the audio stack (numpy, PortAudio) loads on first use, not at start-up
    from app.audio import Clip, PlaybackEnd, Player

__all__ = [
    "FORMATS",
    "OPENAI_VOICES",
    "AudioPrefs",
    "Speaker",
    "SpeechError",
    "SpeechOutcome",
    "SpeechRequest",
    "default_speech_target",
    "delete_clip",
    "load_clip",
    "mime_type",
    "speakable",
    "speech_models",
    "speech_providers",
    "synthesize",
    "voices_for",
]

_log = log.get("core.speech")

FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
"""Response formats of the speech endpoint (``pcm``: raw 24 kHz 16-bit mono)."""

OPENAI_VOICES = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse",
)  # fmt: skip
DEFAULT_MODEL = "tts-1"
MAX_INPUT_CHARS = 4096
"""OpenAI's limit for one speech request."""
MIN_SPEED, MAX_SPEED = 0.25, 4.0
PREFS_FILE = "audio.json"

_MIME = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/L16",
}
_SPEECH_HINTS = ("tts", "speech", "voice", "audio")


class SpeechError(Exception):
    """Speech failed; ``user_message`` (also ``str()``) says why in plain words."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


def mime_type(format: str) -> str:
    """The MIME type a clip of ``format`` is stored under."""
    return _MIME.get(format, "application/octet-stream")


# --- choices ---------------------------------------------------------------------------------


def speech_providers(profiles: list[ProviderProfile]) -> list[ProviderProfile]:
    """Providers that say they offer text to speech."""
    return [p for p in profiles if p.capabilities.speech]


def voices_for(profile: ProviderProfile | None) -> tuple[str, ...]:
    """The provider's voices: its capabilities may list ``voices``; OpenAI-style otherwise.

    The panel lets the user type any other voice: many providers name their own.
    """
    if profile is not None:
        listed = getattr(profile.capabilities, "voices", None)
        if isinstance(listed, list) and listed:
            return tuple(str(v) for v in listed)
    return OPENAI_VOICES


def speech_models(profile: ProviderProfile, cache: ModelsCache | None = None) -> list[str]:
    """Models of ``profile`` that look like speech models (priced per character, or named
    so), from the profile and its cached list; ``tts-1`` when nothing is known."""
    found: list[str] = []

    def add(model: str) -> None:
        if model not in found:
            found.append(model)

    for model, price in profile.prices.items():
        if price.per_m_chars is not None:
            add(model)
    cached = cache.get(profile.id) if cache is not None else None
    names = [*profile.models, *(cached.ids if cached is not None else [])]
    for model in names:
        if any(hint in model.lower() for hint in _SPEECH_HINTS) and "whisper" not in model:
            add(model)
    return found or [DEFAULT_MODEL]


def default_speech_target(profiles: list[ProviderProfile]) -> tuple[str, str] | None:
    """A provider and model to speak with when the user has chosen none."""
    providers = speech_providers(profiles)
    if not providers:
        return None
    return providers[0].id, speech_models(providers[0])[0]


# --- preferences -----------------------------------------------------------------------------


class AudioPrefs(BaseModel):
    """What the speech and transcription panels remember between runs (no secrets)."""

    model_config = ConfigDict(extra="ignore")

    speech_provider: str | None = None
    speech_model: str | None = None
    voice: str = "alloy"
    speech_format: str = "mp3"
    speed: float = Field(default=1.0, ge=MIN_SPEED, le=MAX_SPEED)
    output_device: str | None = None
    input_device: str | None = None
    transcribe_provider: str | None = None
    transcribe_model: str | None = None
    language: str = ""
    response_format: str = "verbose_json"
    max_minutes: int = Field(default=10, ge=1, le=120)

    @classmethod
    def load(cls, config_dir: Path) -> AudioPrefs:
        """The saved choices; defaults when the file is missing or damaged (kept aside)."""
        path = config_dir / PREFS_FILE
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, ValidationError) as exc:
            _log.warning("audio preferences unreadable (%s); using defaults", exc)
            keep_aside(path)
            return cls()

    def save(self, config_dir: Path) -> None:
        try:
            write_atomic(config_dir / PREFS_FILE, self.model_dump_json(indent=2))
        except OSError as exc:  # remembering a choice never breaks the panel
            _log.warning("audio preferences not saved: %s", exc)


# --- synthesis ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpeechRequest:
    """What to say and how. ``speed`` None is "not sent" (the provider's 1.0)."""

    provider_id: str
    model: str
    text: str
    voice: str = "alloy"
    format: str = "mp3"
    speed: float | None = None

    def params(self) -> dict[str, object]:
        params: dict[str, object] = {}
        if self.speed is not None:
            params["speed"] = self.speed
        return params


@dataclass(frozen=True, slots=True)
class SpeechOutcome:
    """A synthesised clip: its stored row, the bytes and where the blob lives."""

    item: SpeechItem
    audio: bytes
    path: Path


Progress = Callable[[int], None]
"""Called with the number of audio bytes received so far."""


def check_request(request: SpeechRequest) -> None:
    """Raise :class:`SpeechError` for what the provider would refuse anyway."""
    if not request.text.strip():
        raise SpeechError("Type something to say: the text is empty.")
    if len(request.text) > MAX_INPUT_CHARS:
        raise SpeechError(
            f"The text is {len(request.text):,} characters long; speech takes at most "
            f"{MAX_INPUT_CHARS:,} at a time. Split it into shorter parts."
        )
    if not request.model.strip():
        raise SpeechError("Choose a speech model (e.g. tts-1).")
    if not request.voice.strip():
        raise SpeechError("Choose a voice.")
    if request.format not in FORMATS:
        raise SpeechError(f"Choose a format: {', '.join(FORMATS)}.")
    if request.speed is not None and not MIN_SPEED <= request.speed <= MAX_SPEED:
        raise SpeechError(f"Speed must be between {MIN_SPEED} and {MAX_SPEED}.")


def _not_audio(data: bytes, format: str, provider: str) -> str | None:
    """Why ``data`` is not the audio asked for, or None when it looks like audio."""
    from app.audio import sniff

    if not data:
        return f"{provider} sent no audio."
    if format == "pcm":  # raw samples have no header: anything of whole samples will do
        kind = sniff(data[:64])
        if kind in ("json", "html"):
            return _text_answer(data, kind, provider)
        return None if len(data) % 2 == 0 else f"{provider} sent broken PCM audio."
    kind = sniff(data[:64])
    if kind in ("json", "html", "text"):
        return _text_answer(data, kind, provider)
    return None


def _text_answer(data: bytes, kind: str, provider: str) -> str:
    said = ""
    if kind == "json":
        try:
            obj = json.loads(data)
            error = obj.get("error") if isinstance(obj, dict) else None
            said = str(error.get("message") if isinstance(error, dict) else error or "")
        except (ValueError, AttributeError):
            said = ""
    what = {"json": "JSON", "html": "a web page"}.get(kind, "text")
    text = f"{provider} answered with {what} instead of audio"
    return text + (f": {said[:200]}" if said else ".")


async def synthesize(
    store: Store,
    clients: ClientPool,
    request: SpeechRequest,
    *,
    models: ModelsCache | None = None,
    progress: Progress | None = None,
) -> SpeechOutcome:
    """Synthesise ``request``, keep the clip and account for the call.

    Raises :class:`SpeechError` with a message to show. Cancelling stops the download.
    """
    check_request(request)
    chunks: list[bytes] = []
    received = 0
    try:
        async with metered(
            store, clients, request.provider_id, "speech", request.model, models=models,
            characters=len(request.text),
        ) as meter:  # fmt: skip
            stream = meter.client.stream_speech(
                request.model,
                request.text,
                voice=request.voice,
                response_format=request.format,
                speed=request.speed,
            )
            async with stream:
                async for chunk in stream:
                    chunks.append(chunk)
                    received += len(chunk)
                    if progress is not None:
                        progress(received)
            data = b"".join(chunks)
            name = meter.profile.name if meter.profile is not None else request.provider_id
            problem = _not_audio(data, request.format, name)
            if problem is not None:
                raise SpeechError(problem)
            meter.ok(stream)
    except (ApiError, ProviderUnavailable) as exc:
        raise SpeechError(exc.user_message) from exc
    try:
        blob = await store.put_blob(data, mime_type(request.format))
        item = await store.add_speech(
            request.text,
            blob,
            voice=request.voice,
            format=request.format,
            provider=request.provider_id,
            model=request.model,
            params=request.params(),
            cost=meter.cost,
        )
    except StoreWriteError as exc:
        raise SpeechError(f"The clip could not be saved: {exc}") from exc
    return SpeechOutcome(item, data, store.blob_path(blob))


async def load_clip(store: Store, item: SpeechItem) -> Clip:
    """Decode a stored clip (works offline). Raises :class:`SpeechError` when it cannot."""
    from app.audio import decode_async

    if item.audio is None:
        raise SpeechError("This clip has no audio kept.")
    path = store.blob_path(item.audio)
    if not await asyncio.to_thread(path.exists):
        raise SpeechError("The audio file of this clip is missing from the data folder.")
    try:
        return await decode_async(path, format=item.format or None)
    except AudioError as exc:
        if item.format == "aac":
            raise SpeechError(
                "AAC clips cannot be played here; save the clip to play it elsewhere."
            ) from exc
        raise SpeechError(str(exc)) from exc


async def delete_clip(store: Store, item_id: int) -> None:
    """Remove a clip from history, and its audio file when no other item uses it."""
    try:
        unused = await store.write(delete_speech, item_id)
    except NotFoundError:
        return  # already gone
    except StoreWriteError as exc:
        raise SpeechError(f"The clip could not be deleted: {exc}") from exc
    for sha in unused:
        await asyncio.to_thread(store.blob_path(sha).unlink, True)


# --- read aloud ----------------------------------------------------------------------------------

_FENCE = re.compile(r"^```.*?(?:^```[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"(^|\s)[#>]+\s|[*_`~|]+|^\s*[-+]\s+", re.MULTILINE)


def speakable(markdown: str) -> str:
    """A chat answer as something to say: code blocks named, not read; no markup symbols."""
    text = _FENCE.sub(" (code block) ", markdown)
    text = _LINK.sub(r"\1", text)
    text = _MARKS.sub(r"\1", text)
    return " ".join(text.split())


class Speaker:
    """Read text aloud with the speech panel's saved choices: synthesise, keep, play.

    One per owner (the chat panel); :meth:`speak` again stops what is playing first.
    """

    def __init__(
        self,
        store: Store,
        clients: ClientPool,
        registry: ProviderRegistry,
        config_dir: Path,
        *,
        models: ModelsCache | None = None,
        player: Player | None = None,
    ) -> None:
        self.store = store
        self.clients = clients
        self.registry = registry
        self.config_dir = config_dir
        self.models = models
        self._player = player

    @property
    def player(self) -> Player:
        if self._player is None:
            from app.audio import Player

            self._player = Player()
        return self._player

    def request_for(self, text: str) -> SpeechRequest:
        """The request the saved choices make for ``text``; SpeechError when none can."""
        prefs = AudioPrefs.load(self.config_dir)
        profiles = self.registry.all()
        provider = prefs.speech_provider
        if provider is None or not any(p.id == provider for p in profiles):
            target = default_speech_target(profiles)
            if target is None:
                raise SpeechError(
                    "No provider offers text to speech: add one (e.g. OpenAI) in Providers."
                )
            provider, model = target
        else:
            model = prefs.speech_model or speech_models(self.clients.profile(provider))[0]
        format = prefs.speech_format if prefs.speech_format != "aac" else "mp3"
        speed = prefs.speed if prefs.speed != 1.0 else None
        self.player.device = prefs.output_device
        return SpeechRequest(provider, model, text[:MAX_INPUT_CHARS], prefs.voice, format, speed)

    async def speak(self, text: str, progress: Progress | None = None) -> PlaybackEnd:
        """Synthesise ``text`` and play it; returns how playback ended.

        Raises :class:`SpeechError` (also for audio device problems, in plain words).
        """
        from app.audio import decode_async

        await self.player.close()
        outcome = await synthesize(
            self.store,
            self.clients,
            self.request_for(speakable(text)),
            models=self.models,
            progress=progress,
        )
        try:
            clip = await decode_async(outcome.audio, format=outcome.item.format)
            return await self.player.play(clip)
        except AudioError as exc:
            raise SpeechError(f"The clip was kept but cannot be played: {exc}") from exc

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()
