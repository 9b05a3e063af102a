"""``ApiClient``: one long-lived ``httpx.AsyncClient`` per provider, one method per endpoint.

Keys go only to the provider's own origin: the auth header is added by a request hook
that runs for every hop of a redirect, and only when the hop's host is the provider's (or
a host named in an absolute path override); a redirect elsewhere never carries it.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
import socket
import ssl
import struct
import time
import uuid
from base64 import b64decode
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import ValidationError

from app import __version__, log
from app.api.errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    MalformedResponseError,
    RateLimitError,
    RequestValidationError,
    TLSError,
    error_from_response,
    parse_error_body,
    parse_retry_after,
)
from app.api.meta import parse_rate_limit, request_id
from app.api.profiles import Endpoint, ProviderProfile
from app.api.retry import RetryPolicy
from app.api.streaming import ChatStream, CompletionStream, SpeechStream
from app.api.types import (
    CallMeta,
    ChatRequest,
    ChatResult,
    CompletionResult,
    EmbeddingResult,
    ImageResult,
    ModelInfo,
    ModelList,
    ModerationResult,
    RateLimitStatus,
    SpeechResult,
    TranscriptionResult,
    TranscriptionSegment,
    Usage,
    estimate_tokens,
)
from app.api.wire import Sent as _Sent

__all__ = ["ApiClient"]

_log = log.get("api")
_sleep = asyncio.sleep  # tests replace it to record waits
_JSON = {"Content-Type": "application/json"}
_SIZE = re.compile(r"^\s*(\d+)\s*[x×*X]\s*(\d+)\s*$")
_TIMING = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{3})\s*-->\s*(\d+):(\d\d):(\d\d)[,.](\d{3})")
FileInput = str | os.PathLike[str] | tuple[str, bytes, str] | tuple[str, bytes]


class ApiClient:
    """The async client of one provider. Create once, ``await aclose()`` at shutdown."""

    def __init__(
        self,
        profile: ProviderProfile,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        proxy: str | None = None,
        max_retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_policy: RetryPolicy | None = None,
        trust_env: bool = True,
    ) -> None:
        self.profile = profile
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.retry_policy = retry_policy or RetryPolicy()
        self.last_rate_limit: RateLimitStatus | None = None
        self._auth_value = None
        if api_key:
            scheme = profile.auth_scheme.strip()
            self._auth_value = f"{scheme} {api_key}" if scheme else api_key
        self._origins = {_origin(profile.base_url)}
        for path in profile.paths.values():
            if path.startswith(("http://", "https://")):
                self._origins.add(_origin(path))
        headers = {
            "Accept": "application/json",
            "User-Agent": f"Palaver/{__version__}",
            **profile.headers,
        }
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            proxy=proxy if transport is None else None,
            transport=transport,
            # False: ignore HTTP(S)_PROXY and friends (the "no proxy" setting).
            trust_env=trust_env,
            follow_redirects=True,
            max_redirects=5,
            limits=httpx.Limits(
                max_connections=32, max_keepalive_connections=16, keepalive_expiry=30.0
            ),
            event_hooks={"request": [self._on_request]},
        )

    def add_response_hook(self, hook: Callable[[httpx.Response], Awaitable[None]]) -> None:
        """Call ``hook`` with every response this client receives, errors and retried 429s
        included (live rate limits are read this way)."""
        self._http.event_hooks["response"].append(hook)

    # lifecycle ----------------------------------------------------------------

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    def __repr__(self) -> str:
        return f"ApiClient({self.profile.id!r}, {self.profile.base_url!r}, key={'set' if self._auth_value else 'none'})"

    # plumbing -----------------------------------------------------------------

    async def _on_request(self, request: httpx.Request) -> None:
        """Runs for every request and every redirect hop: the key goes to our origins only."""
        name = self.profile.auth_header
        if not self._same_origin(request.url):
            request.headers.pop(name, None)
        elif self._auth_value is not None:
            request.headers[name] = self._auth_value

    def _same_origin(self, url: httpx.URL) -> bool:
        port = url.port or (443 if url.scheme == "https" else 80)
        for scheme, host, known_port in self._origins:
            if url.host != host:
                continue
            if (url.scheme == scheme and port == known_port) or (
                url.scheme == "https" and port == 443
            ):
                return True
        return False

    def url(self, endpoint: Endpoint, **params: str) -> str:
        return self.profile.url(endpoint, **params)

    async def _send(
        self,
        method: str,
        endpoint: Endpoint,
        url: str,
        *,
        body: bytes | None = None,
        files: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        stream: bool = False,
    ) -> _Sent:
        """Send with the retry policy; error statuses raise. A stream is returned open."""
        idem = (
            str(uuid.uuid4())
            if method == "POST" and not stream and self.profile.idempotency
            else None
        )
        headers: dict[str, str] = {}
        if body is not None:
            headers.update(_JSON)
        if idem:
            headers["Idempotency-Key"] = idem
        if stream:
            headers["Accept"] = (
                "text/event-stream" if endpoint in (Endpoint.CHAT, Endpoint.COMPLETIONS) else "*/*"
            )
        elif endpoint is Endpoint.SPEECH:
            headers["Accept"] = "*/*"
        started = time.perf_counter()
        attempt = 0
        policy = self.retry_policy
        while True:
            attempt += 1
            request = self._http.build_request(
                method, url, content=body, files=files, data=data, headers=headers
            )
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                error = _transport_error(exc, request.url, self.timeout)
                retryable = isinstance(
                    exc,
                    httpx.ConnectError
                    | httpx.ConnectTimeout
                    | httpx.PoolTimeout
                    | httpx.RemoteProtocolError,
                ) or (not stream and isinstance(exc, httpx.ReadError | httpx.WriteError))
                if isinstance(error, TLSError):
                    retryable = False
                if retryable and attempt <= self.max_retries:
                    wait = policy.delay(attempt)
                    _log.info(
                        "%s %s: %s; retry %d in %.2f s",
                        method,
                        endpoint,
                        type(exc).__name__,
                        attempt,
                        wait or 0,
                    )
                    await _sleep(wait or 0)
                    continue
                raise error from exc
            except httpx.HTTPError as exc:  # too many redirects, undecodable body, ...
                raise ApiConnectionError(
                    f"{request.url.host}: {exc or type(exc).__name__}", provider=self.profile.name
                ) from exc
            if response.status_code < 400:
                self.last_rate_limit = parse_rate_limit(
                    response.headers, self.profile.rate_limit_headers
                )
                _log.debug(
                    "%s %s -> %d in %.3f s (attempt %d)",
                    method,
                    endpoint,
                    response.status_code,
                    time.perf_counter() - started,
                    attempt,
                )
                return _Sent(response, started, attempt, idem)
            try:
                raw = await response.aread() if stream else response.content
            except httpx.HTTPError:
                raw = b""
            finally:
                if stream:
                    await response.aclose()
            self.last_rate_limit = parse_rate_limit(
                response.headers, self.profile.rate_limit_headers
            )
            error = error_from_response(
                response.status_code,
                raw,
                response.headers,
                request_id=request_id(response.headers),
                provider=self.profile.name,
            )
            if attempt <= self.max_retries and policy.should_retry(
                response.status_code, response.headers, streaming=stream
            ):
                retry_after = error.retry_after if isinstance(error, RateLimitError) else None
                if retry_after is None and response.status_code >= 500:
                    retry_after = parse_retry_after(response.headers)
                wait = policy.delay(attempt, retry_after)
                if wait is not None:
                    _log.info(
                        "%s %s: %d; retry %d in %.2f s",
                        method,
                        endpoint,
                        response.status_code,
                        attempt,
                        wait,
                    )
                    await _sleep(wait)
                    continue
            _log.info("%s %s failed: %d %s", method, endpoint, response.status_code, error.message)
            raise error

    async def open_stream(
        self, endpoint: Endpoint, payload: dict[str, Any], model: str
    ) -> tuple[httpx.Response, _Sent]:
        sent = await self._send(
            "POST", endpoint, self.url(endpoint), body=orjson.dumps(payload), stream=True
        )
        ctype = sent.response.headers.get("content-type", "")
        if "html" in ctype:  # a captive portal or proxy page with status 200
            raw = await sent.response.aread()
            await sent.response.aclose()
            message, *_ = parse_error_body(raw, ctype)
            raise MalformedResponseError(
                f"expected a stream, got a web page: {message}", provider=self.profile.name
            )
        if (
            endpoint in (Endpoint.CHAT, Endpoint.COMPLETIONS)
            and "json" in ctype
            and "event-stream" not in ctype
        ):
            # A server that ignored stream=true (or sent an error with status 200).
            raw = await sent.response.aread()
            await sent.response.aclose()
            obj = _loads(raw, sent.response)
            if isinstance(obj, dict) and "error" in obj and "choices" not in obj:
                raise _body_error(obj, sent.response, self.profile.name)
            sent.response = _as_sse(sent.response, obj)
        return sent.response, sent

    def _meta(
        self,
        sent: _Sent | None,
        endpoint: Endpoint,
        model: str | None,
        usage: Usage | None = None,
        *,
        ttft: float | None = None,
        tokens_per_s: float | None = None,
        end: float | None = None,
    ) -> CallMeta:
        if sent is None:
            return CallMeta(
                provider=self.profile.id, endpoint=str(endpoint), model=model, usage=usage
            )
        response = sent.response
        latency = (end if end is not None else time.perf_counter()) - sent.started
        if tokens_per_s is None and usage is not None and usage.completion_tokens and latency > 0:
            tokens_per_s = usage.completion_tokens / latency
        return CallMeta(
            provider=self.profile.id,
            endpoint=str(endpoint),
            model=model,
            status=response.status_code,
            latency_s=latency,
            ttft_s=ttft,
            tokens_per_s=tokens_per_s,
            request_id=request_id(response.headers),
            rate_limit=parse_rate_limit(response.headers, self.profile.rate_limit_headers),
            usage=usage,
            attempts=sent.attempts,
            idempotency_key=sent.idempotency_key,
        )

    def stream_meta(
        self,
        sent: _Sent | None,
        endpoint: Endpoint,
        model: str,
        usage: Usage,
        t_first: float | None,
        t_end: float | None,
    ) -> CallMeta:
        ttft = (t_first - sent.started) if (sent is not None and t_first is not None) else None
        tps = None
        if (
            t_first is not None
            and t_end is not None
            and t_end > t_first
            and usage.completion_tokens > 1
        ):
            tps = (usage.completion_tokens - 1) / (t_end - t_first)
        return self._meta(sent, endpoint, model, usage, ttft=ttft, tokens_per_s=tps, end=t_end)

    async def _json(
        self, endpoint: Endpoint, payload: dict[str, Any], **params: str
    ) -> tuple[Any, _Sent]:
        sent = await self._send(
            "POST", endpoint, self.url(endpoint, **params), body=orjson.dumps(payload)
        )
        obj = _loads(sent.response.content, sent.response)
        if (
            isinstance(obj, dict)
            and "error" in obj
            and obj.get("error")
            and not any(k in obj for k in ("choices", "data", "results"))
        ):
            raise _body_error(obj, sent.response, self.profile.name)
        return obj, sent

    # models --------------------------------------------------------------------

    async def list_models(self) -> ModelList:
        """The provider's models, from its own list path; a profile without a list gives its
        ``models`` (no call is made)."""
        if not self.profile.capabilities.model_list:
            return ModelList(
                models=[ModelInfo(id=m, owned_by=self.profile.name) for m in self.profile.models],
                meta=self._meta(None, Endpoint.MODELS, None),
            )
        sent = await self._send("GET", Endpoint.MODELS, self.url(Endpoint.MODELS))
        obj = _loads(sent.response.content, sent.response)
        items: Any = obj
        if isinstance(obj, dict):
            items = obj.get("data", obj.get("models", obj.get("result")))
        if not isinstance(items, list):
            raise MalformedResponseError(
                "the model list has no 'data' array", provider=self.profile.name
            )
        models = []
        for item in items:
            if isinstance(item, str):
                models.append(ModelInfo(id=item))
            elif isinstance(item, dict):
                model_id = item.get("id") or item.get("name") or item.get("model")
                if model_id:
                    try:
                        models.append(ModelInfo.model_validate({**item, "id": str(model_id)}))
                    except ValidationError:  # odd field types: keep the id at least
                        _log.info("model %s: unusual fields kept out", model_id)
                        models.append(ModelInfo(id=str(model_id)))
        return ModelList(models=models, meta=self._meta(sent, Endpoint.MODELS, None))

    async def get_model(self, model_id: str) -> ModelInfo:
        sent = await self._send("GET", Endpoint.MODEL, self.url(Endpoint.MODEL, model=model_id))
        obj = _loads(sent.response.content, sent.response)
        if not isinstance(obj, dict):
            raise MalformedResponseError("the model is not an object", provider=self.profile.name)
        return ModelInfo.model_validate(
            {
                **obj,
                "id": str(obj.get("id") or model_id),
                "meta": self._meta(sent, Endpoint.MODEL, model_id),
            }
        )

    # chat ------------------------------------------------------------------------

    def _chat_request(self, request: ChatRequest | dict[str, Any]) -> ChatRequest:
        req = ChatRequest.build(**request) if isinstance(request, dict) else request
        req.check()
        return req

    async def chat(self, request: ChatRequest | dict[str, Any]) -> ChatResult:
        """One whole chat completion."""
        req = self._chat_request(request)
        payload = req.payload()
        payload.pop("stream", None)
        payload.pop("stream_options", None)
        obj, sent = await self._json(Endpoint.CHAT, payload)
        if not isinstance(obj, dict) or not isinstance(obj.get("choices"), list):
            raise MalformedResponseError(
                "the chat answer has no 'choices'", provider=self.profile.name
            )
        usage = Usage.from_wire(obj.get("usage"))
        choices = obj["choices"]
        if usage is None:
            text = "".join(
                str((c.get("message") or {}).get("content") or "")
                for c in choices
                if isinstance(c, dict)
            )
            usage = Usage.estimate(req.prompt_text(), text)
        meta = self._meta(sent, Endpoint.CHAT, req.model, usage)
        try:
            return ChatResult.model_validate({**obj, "usage": usage, "meta": meta})
        except ValueError as exc:
            raise MalformedResponseError(
                f"the chat answer could not be read: {exc}", provider=self.profile.name
            ) from exc

    def stream_chat(self, request: ChatRequest | dict[str, Any]) -> ChatStream:
        """A streamed chat completion: ``async with client.stream_chat(req) as s: async for d in s``."""
        req = self._chat_request(request)
        payload = req.payload()
        payload["stream"] = True
        if self.profile.stream_usage == "on_request":
            options = dict(payload.get("stream_options") or {})
            options.setdefault("include_usage", True)
            payload["stream_options"] = options
        elif self.profile.stream_usage == "never" and "stream_options" not in req.model_fields_set:
            payload.pop("stream_options", None)
        return ChatStream(self, req, payload)

    # legacy completions -------------------------------------------------------------

    def _completion_payload(
        self, model: str, prompt: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        if not model or not model.strip():
            raise RequestValidationError("Choose a model: the model name is empty.", field="model")
        probe = ChatRequest.build(
            model=model, messages=[{"role": "user", "content": prompt or " "}], **params
        )
        probe.check()
        payload = probe.payload()
        payload.pop("messages")
        payload["prompt"] = prompt
        return payload

    async def complete(self, model: str, prompt: str, **params: Any) -> CompletionResult:
        """Legacy ``/completions`` (whole). ``params``: temperature, max_tokens, stop, ..."""
        payload = self._completion_payload(model, prompt, params)
        payload.pop("stream", None)
        obj, sent = await self._json(Endpoint.COMPLETIONS, payload)
        if not isinstance(obj, dict) or not isinstance(obj.get("choices"), list):
            raise MalformedResponseError(
                "the completion has no 'choices'", provider=self.profile.name
            )
        usage = Usage.from_wire(obj.get("usage")) or Usage.estimate(
            prompt, "".join(str(c.get("text") or "") for c in obj["choices"] if isinstance(c, dict))
        )
        return CompletionResult.model_validate(
            {**obj, "usage": usage, "meta": self._meta(sent, Endpoint.COMPLETIONS, model, usage)}
        )

    def stream_complete(self, model: str, prompt: str, **params: Any) -> CompletionStream:
        payload = self._completion_payload(model, prompt, params)
        payload["stream"] = True
        if self.profile.stream_usage == "on_request":
            payload.setdefault("stream_options", {"include_usage": True})
        return CompletionStream(self, payload, model, prompt)

    # embeddings -------------------------------------------------------------------------

    async def embeddings(
        self, model: str, input: list[str] | str, *, dimensions: int | None = None, **extra: Any
    ) -> EmbeddingResult:
        texts = [input] if isinstance(input, str) else list(input)
        if not model:
            raise RequestValidationError(
                "Choose an embedding model: the model name is empty.", field="model"
            )
        if not texts:
            raise RequestValidationError(
                "Input must hold at least one text to embed.", field="input"
            )
        payload: dict[str, Any] = {"model": model, "input": texts, **extra}
        if dimensions is not None:
            payload["dimensions"] = dimensions
        obj, sent = await self._json(Endpoint.EMBEDDINGS, payload)
        data = obj.get("data") if isinstance(obj, dict) else None
        if not isinstance(data, list):
            raise MalformedResponseError(
                "the embeddings answer has no 'data'", provider=self.profile.name
            )
        for item in data:
            if isinstance(item, dict) and isinstance(item.get("embedding"), str):  # base64 float32
                raw = b64decode(item["embedding"])
                item["embedding"] = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        usage = Usage.from_wire(obj.get("usage")) or Usage(
            prompt_tokens=sum(estimate_tokens(t) for t in texts), estimated=True
        )
        if not usage.total_tokens:
            usage.total_tokens = usage.prompt_tokens
        return EmbeddingResult.model_validate(
            {**obj, "usage": usage, "meta": self._meta(sent, Endpoint.EMBEDDINGS, model, usage)}
        )

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
            obj = _loads(response.content, response)
            raise _body_error(
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
            obj = _loads(response.content, response)
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
            raise _transport_error(exc, request.url, self.timeout) from exc
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
                raise _transport_error(exc, request.url, self.timeout) from exc
            raise ApiConnectionError(f"{request.url.host}: {exc}") from exc
        finally:
            await response.aclose()
        return b"".join(chunks), response.headers.get("content-type", "").split(";")[0].strip()

    # moderation ----------------------------------------------------------------------------------

    async def moderate(self, input: str | list[str], model: str | None = None) -> ModerationResult:
        if not input:
            raise RequestValidationError(
                "Write some text to check: the input is empty.", field="input"
            )
        payload: dict[str, Any] = {"input": input}
        if model:
            payload["model"] = model
        obj, sent = await self._json(Endpoint.MODERATIONS, payload)
        if not isinstance(obj, dict) or not isinstance(obj.get("results"), list):
            raise MalformedResponseError(
                "the moderation answer has no 'results'", provider=self.profile.name
            )
        return ModerationResult.model_validate(
            {**obj, "meta": self._meta(sent, Endpoint.MODERATIONS, model)}
        )


# --------------------------------------------------------------------------- helpers


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def _loads(raw: bytes, response: httpx.Response) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        message, *_ = parse_error_body(raw, response.headers.get("content-type", ""))
        raise MalformedResponseError(
            f"expected JSON, got: {message or 'an empty body'}",
            status=response.status_code,
            request_id=request_id(response.headers),
        ) from None


def _body_error(obj: dict[str, Any], response: httpx.Response, provider: str) -> ApiError:
    """A 200 whose body is an error (some gateways do this): the error it describes."""
    err = obj.get("error")
    code = err.get("code") if isinstance(err, dict) else None
    status = code if isinstance(code, int) and 400 <= code < 600 else 502
    return error_from_response(
        status,
        orjson.dumps(obj),
        {"content-type": "application/json"},
        request_id=request_id(response.headers),
        provider=provider,
    )


def _as_sse(response: httpx.Response, obj: Any) -> httpx.Response:
    """A whole JSON chat answer re-shaped as the SSE stream a streaming caller expects."""
    events: list[bytes] = []
    if isinstance(obj, dict):
        for choice in obj.get("choices") or []:
            message = choice.get("message") or {}
            delta = {k: v for k, v in message.items() if v is not None}
            chunk = {
                **obj,
                "choices": [
                    {
                        "index": choice.get("index", 0),
                        "delta": delta,
                        "finish_reason": choice.get("finish_reason"),
                    }
                ],
            }
            chunk.pop("usage", None)
            if "text" in choice:
                chunk["choices"][0]["text"] = choice["text"]
            events.append(b"data: " + orjson.dumps(chunk) + b"\n\n")
        if obj.get("usage"):
            events.append(
                b"data: " + orjson.dumps({"choices": [], "usage": obj["usage"]}) + b"\n\n"
            )
    events.append(b"data: [DONE]\n\n")
    return httpx.Response(
        response.status_code,
        headers={**response.headers, "content-type": "text/event-stream"},
        content=b"".join(events),
        request=response.request,
    )


def _transport_error(exc: httpx.TransportError, url: httpx.URL, timeout: float) -> ApiError:
    where = url.host or str(url)
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return TLSError(f"{where}: {cause}")
        cause = cause.__cause__ or cause.__context__
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return TLSError(f"{where}: {text}")
    if isinstance(exc, httpx.ConnectTimeout):
        return ApiTimeoutError(f"no connection to {where} within {min(timeout, 15.0):g} s.")
    if isinstance(exc, httpx.TimeoutException):
        return ApiTimeoutError(f"{where} sent no answer within {timeout:g} s.")
    causes: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and len(causes) < 10:
        causes.append(link)
        link = link.__cause__ or link.__context__
    lowered = " ".join(str(c) for c in causes).lower()
    if any(isinstance(c, socket.gaierror) for c in causes) or any(
        s in lowered
        for s in (
            "name or service not known",
            "nodename nor servname",
            "getaddrinfo",
            "name resolution",
        )
    ):
        return ApiConnectionError(f"the host name {where} could not be found (DNS).")
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in lowered:
        port = f":{url.port}" if url.port else ""
        return ApiConnectionError(f"{where}{port} refused the connection (is the server running?).")
    if isinstance(exc, httpx.RemoteProtocolError):
        return ApiConnectionError(f"{where} closed the connection without an answer ({text}).")
    return ApiConnectionError(f"{where}: {text.rstrip('.')}.")


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
