"""The sending half of ``ApiClient``: one long-lived ``httpx.AsyncClient`` per provider, the
retry loop, call metadata and stream opening; the endpoint families build on it (``media``,
``client``).

Keys go only to the provider's own origin: the auth header is added by a request hook
that runs for every hop of a redirect, and only when the hop's host is the provider's (or
a host named in an absolute path override); a redirect elsewhere never carries it.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
import orjson

from app import __version__, log
from app.api.errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    MalformedResponseError,
    RateLimitError,
    TLSError,
    error_from_response,
    parse_error_body,
    parse_retry_after,
)
from app.api.idempotency import UnsettledKeys
from app.api.meta import parse_rate_limit, request_id
from app.api.profiles import Endpoint, ProviderProfile
from app.api.retry import RetryPolicy, wait_out
from app.api.types import CallMeta, RateLimitStatus, Usage
from app.api.wire import Sent

__all__ = ["BaseClient", "body_error", "json_body", "transport_error"]

_log = log.get("api")
_sleep = asyncio.sleep  # tests replace it to record waits
_JSON = {"Content-Type": "application/json"}


class BaseClient:
    """Sends one provider's calls; ``ApiClient`` adds one method per endpoint."""

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
        self._unsettled = UnsettledKeys(profile.idempotency_window_s)
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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.profile.id!r}, {self.profile.base_url!r}, key={'set' if self._auth_value else 'none'})"

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
    ) -> Sent:
        """Send with the retry policy; error statuses raise. A stream is returned open."""
        # One key per logical request: every automatic retry below sends the same one, so
        # a provider that already charged a timed-out call answers from its cache. A key
        # the user set among the profile's headers is theirs: it is sent as it is.
        own = next(
            (v for k, v in self.profile.headers.items() if k.lower() == "idempotency-key"), None
        )
        keyed = method == "POST" and not stream and self.profile.idempotency and own is None
        # A user's Retry of a call that ended unanswered reuses its key (see idempotency.py).
        digest = self._unsettled.digest(url, body) if keyed else None
        idem = self._unsettled.key_for(digest) if keyed else own
        headers: dict[str, str] = {}
        if body is not None:
            headers.update(_JSON)
        if idem and own is None:
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
                error = transport_error(exc, request.url, self.timeout)
                retryable = isinstance(
                    exc,
                    httpx.ConnectError
                    | httpx.ConnectTimeout
                    | httpx.PoolTimeout
                    | httpx.RemoteProtocolError,
                ) or (not stream and isinstance(exc, httpx.ReadError | httpx.WriteError))
                if isinstance(error, TLSError):
                    retryable = False
                wait = policy.delay(attempt) or 0.0
                if (
                    retryable
                    and attempt <= self.max_retries
                    and policy.within_budget(time.perf_counter() - started, wait)
                ):
                    _log.info(
                        "%s %s: %s; retry %d in %.2f s",
                        method,
                        endpoint,
                        type(exc).__name__,
                        attempt,
                        wait or 0,
                    )
                    await wait_out(wait, f"{request.url.host} unreachable; trying again", _sleep)
                    continue
                if idem is not None:
                    self._unsettled.unsettled(digest, idem)
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
                self._unsettled.settled(digest)
                return Sent(response, started, attempt, idem)
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
            if (
                attempt <= self.max_retries
                and response.status_code not in self.profile.no_retry_statuses
                and policy.should_retry(response.status_code, response.headers, streaming=stream)
            ):
                retry_after = error.retry_after if isinstance(error, RateLimitError) else None
                if retry_after is None and response.status_code >= 500:
                    retry_after = parse_retry_after(response.headers)
                retry_wait = policy.delay(attempt, retry_after)
                if retry_wait is not None and policy.within_budget(
                    time.perf_counter() - started, retry_wait
                ):
                    _log.info(
                        "%s %s: %d; retry %d in %.2f s",
                        method,
                        endpoint,
                        response.status_code,
                        attempt,
                        retry_wait,
                    )
                    await wait_out(retry_wait, _wait_reason(response.status_code), _sleep)
                    continue
            _log.info("%s %s failed: %d %s", method, endpoint, response.status_code, error.message)
            self._unsettled.settled(digest)
            raise error

    async def open_stream(
        self, endpoint: Endpoint, payload: dict[str, Any], model: str
    ) -> tuple[httpx.Response, Sent]:
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
            obj = json_body(raw, sent.response)
            if isinstance(obj, dict) and "error" in obj and "choices" not in obj:
                raise body_error(obj, sent.response, self.profile.name)
            sent.response = _as_sse(sent.response, obj)
        return sent.response, sent

    def _meta(
        self,
        sent: Sent | None,
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
        sent: Sent | None,
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
    ) -> tuple[Any, Sent]:
        sent = await self._send(
            "POST", endpoint, self.url(endpoint, **params), body=orjson.dumps(payload)
        )
        obj = json_body(sent.response.content, sent.response)
        if (
            isinstance(obj, dict)
            and "error" in obj
            and obj.get("error")
            and not any(k in obj for k in ("choices", "data", "results"))
        ):
            raise body_error(obj, sent.response, self.profile.name)
        return obj, sent


# --------------------------------------------------------------------------- helpers


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def json_body(raw: bytes, response: httpx.Response) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        message, *_ = parse_error_body(raw, response.headers.get("content-type", ""))
        raise MalformedResponseError(
            f"expected JSON, got: {message or 'an empty body'}",
            status=response.status_code,
            request_id=request_id(response.headers),
        ) from None


def body_error(obj: dict[str, Any], response: httpx.Response, provider: str) -> ApiError:
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


def transport_error(exc: httpx.TransportError, url: httpx.URL, timeout: float) -> ApiError:
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


def _wait_reason(status: int) -> str:
    if status == 429:
        return "rate limited (429); trying again"
    return f"the provider answered {status}; trying again"
