"""Media endpoints of ``ApiClient``: images, speech (whole and streamed), transcription and
downloads of files a provider linked to."""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from app.api.base import BaseClient, body_error, json_body, transport_error
from app.api.errors import (
    ApiConnectionError,
    MalformedResponseError,
    RequestValidationError,
    error_from_response,
)
from app.api.profiles import Endpoint
from app.api.streaming import SpeechStream
from app.api.types import (
    ImageResult,
    SpeechResult,
    TranscriptionResult,
    TranscriptionSegment,
    Usage,
    estimate_tokens,
)

__all__ = ["FileInput", "MediaEndpoints"]

_SIZE = re.compile(r"^\s*(\d+)\s*[x×*X]\s*(\d+)\s*$")
_TIMING = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{3})\s*-->\s*(\d+):(\d\d):(\d\d)[,.](\d{3})")
FileInput = str | os.PathLike[str] | tuple[str, bytes, str] | tuple[str, bytes]


class MediaEndpoints(BaseClient):
    """Images, speech, transcription and downloads (``ApiClient`` inherits them)."""

    # images -----------------------------------------------------------------------------------

    def image_size(self, size: tuple[int, int] | str | None) -> str | None:
        """``(1024, 1024)`` or ``"1024x1024"`` spelled the provider's way (``1024*1024`` for some)."""
        if size is None:
            return None
        if isinstance(size, tuple):
            width, height = size
        else:
            match = _SIZE.match(size)
            if not match:
                return size.strip()  # "auto" and other named sizes pass through
            width, height = int(match.group(1)), int(match.group(2))
        if width <= 0 or height <= 0:
            raise RequestValidationError(
                f"Image size must be positive (got {width}x{height}).", field="size"
            )
        return self.profile.image_size(width, height)

    async def generate_images(
        self,
        model: str,
        prompt: str,
        n: int = 1,
        size: tuple[int, int] | str | None = None,
        response_format: str | None = None,
        quality: str | None = None,
        style: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ImageResult:
        if not prompt or not prompt.strip():
            raise RequestValidationError("Describe the image: the prompt is empty.", field="prompt")
        if not 1 <= n <= 10:
            raise RequestValidationError(
                f"Number of images must be between 1 and 10 (got {n}).", field="n"
            )
        payload: dict[str, Any] = {"model": model, "prompt": prompt, "n": n}
        for key, value in (
            ("size", self.image_size(size)),
            ("response_format", response_format),
            ("quality", quality),
            ("style", style),
        ):
            if value is not None:
                payload[key] = value
        payload.update(extra or {})
        obj, sent = await self._json(Endpoint.IMAGES, payload)
        if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
            raise MalformedResponseError(
                "the images answer has no 'data'", provider=self.profile.name
            )
        return ImageResult.model_validate({**obj, "meta": self._meta(sent, Endpoint.IMAGES, model)})

    # speech ---------------------------------------------------------------------------------

    def _speech_payload(
        self,
        model: str,
        input: str,
        voice: str,
        response_format: str | None,
        speed: float | None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        if not input or not input.strip():
            raise RequestValidationError(
                "Write some text to speak: the input is empty.", field="input"
            )
        if speed is not None and not 0.25 <= speed <= 4.0:
            raise RequestValidationError(
                f"Speed must be between 0.25 and 4 (got {speed:g}).", field="speed"
            )
        payload: dict[str, Any] = {"model": model, "input": input, "voice": voice, **extra}
        if response_format:
            payload["response_format"] = response_format
        if speed is not None:
            payload["speed"] = speed
        return payload

    async def speech(
        self,
        model: str,
        input: str,
        voice: str = "alloy",
        response_format: str | None = None,
        speed: float | None = None,
        **extra: Any,
    ) -> SpeechResult:
        """Text to speech, whole: the audio bytes and their content type."""
        payload = self._speech_payload(model, input, voice, response_format, speed, extra)
        sent = await self._send(
            "POST", Endpoint.SPEECH, self.url(Endpoint.SPEECH), body=orjson.dumps(payload)
        )
        response = sent.response
        ctype = response.headers.get("content-type", "")
        if "json" in ctype:
            obj = json_body(response.content, response)
            raise body_error(
                obj if isinstance(obj, dict) else {"error": str(obj)}, response, self.profile.name
            )
        usage = Usage(
            prompt_tokens=estimate_tokens(input),
            total_tokens=estimate_tokens(input),
            estimated=True,
        )
        return SpeechResult(
            audio=response.content,
            content_type=ctype.split(";")[0].strip() or _audio_type(response_format),
            meta=self._meta(sent, Endpoint.SPEECH, model, usage),
        )

    def stream_speech(
        self,
        model: str,
        input: str,
        voice: str = "alloy",
        response_format: str | None = None,
        speed: float | None = None,
        **extra: Any,
    ) -> SpeechStream:
        """Text to speech, streamed: ``async with client.stream_speech(...) as s: async for b in s``."""
        return SpeechStream(
            self, self._speech_payload(model, input, voice, response_format, speed, extra), model
        )

    # transcription -----------------------------------------------------------------------------

    async def transcribe(
        self,
        file: FileInput,
        model: str,
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        response_format: str = "json",
        **extra: Any,
    ) -> TranscriptionResult:
        """Speech to text (multipart upload). ``file``: a path or ``(name, bytes[, type])``."""
        if isinstance(file, tuple):
            name, content = file[0], file[1]
            ctype = file[2] if len(file) > 2 else None
        else:
            path = Path(file)
            name, ctype = path.name, None
            content = await asyncio.to_thread(path.read_bytes)
        ctype = ctype or mimetypes.guess_type(name)[0] or "application/octet-stream"
        if not content:
            raise RequestValidationError("The audio file is empty.", field="file")
        if temperature is not None and not 0 <= temperature <= 1:
            raise RequestValidationError(
                f"Temperature must be between 0 and 1 (got {temperature:g}).", field="temperature"
            )
        fields: dict[str, Any] = {"model": model, "response_format": response_format}
        for key, value in (
            ("language", language),
            ("prompt", prompt),
            ("temperature", temperature),
        ):
            if value is not None:
                fields[key] = str(value)
        for key, value in extra.items():
            if isinstance(value, list | tuple):
                fields[f"{key}[]"] = [str(v) for v in value]
            elif value is not None:
                fields[key] = str(value)
        sent = await self._send(
            "POST",
            Endpoint.TRANSCRIPTIONS,
            self.url(Endpoint.TRANSCRIPTIONS),
            files={"file": (name, content, ctype)},
            data=fields,
        )
        response = sent.response
        meta = self._meta(sent, Endpoint.TRANSCRIPTIONS, model)
        body_type = response.headers.get("content-type", "")
        if response_format in ("json", "verbose_json") or "json" in body_type:
            obj = json_body(response.content, response)
            if not isinstance(obj, dict):
                raise MalformedResponseError(
                    "the transcription is not an object", provider=self.profile.name
                )
            return TranscriptionResult.model_validate(
                {
                    **obj,
                    "text": str(obj.get("text") or ""),
                    "format": response_format,
                    "raw": obj,
                    "meta": meta,
                }
            )
        text = response.text
        segments = _parse_subtitles(text) if response_format in ("srt", "vtt") else []
        plain = " ".join(s.text for s in segments) if segments else text.strip()
        return TranscriptionResult(
            text=plain, segments=segments, format=response_format, raw=text, meta=meta
        )

    # downloads ---------------------------------------------------------------------------------

    async def download(self, url: str, *, max_bytes: int = 50_000_000) -> tuple[bytes, str]:
        """Fetch a file the provider linked to (an image ``url``, a chat image model's markdown
        image): ``(bytes, content type)``. Only http(s); the key goes along only when the URL is
        on the provider's own origin; one attempt, no retries."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RequestValidationError(
                f"Only http(s) links can be downloaded (got {url[:60]!r}).", field="url"
            )
        request = self._http.build_request("GET", url, headers={"Accept": "*/*"})
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise transport_error(exc, request.url, self.timeout) from exc
        except httpx.HTTPError as exc:
            raise ApiConnectionError(f"{request.url.host}: {exc}") from exc
        try:
            if response.status_code >= 400:
                raw = await response.aread()
                raise error_from_response(
                    response.status_code, raw, response.headers, provider=self.profile.name
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise MalformedResponseError(
                        f"the file is larger than {max_bytes // 1_000_000} MB",
                        provider=self.profile.name,
                    )
                chunks.append(chunk)
        except httpx.HTTPError as exc:
            if isinstance(exc, httpx.TransportError):
                raise transport_error(exc, request.url, self.timeout) from exc
            raise ApiConnectionError(f"{request.url.host}: {exc}") from exc
        finally:
            await response.aclose()
        return b"".join(chunks), response.headers.get("content-type", "").split(";")[0].strip()


# --------------------------------------------------------------------------- helpers


def _audio_type(fmt: str | None) -> str:
    return {
        "mp3": "audio/mpeg",
        "wav": "audio/wav",
        "flac": "audio/flac",
        "opus": "audio/ogg",
        "aac": "audio/aac",
        "pcm": "audio/pcm",
    }.get(fmt or "mp3", "application/octet-stream")


def _parse_subtitles(text: str) -> list[TranscriptionSegment]:
    """Segments of an SRT or WebVTT document."""
    segments: list[TranscriptionSegment] = []
    blocks = re.split(r"\r?\n\s*\r?\n", text.strip())
    for block in blocks:
        lines = block.strip().splitlines()
        for i, line in enumerate(lines):
            match = _TIMING.search(line)
            if match:
                g = [int(x) for x in match.groups()]
                start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
                end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
                body = " ".join(s.strip() for s in lines[i + 1 :] if s.strip())
                segments.append(
                    TranscriptionSegment(id=len(segments), start=start, end=end, text=body)
                )
                break
    return segments
