"""The live usage monitor: rate limits, Retry-After waits and credits per provider, and a
stream of usage events for whoever subscribes (the status bar, the dashboard).

:class:`UsageMonitor` keeps the latest rate-limit status per provider, the end of a 429's
``Retry-After`` wait and the last "out of credits" (402), and calls plain subscribers on
the loop thread. Every metered call (:mod:`app.core.metered`) reports to it; the client
pool feeds it every response's headers. No Qt.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from app import log
from app.api.errors import ApiError, InsufficientCreditsError, RateLimitError
from app.store import LedgerEntry

if TYPE_CHECKING:  # the wire types (pydantic) load with the first call, not at start-up
    from app.api.profiles import ProviderProfile
    from app.api.types import RateLimitStatus

__all__ = [
    "BudgetCrossed",
    "BudgetLevel",
    "CallRecorded",
    "CreditsExhausted",
    "LimitsChanged",
    "Listener",
    "ProviderLimits",
    "UsageEvent",
    "UsageMonitor",
]

_log = log.get("core.monitor")

BudgetLevel = Literal["none", "ok", "warning", "over"]


@dataclass
class ProviderLimits:
    """What is known right now about one provider's limits (wall-clock times)."""

    provider_id: str
    status: RateLimitStatus | None = None
    retry_until: float | None = None  # end of a 429's Retry-After
    credits_out_at: float | None = None  # when a 402 was last seen
    credits_detail: str = ""
    updated_at: float = 0.0

    def _reset_at(self, seconds: float | None) -> float | None:
        if self.status is None or seconds is None:
            return None
        return self.status.observed_at + seconds

    @property
    def requests_reset_at(self) -> float | None:
        return self._reset_at(self.status.reset_requests_s if self.status else None)

    @property
    def day_reset_at(self) -> float | None:
        return self._reset_at(self.status.reset_requests_day_s if self.status else None)

    def requests_remaining(self, now: float | None = None) -> int | None:
        """Remaining requests this minute; the full limit once the window has reset."""
        if self.status is None or self.status.remaining_requests is None:
            return None
        reset = self.requests_reset_at
        if reset is not None and (now or time.time()) >= reset and self.status.limit_requests:
            return self.status.limit_requests
        return self.status.remaining_requests

    def retry_in(self, now: float | None = None) -> float | None:
        """Seconds left of a 429's wait, or None when there is none."""
        if self.retry_until is None:
            return None
        left = self.retry_until - (now if now is not None else time.time())
        return left if left > 0 else None


@dataclass(frozen=True)
class LimitsChanged:
    provider_id: str
    limits: ProviderLimits


@dataclass(frozen=True)
class CallRecorded:
    entry: LedgerEntry


@dataclass(frozen=True)
class CreditsExhausted:
    provider_id: str
    detail: str


@dataclass(frozen=True)
class BudgetCrossed:
    """A provider's spend this month reached 80 % (``warning``) or 100 % (``over``)."""

    provider_id: str
    level: BudgetLevel
    message: str


UsageEvent = LimitsChanged | CallRecorded | CreditsExhausted | BudgetCrossed
Listener = Callable[[UsageEvent], None]


