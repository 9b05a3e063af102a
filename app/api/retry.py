"""When and how long to wait before trying a call again.

Retried: connection failures (nothing reached the provider, or the connection broke before
an answer), 408, 429, and 5xx answers on non-streaming calls; a stream only before its
first byte (connection failures and 429). Never: other 4xx (the same request would fail the
same way), 409 (an idempotency conflict), cancellation. A server may say
``x-should-retry: true|false``, which wins.

A request never spends more than ``budget`` seconds retrying in all (a wait that would
pass it is not started: the error is raised at once), and a status the provider documents
as final (``ProviderProfile.no_retry_statuses``, e.g. seed 004's "3-minute upstream limit"
504) is never retried. Every wait is announced first to the ``on_wait`` reporter of the
caller's context (:func:`reporting_waits`), so a screen can count it down.

Waits grow exponentially with jitter (``base * 2**(attempt-1)``, capped at ``max_delay``,
minus up to 25 %), and a ``Retry-After`` (or ``retry-after-ms``) is honoured exactly when it
is at most ``max_retry_after`` seconds; a longer one is not waited for: the error is raised
at once so the person can decide.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

__all__ = ["RetryPolicy", "WaitReporter", "report_wait", "reporting_waits", "wait_words"]

WaitReporter = Callable[[float, str], None]
"""Told ``(seconds, reason)`` before the client waits to try again."""

_reporter: ContextVar[WaitReporter | None] = ContextVar("palaver_wait_reporter", default=None)


@contextmanager
def reporting_waits(reporter: WaitReporter | None) -> Iterator[None]:
    """Within this block (and the tasks it starts), the client's waits go to ``reporter``."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


def wait_words(seconds: float) -> str:
    """``0.2 s``, ``7 s``, ``42 s``: how long a wait is, for a status line."""
    return f"{seconds:.0f} s" if seconds >= 10 else f"{round(seconds, 1):g} s"


def report_wait(seconds: float, reason: str) -> None:
    reporter = _reporter.get()
    if reporter is not None:
        reporter(seconds, reason)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    budget: float = 90.0
    """Seconds a request may spend in all before it gives up retrying."""

    def within_budget(self, elapsed: float, wait: float) -> bool:
        return elapsed + wait <= self.budget

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
