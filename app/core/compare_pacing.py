"""Pacing for comparison runs: requests to one provider kept within its known rate limits,
and the client pool as one column sees it (every request passes the pacer first)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app import log
from app.api import ApiClient, ProviderProfile, WaitReporter, wait_out
from app.api.types import RateLimitStatus
from app.core.clients import ClientPool
from app.core.compare_columns import Column

_log = log.get("core.compare")


# --- pacing -----------------------------------------------------------------------------


@dataclass
class _Budget:
    starts: deque[float] = field(default_factory=deque)
    limit: int | None = None  # requests per period
    remaining: int | None = None
    remaining_at: float = 0.0  # monotonic time the remaining count was true
    reset_at: float | None = None
    seen: float = 0.0  # observed_at of the last status taken in
    hold_until: float = 0.0


class Pacer:
    """Spaces requests to each provider so known rate limits are never exceeded.

    It knows a provider's limit from the rate-limit headers of its answers (``observe``;
    e.g. ``X-RateLimit-Limit-Requests: 60`` with the remaining count and reset time), from
    a limit set ahead (``set_limit``) and from a 429's Retry-After (``hold``). Then a
    request waits while its own requests in the last ``period`` reach the limit, while the
    remaining count the provider reported is used up (until its reset), or while a hold
    lasts. With nothing known it never waits. Six columns on a 60-RPM provider go at once
    while it has six requests left and wait for the window otherwise.
    """

    def __init__(
        self,
        *,
        period: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.period = period
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._budgets: dict[str, _Budget] = {}

    def _budget(self, provider_id: str) -> _Budget:
        return self._budgets.setdefault(provider_id, _Budget())

    def set_limit(self, provider_id: str, requests_per_period: int | None) -> None:
        self._budget(provider_id).limit = requests_per_period

    def hold(self, provider_id: str, seconds: float) -> None:
        """No request to this provider for ``seconds`` (a 429 said so)."""
        budget = self._budget(provider_id)
        budget.hold_until = max(budget.hold_until, self._clock() + max(0.0, seconds))

    def observe(self, provider_id: str, status: RateLimitStatus | None) -> None:
        """Take in the rate-limit status of an answer (each status once)."""
        if status is None or status.observed_at <= 0:
            return
        if (
            status.limit_requests is None
            and status.remaining_requests is None
            and not status.retry_after_s
        ):
            return
        budget = self._budget(provider_id)
        if status.observed_at <= budget.seen:
            return
        budget.seen = status.observed_at
        now = self._clock()
        at = now - max(0.0, self._wall() - status.observed_at)
        if status.limit_requests:
            budget.limit = status.limit_requests
        if status.remaining_requests is not None:
            budget.remaining = status.remaining_requests
            budget.remaining_at = at
            reset = status.reset_requests_s
            budget.reset_at = at + (reset if reset is not None else self.period)
        if status.retry_after_s:
            budget.hold_until = max(budget.hold_until, at + status.retry_after_s)

    def delay(self, provider_id: str) -> float:
        """Seconds the next request to ``provider_id`` must wait (0: it may go now)."""
        budget = self._budget(provider_id)
        now = self._clock()
        starts = budget.starts
        while starts and starts[0] <= now - self.period:
            starts.popleft()
        wait = budget.hold_until - now
        if budget.limit is not None and len(starts) >= budget.limit:
            wait = max(wait, starts[-budget.limit] + self.period - now)
        if budget.remaining is not None and budget.reset_at is not None:
            if now >= budget.reset_at:
                budget.remaining = None
            else:
                used = sum(1 for t in starts if t >= budget.remaining_at)
                if used >= budget.remaining:
                    wait = max(wait, budget.reset_at - now)
        return max(0.0, wait)

    async def acquire(self, provider_id: str, on_wait: WaitReporter | None = None) -> None:
        """Wait until a request may go, then count it as started ("Retry now" goes at once)."""
        while (wait := self.delay(provider_id)) > 0:
            waiting = await wait_out(wait, "queued for the rate limit", self._sleep, on_wait)
            if waiting.skipped:
                break
        self._budget(provider_id).starts.append(self._clock())


class _PacedClients:
    """The client pool as one column's chat session sees it: each ``get`` passes the pacer
    first (so a stopped column stops waiting too) and marks when the request goes."""

    def __init__(self, pool: ClientPool, pacer: Pacer, column: Column) -> None:
        self._pool = pool
        self._pacer = pacer
        self._column = column

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)  # everything but ``get`` is the pool's own

    def profile(self, provider_id: str) -> ProviderProfile:
        return self._pool.profile(provider_id)

    async def get(self, provider_id: str) -> ApiClient:
        client = await self._pool.get(provider_id)
        self._pacer.observe(provider_id, client.last_rate_limit)
        await self._pacer.acquire(provider_id, self._column.on_wait)
        self._column.on_sent()
        return client