@dataclass
class UsageMonitor:
    """Live limits per provider and a stream of usage events, for whoever subscribes.

    Call it on the event loop's thread; subscribers run synchronously there.
    """

    limits: dict[str, ProviderLimits] = field(default_factory=dict)
    last_provider: str | None = None
    _listeners: list[Listener] = field(default_factory=list)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; returns the function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: UsageEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one broken subscriber must not break accounting
                _log.exception("usage listener failed")

    def get(self, provider_id: str) -> ProviderLimits:
        return self.limits.setdefault(provider_id, ProviderLimits(provider_id))

    def response_hook(self, profile: ProviderProfile) -> Callable[[Any], Awaitable[None]]:
        """An httpx response hook that reads every response's rate-limit headers."""
        from app.api.meta import parse_rate_limit

        async def on_response(response: Any) -> None:
            status = parse_rate_limit(response.headers, profile.rate_limit_headers)
            ok = response.status_code < 400
            if status.known or not ok:
                self.observe_rate_limit(profile.id, status, succeeded=ok)

        return on_response

    def observe_rate_limit(
        self, provider_id: str, status: RateLimitStatus | None, *, succeeded: bool = False
    ) -> None:
        """Headers of any response (success or error) from ``provider_id``; a response that
        ``succeeded`` ends a Retry-After wait."""
        if status is None or not status.known:
            if succeeded and provider_id in self.limits:
                self.limits[provider_id].retry_until = None
            return
        limits = self.get(provider_id)
        limits.status = status
        limits.updated_at = status.observed_at or time.time()
        if status.retry_after_s:
            limits.retry_until = limits.updated_at + status.retry_after_s
        elif succeeded:
            limits.retry_until = None
        self.last_provider = provider_id
        self._emit(LimitsChanged(provider_id, limits))

    def observe_error(
        self, provider_id: str, error: BaseException | None, *, retry_after_s: float | None = None
    ) -> None:
        """A failed call: a 429 starts its Retry-After countdown, a 402 marks credits out."""
        now = time.time()
        kind = type(error).__name__ if error is not None else ""
        if isinstance(error, RateLimitError) or kind == "RateLimitError":
            wait = getattr(error, "retry_after", None) or retry_after_s
            limits = self.get(provider_id)
            limits.retry_until = now + (wait if wait is not None else 60.0)
            limits.updated_at = now
            self.last_provider = provider_id
            self._emit(LimitsChanged(provider_id, limits))
        elif isinstance(error, InsufficientCreditsError) or kind == "InsufficientCreditsError":
            limits = self.get(provider_id)
            limits.credits_out_at = now
            limits.credits_detail = error.message if isinstance(error, ApiError) else ""
            self.last_provider = provider_id
            self._emit(CreditsExhausted(provider_id, limits.credits_detail))
            self._emit(LimitsChanged(provider_id, limits))

    def budget_crossed(self, provider_id: str, level: BudgetLevel, message: str) -> None:
        """Announce a budget warning (whoever checked the month's spend calls this)."""
        self._emit(BudgetCrossed(provider_id, level, message))

    def observe_call(
        self,
        entry: LedgerEntry,
        *,
        rate_limit: RateLimitStatus | None = None,
        error: BaseException | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """A call was written to the ledger: update limits, then tell subscribers."""
        if rate_limit is not None:
            self.observe_rate_limit(entry.provider, rate_limit)
        elif entry.rate_limit:
            from app.api.types import RateLimitStatus

            self.observe_rate_limit(
                entry.provider, RateLimitStatus.model_validate(entry.rate_limit)
            )
        if error is not None:
            self.observe_error(entry.provider, error, retry_after_s=retry_after_s)
        elif ":" in entry.status:  # e.g. "error:RateLimitError" from the chat session
            kind = entry.status.rsplit(":", 1)[-1]
            self._observe_error_kind(entry.provider, kind, retry_after_s)
        else:
            limits = self.limits.get(entry.provider)
            if limits is not None and (limits.credits_out_at or limits.retry_until):
                # A call went through: the wait is over and there are credits again.
                limits.credits_out_at = None
                limits.retry_until = None
                self._emit(LimitsChanged(entry.provider, limits))
        self._emit(CallRecorded(entry))

    def _observe_error_kind(self, provider_id: str, kind: str, retry_after_s: float | None) -> None:
        if kind == "RateLimitError":
            self.observe_error(
                provider_id, RateLimitError("", status=429, retry_after=retry_after_s)
            )
        elif kind == "InsufficientCreditsError":
            self.observe_error(provider_id, InsufficientCreditsError("", status=402))
