"""Errors raised by the API client: one tree, one status→error function.

::

    ApiError                        .message .status .code .type .request_id .user_message
    ├── ApiStatusError              the provider answered with an error status (.body, .headers)
    │   ├── BadRequestError             400  invalid request (the message names the field)
    │   ├── AuthenticationError         401  key missing or rejected
    │   ├── InsufficientCreditsError    402  balance too low
    │   ├── PermissionDeniedError       403
    │   ├── NotFoundError               404  unknown model or path
    │   ├── ConflictError               409  idempotency key reused with another body
    │   ├── RateLimitError              429  .retry_after (seconds, or None)
    │   ├── InternalServerError         500, and any other 5xx without its own class
    │   ├── BadGatewayError             502  upstream failed (often an HTML proxy page)
    │   ├── ServiceUnavailableError     503
    │   └── GatewayTimeoutError         504
    │   (any other 4xx: ApiStatusError itself)
    ├── ApiConnectionError          no answer at all: offline, DNS, refused, reset
    │   └── TLSError                    certificate or handshake failure
    ├── ApiTimeoutError             no answer in time
    ├── StreamInterruptedError      a stream ended without [DONE]; .partial holds what came
    ├── RequestValidationError      refused before sending; .field names the parameter
    └── MalformedResponseError      a 2xx answer that cannot be read

``user_message`` is plain words for a person (shown by the UI); ``message`` is the
provider's own text (for logs and details). Neither ever contains HTML or a key.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from app.log import redact

# html, orjson and email.utils are imported where used: the app imports this module before
# its first paint, and error bodies are only ever read after a call.

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "ApiStatusError",
    "ApiTimeoutError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "ConflictError",
    "GatewayTimeoutError",
    "InsufficientCreditsError",
    "InternalServerError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "ServiceUnavailableError",
    "StreamInterruptedError",
    "TLSError",
    "error_from_response",
    "parse_error_body",
    "parse_retry_after",
]

_MAX_MESSAGE = 500


class ApiError(Exception):
    """Base of every error the client raises."""

    status: int | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        type: str | None = None,
        request_id: str | None = None,
        provider: str | None = None,
    ) -> None:
        self.message = redact(message)
        if status is not None:
            self.status = status
        self.code = code
        self.type = type
        self.request_id = request_id
        self.provider = provider
        super().__init__(self.message)

    @property
    def user_message(self) -> str:
        return self.message

    def __str__(self) -> str:
        return self.user_message


class ApiStatusError(ApiError):
    """The provider answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        param: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, status=status, **kwargs)
        self.body = body
        self.headers = dict(headers or {})
        self.param = param

    @property
    def user_message(self) -> str:
        return f"The provider answered {self.status}: {self.message}"


class BadRequestError(ApiStatusError):
    @property
    def user_message(self) -> str:
        return f"The provider refused the request (400): {self.message}"


class AuthenticationError(ApiStatusError):
    @property
    def user_message(self) -> str:
        who = f" for {self.provider}" if self.provider else ""
        return f"The API key was rejected (401): check the key{who} in the provider settings. ({self.message})"


class InsufficientCreditsError(ApiStatusError):
    @property
    def user_message(self) -> str:
        return f"Not enough credits (402): top up your balance with the provider. ({self.message})"


class PermissionDeniedError(ApiStatusError):
    @property
    def user_message(self) -> str:
        return f"This key may not use that (403): {self.message}"


class NotFoundError(ApiStatusError):
    @property
    def user_message(self) -> str:
        return f"Not found (404): {self.message} Check the model name and the provider's base URL."


class ConflictError(ApiStatusError):
    @property
    def user_message(self) -> str:
        return (
            "The provider already has a different request under this request's idempotency "
            f"key (409): {self.message} Nothing was charged for it. Trying again sends a new "
            "key (unless the provider's headers set one by hand: then change that one)."
        )


