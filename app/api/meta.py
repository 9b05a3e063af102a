"""Reading call metadata from response headers: rate limits, request ids."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

from app.api.errors import parse_retry_after
from app.api.profiles import RateLimitHeaders
from app.api.types import RateLimitStatus

__all__ = ["parse_duration", "parse_rate_limit", "request_id"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_REQUEST_ID_HEADERS = (
    "x-request-id",
    "request-id",
    "openai-request-id",
    "x-amzn-requestid",
    "cf-ray",
)


def parse_duration(value: str, *, now: float) -> float | None:
    """Seconds until a reset: a Unix timestamp (s or ms), plain seconds, or ``6m0s``/``20ms``."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        parts = _DURATION.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value.replace(" ", ""):
            return None
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        return sum(float(n) * scale[u] for n, u in parts)
    if number > 1e12:  # epoch milliseconds
        return max(0.0, number / 1000.0 - now)
    if number > 1e9:  # epoch seconds
        return max(0.0, number - now)
    return max(0.0, number)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def parse_rate_limit(
    headers: Mapping[str, str], names: RateLimitHeaders | None = None, *, now: float | None = None
) -> RateLimitStatus:
    """The rate-limit status named by the profile's header names (case-insensitive)."""
    names = names or RateLimitHeaders()
    now = time.time() if now is None else now
    lower = {k.lower(): v for k, v in headers.items()}
    raw = {
        k: v
        for k, v in lower.items()
        if "ratelimit" in k or "rate-limit" in k or k in ("retry-after", "retry-after-ms")
    }
    status = RateLimitStatus(observed_at=now, raw=raw)
    if not raw:
        return status

    def get(name: str) -> str | None:
        return lower.get(name.lower())

    status.limit_requests = _int(get(names.limit_requests))
    status.remaining_requests = _int(get(names.remaining_requests))
    status.limit_requests_day = _int(get(names.limit_requests_day))
    status.remaining_requests_day = _int(get(names.remaining_requests_day))
    status.limit_tokens = _int(get(names.limit_tokens))
    status.remaining_tokens = _int(get(names.remaining_tokens))
    for attr, name in (
        ("reset_requests_s", names.reset_requests),
        ("reset_requests_day_s", names.reset_requests_day),
        ("reset_tokens_s", names.reset_tokens),
    ):
        value = get(name)
        if value:
            setattr(status, attr, parse_duration(value, now=now))
    status.retry_after_s = parse_retry_after(lower, now=now)
    return status


def request_id(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None
