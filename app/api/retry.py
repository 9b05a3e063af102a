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
caller's context (:func:`reporting_waits`) as a :class:`Waiting`, so a screen can count it
down and offer "Retry now" (:meth:`Waiting.skip` ends the wait at once).

Waits grow exponentially with jitter (``base * 2**(attempt-1)``, capped at ``max_delay``,
minus up to 25 %), and a ``Retry-After`` (or ``retry-after-ms``) is honoured exactly when it
is at most ``max_retry_after`` seconds; a longer one is not waited for: the error is raised
at once so the person can decide.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

__all__ = [
    "RetryPolicy",
    "WaitReporter",
    "Waiting",
    "reporting_waits",
    "wait_out",
    "wait_words",
]


class Waiting:
    """One wait before a retry, as a screen sees it: how long, why, and a way to cut it short."""

    __slots__ = ("_skip", "reason", "seconds", "skipped", "started")

    def __init__(self, seconds: float, reason: str) -> None:
        self.seconds = seconds
        self.reason = reason
        self.started = time.monotonic()
        self.skipped = False
        self._skip = asyncio.Event()

    def left(self, now: float | None = None) -> float:
        """Seconds still to wait (0 once over or skipped)."""
        if self.skipped:
            return 0.0
        return max(0.0, self.started + self.seconds - (time.monotonic() if now is None else now))

    def skip(self) -> None:
        """ "Retry now": end the wait and try at once."""
        self.skipped = True
        self._skip.set()


WaitReporter = Callable[[Waiting], None]
"""Told of each wait before the client starts it."""

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


async def wait_out(
    seconds: float,
    reason: str,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    reporter: WaitReporter | None = None,
) -> Waiting:
    """Announce a wait (to ``reporter``, else the context's), then wait it out unless skipped."""
    waiting = Waiting(seconds, reason)
    reporter = reporter or _reporter.get()
    if reporter is not None:
        reporter(waiting)
    if waiting.skipped:
        return waiting
    sleeper = asyncio.ensure_future(sleep(seconds))
    skipper = asyncio.ensure_future(waiting._skip.wait())
    try:
        await asyncio.wait((sleeper, skipper), return_when=asyncio.FIRST_COMPLETED)
    finally:  # cancelled (Stop) or done: neither helper outlives the wait
        sleeper.cancel()
        skipper.cancel()
    return waiting


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
