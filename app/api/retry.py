"""When and how long to wait before trying a call again.

Retried: connection failures (nothing reached the provider, or the connection broke before
an answer), 408, 429, and 5xx answers on non-streaming calls; a stream only before its
first byte (connection failures and 429). Never: other 4xx (the same request would fail the
same way), 409 (an idempotency conflict), cancellation. A server may say
``x-should-retry: true|false``, which wins.

Waits grow exponentially with jitter (``base * 2**(attempt-1)``, capped at ``max_delay``,
minus up to 25 %), and a ``Retry-After`` (or ``retry-after-ms``) is honoured exactly when it
is at most ``max_retry_after`` seconds; a longer one is not waited for: the error is raised
at once so the person can decide.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0

    def should_retry(self, status: int, headers: Any, *, streaming: bool) -> bool:
        hint = (headers.get("x-should-retry") or "").lower() if headers is not None else ""
        if hint == "true":
            return True
        if hint == "false":
            return False
        if status == 429:
            return True
        if streaming:
            return False
        return status == 408 or status >= 500

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``; None means: do not retry."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff * (1.0 - self.jitter * random.random())