class RateLimitError(ApiStatusError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    @property
    def user_message(self) -> str:
        wait = (
            f" Try again in {self.retry_after:.0f} s."
            if self.retry_after is not None
            else " Try again shortly."
        )
        return f"Rate limited (429): the provider asks to slow down.{wait} ({self.message})"


class InternalServerError(ApiStatusError):
    @property
    def user_message(self) -> str:
        return (
            f"The provider had an internal error ({self.status}): {self.message} Try again shortly."
        )


class BadGatewayError(ApiStatusError):
    @property
    def user_message(self) -> str:
        return f"The provider's gateway got no valid answer from upstream (502): {self.message}"


class ServiceUnavailableError(ApiStatusError):
    @property
    def user_message(self) -> str:
        return f"The provider is unavailable or overloaded (503): {self.message}"


class GatewayTimeoutError(ApiStatusError):
    @property
    def user_message(self) -> str:
        return f"The provider timed out upstream (504): {self.message} Try a shorter request or again later."


class ApiConnectionError(ApiError):
    """No answer at all: offline, DNS failure, connection refused or reset."""

    @property
    def user_message(self) -> str:
        return f"Could not reach the provider: {self.message} Check the network and the base URL."


class TLSError(ApiConnectionError):
    @property
    def user_message(self) -> str:
        return f"A secure (TLS) connection to the provider failed: {self.message}"


class ApiTimeoutError(ApiError):
    @property
    def user_message(self) -> str:
        return f"The provider did not answer in time: {self.message}"


class StreamInterruptedError(ApiError):
    """A stream ended (or broke) before ``[DONE]``. ``partial`` is the ChatResult so far."""

    def __init__(self, message: str, *, partial: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.partial = partial

    @property
    def user_message(self) -> str:
        return f"The answer was cut off before it finished; the part received is kept. ({self.message})"


class RequestValidationError(ApiError, ValueError):
    """The request was refused before sending. ``field`` names the parameter."""

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field = field


class MalformedResponseError(ApiError):
    @property
    def user_message(self) -> str:
        return f"The provider sent an answer Palaver could not read: {self.message}"


_BY_STATUS: dict[int, type[ApiStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
    500: InternalServerError,
    502: BadGatewayError,
    503: ServiceUnavailableError,
    504: GatewayTimeoutError,
}

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_H1 = re.compile(rb"<h1[^>]*>(.*?)</h1>", re.I | re.S)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _clean(text: str) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _html_text(fragment: bytes) -> str:
    import html

    return _clean(html.unescape(_TAGS.sub(" ", fragment.decode("utf-8", "replace"))))


def _looks_html(body: bytes, content_type: str) -> bool:
    head = body[:512].lstrip().lower()
    return "html" in content_type.lower() or head.startswith(
        (b"<!doctype", b"<html", b"<head", b"<body")
    )


def parse_error_body(
    body: bytes, content_type: str = ""
) -> tuple[str | None, str | None, str | None, str | None, Any]:
    """``(message, code, type, param, parsed)`` from an error body of any shape.

    Reads the OpenAI ``{"error": {...}}`` shape, ``{"error": "text"}``, ``{"detail": ...}``
    (FastAPI, llama.cpp-style servers; a list of validation items too), ``{"message": ...}``,
    plain text, and HTML pages (only their ``<title>`` or first ``<h1>``: never the page).
    """
    if not body or not body.strip():
        return None, None, None, None, None
    if _looks_html(body, content_type):
        match = _TITLE.search(body) or _H1.search(body)
        text = _html_text(match.group(1)) if match else ""
        return (text or "an HTML error page with no title"), None, None, None, None
    import orjson

    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _clean(body.decode("utf-8", "replace")), None, None, None, None
    if not isinstance(parsed, dict):
        return _clean(str(parsed)), None, None, None, parsed
    error = parsed.get("error")
    if isinstance(error, dict):
        message = error.get("message") or error.get("msg") or error.get("detail")
        code = error.get("code")
        return (
            _clean(str(message)) if message else None,
            str(code) if code is not None else None,
            error.get("type") if isinstance(error.get("type"), str) else None,
            error.get("param") if isinstance(error.get("param"), str) else None,
            parsed,
        )
    if isinstance(error, str) and error:
        return (
            _clean(error),
            _opt_str(parsed.get("code")),
            _opt_str(parsed.get("type")),
            None,
            parsed,
        )
    detail = parsed.get("detail")
    if isinstance(detail, str) and detail:
        return _clean(detail), None, None, None, parsed
    if isinstance(detail, list) and detail:
        items = []
        param = None
        for item in detail[:3]:
            if isinstance(item, dict):
                loc = item.get("loc") or []
                where = ".".join(str(x) for x in loc if x != "body")
                param = param or (where or None)
                items.append(f"{where}: {item.get('msg', '')}".strip(": "))
            else:
                items.append(str(item))
        return _clean("; ".join(items)), None, None, param, parsed
    if isinstance(detail, dict):
        message = detail.get("message") or detail.get("msg")
        if message:
            return (
                _clean(str(message)),
                _opt_str(detail.get("code")),
                _opt_str(detail.get("type")),
                None,
                parsed,
            )
    for key in ("message", "msg", "error_message", "title"):
        if isinstance(parsed.get(key), str) and parsed[key]:
            return (
                _clean(parsed[key]),
                _opt_str(parsed.get("code")),
                _opt_str(parsed.get("type")),
                None,
                parsed,
            )
    return _clean(body.decode("utf-8", "replace")), None, None, None, parsed


def _opt_str(value: Any) -> str | None:
    return str(value) if value is not None else None


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``Retry-After`` seconds, or an HTTP date."""
    lower = (
        {k.lower(): v for k, v in headers.items()} if not hasattr(headers, "get_list") else headers
    )
    raw_ms = lower.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = lower.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


_REASONS = {
    400: "Bad request.",
    401: "Unauthorized.",
    402: "Payment required.",
    403: "Forbidden.",
    404: "Not found.",
    409: "Conflict.",
    429: "Too many requests.",
    500: "Internal server error.",
    502: "Bad gateway.",
    503: "Service unavailable.",
    504: "Gateway timeout.",
}


def error_from_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    request_id: str | None = None,
    provider: str | None = None,
) -> ApiStatusError:
    """The one status→error function: the right ``ApiStatusError`` for a response."""
    ctype = headers.get("content-type", "") or ""
    message, code, type_, param, parsed = parse_error_body(body, ctype)
    if not message:
        message = _REASONS.get(status, f"HTTP {status}.")
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = InternalServerError if 500 <= status < 600 else ApiStatusError
    kwargs: dict[str, Any] = {
        "status": status,
        "body": parsed if parsed is not None else None,
        "headers": headers,
        "param": param,
        "code": code,
        "type": type_,
        "request_id": request_id,
        "provider": provider,
    }
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=parse_retry_after(headers), **kwargs)
    return cls(message, **kwargs)
