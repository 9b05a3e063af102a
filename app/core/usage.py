"""Usage accounting: prices per endpoint, credits, monthly budgets, and a live monitor.

- :func:`call_cost` prices one call of any endpoint from a :class:`ModelPrice` (tokens,
  images, characters of speech, minutes of audio); model lists cost nothing.
- :func:`record_call` turns a finished (or failed) call into a ledger row, writes it and
  tells the :class:`UsageMonitor`; every panel's flow uses it (the chat session has its
  own equivalent and notifies the monitor too).
- :class:`Budgets` keeps a monthly budget per provider in ``budgets.json`` under the
  config dir (amounts only, never keys); :func:`budget_level` says ``ok``/``warning``
  (80 %)/``over`` (100 %).
- :class:`UsageMonitor` keeps the latest rate-limit status per provider, the end of a
  429's ``Retry-After`` wait, and the last "out of credits" (402) per provider, and calls
  plain subscribers on the loop thread. No Qt: the status bar and the dashboard subscribe.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from app import log
from app.api.errors import ApiError, InsufficientCreditsError, RateLimitError
from app.settings import keep_aside, write_atomic
from app.store import LedgerEntry, Store, StoreWriteError

if TYPE_CHECKING:  # the wire types (pydantic) load with the first call, not at start-up
    from app.api.profiles import ModelPrice, ProviderProfile
    from app.api.types import CallMeta, RateLimitStatus, Usage
    from app.core.models_cache import ModelsCache

_log = log.get("core.usage")

ESTIMATED_MARK = "≈"
WARNING_FRACTION = 0.8
BUDGETS_FILE = "budgets.json"

TOKEN_ENDPOINTS = frozenset({"chat", "completions", "embeddings", "moderations"})


# --- prices ------------------------------------------------------------------------------


def call_cost(
    price: ModelPrice | None,
    endpoint: str,
    *,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    characters: int = 0,
    audio_seconds: float = 0.0,
    images: int = 0,
) -> float | None:
    """US dollars for one call, or None when the price that applies is unknown.

    Token endpoints use the per-1M input/output prices; images the per-image price; speech
    the per-1M-characters price; transcription the per-minute price. Listing models is free.
    """
    if endpoint in ("models", "model"):
        return 0.0
    if price is None:
        return None
    if endpoint == "images":
        return None if price.per_image is None else price.per_image * images
    if endpoint == "speech":
        return None if price.per_m_chars is None else price.per_m_chars * characters / 1e6
    if endpoint == "transcriptions":
        if price.per_audio_minute is None:
            return None
        return price.per_audio_minute * audio_seconds / 60.0
    from app.api.types import Usage

    return Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens).cost_usd(price)


# --- credits and money -------------------------------------------------------------------


def to_credits(profile: ProviderProfile | None, usd: float) -> float | None:
    """``usd`` in the provider's own units (Stansa: 1 credit = $0.001), if it has them."""
    if profile is None or not profile.credits_per_usd:
        return None
    return usd * profile.credits_per_usd


def format_usd(usd: float, *, estimated: bool = False) -> str:
    """Dollars with enough digits for small sums (``$0.0042``), ``≈`` when estimated."""
    mark = ESTIMATED_MARK if estimated else ""
    if usd == 0:
        return f"{mark}$0"
    if abs(usd) >= 100:
        return f"{mark}${usd:,.0f}"
    if abs(usd) >= 1:
        return f"{mark}${usd:,.2f}"
    if abs(usd) >= 0.01:
        return f"{mark}${usd:.3f}"
    return f"{mark}${usd:.2g}" if abs(usd) < 0.0001 else f"{mark}${usd:.4f}"


def format_credits(profile: ProviderProfile | None, usd: float, *, estimated: bool = False) -> str:
    """``12.5 credits`` in the provider's units, or empty when it has none."""
    credits = to_credits(profile, usd)
    if credits is None or profile is None:
        return ""
    unit = profile.credit_unit or "credit"
    plural = unit if unit.endswith("s") or abs(credits - 1) < 1e-9 else f"{unit}s"
    mark = ESTIMATED_MARK if estimated else ""
    digits = ",.0f" if abs(credits) >= 100 else ",.2f" if abs(credits) >= 1 else ".3g"
    return f"{mark}{credits:{digits}} {plural}"


def format_tokens(count: int, *, estimated: bool = False) -> str:
    """``12,345`` or ``1.2M``; ``≈`` when estimated."""
    mark = ESTIMATED_MARK if estimated else ""
    if count >= 10_000_000:
        return f"{mark}{count / 1e6:,.0f}M"
    if count >= 1_000_000:
        return f"{mark}{count / 1e6:.1f}M"
    return f"{mark}{count:,}"


def credits_message(profile: ProviderProfile | None, provider_id: str) -> str:
    """What a 402 means, in plain words, with where to top up."""
    name = profile.name if profile else provider_id
    text = f"{name} says your credits ran out (402): requests fail until you top up."
    if profile is not None and profile.dashboard_url:
        text += f" Add credits at {profile.dashboard_url}"
    return text


# --- recording ---------------------------------------------------------------------------


def _rate_limit_json(status: RateLimitStatus | None) -> dict[str, Any] | None:
    if status is None or not status.known:
        return None
    return status.model_dump(exclude={"raw"})


def ledger_entry(
    provider_id: str,
    endpoint: str,
    model: str,
    *,
    price: ModelPrice | None = None,
    meta: CallMeta | None = None,
    usage: Usage | None = None,
    error: BaseException | None = None,
    characters: int = 0,
    audio_seconds: float = 0.0,
    images: int = 0,
    latency_s: float | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
) -> LedgerEntry:
    """One ledger row for a call. A failed call is billed nothing, its status names the error."""
    usage = usage or (meta.usage if meta is not None else None)
    prompt = usage.prompt_tokens if usage else 0
    completion = usage.completion_tokens if usage else 0
    if error is not None:
        cost: float | None = 0.0
        status = f"error:{type(error).__name__}"
    else:
        cost = call_cost(
            price, endpoint, prompt_tokens=prompt, completion_tokens=completion,
            characters=characters, audio_seconds=audio_seconds, images=images,
        )  # fmt: skip
        status = "ok"
    return LedgerEntry(
        provider=provider_id,
        endpoint=endpoint,
        model=model,
        prompt_tokens=prompt,
        completion_tokens=completion,
        characters=characters,
        audio_seconds=audio_seconds,
        images=images,
        cost=cost,
        estimated=bool(usage and usage.estimated),
        status=status,
        latency_s=latency_s if latency_s is not None else (meta.latency_s if meta else None),
        ttft_s=meta.ttft_s if meta else None,
        request_id=meta.request_id if meta else getattr(error, "request_id", None),
        rate_limit=_rate_limit_json(meta.rate_limit if meta else None),
        conversation_id=conversation_id,
        message_id=message_id,
    )


async def record_call(
    store: Store,
    monitor: UsageMonitor | None,
    entry: LedgerEntry,
    *,
    rate_limit: RateLimitStatus | None = None,
    error: BaseException | None = None,
) -> LedgerEntry:
    """Write ``entry`` to the ledger and tell the monitor (a full disk only logs: accounting
    never breaks the call it accounts for)."""
    try:
        await store.record_usage(entry)
    except StoreWriteError as exc:
        _log.warning("usage not recorded: %s", exc)
    if monitor is not None:
        monitor.observe_call(entry, rate_limit=rate_limit, error=error)
    return entry


class MeteredClients(Protocol):
    """What accounting needs of the client pool (``app.core.clients.ClientPool``); a
    protocol so that usage and the pool do not import each other."""

    usage: UsageMonitor

    def registry_profile(self, provider_id: str) -> ProviderProfile | None: ...

    def last_rate_limit(self, provider_id: str) -> RateLimitStatus | None: ...


async def account(
    store: Store,
    clients: MeteredClients,
    provider_id: str,
    endpoint: str,
    model: str,
    *,
    result: Any = None,
    error: BaseException | None = None,
    models: ModelsCache | None = None,
    characters: int = 0,
    audio_seconds: float = 0.0,
    images: int | None = None,
    latency_s: float | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
) -> LedgerEntry:
    """Put one call of any panel in the ledger, priced from the profile (or the provider's
    model list), and report it to ``clients.usage``. ``result`` is the API result (its
    ``meta`` and ``usage`` are read; an image result's pictures are counted); pass what the
    provider bills by when the result cannot tell: ``characters`` of speech input,
    ``audio_seconds`` transcribed."""
    from app.core.models_cache import effective_price

    profile = clients.registry_profile(provider_id)
    price = effective_price(profile, model, models) if profile is not None else None
    meta: CallMeta | None = getattr(result, "meta", None)
    usage: Usage | None = getattr(result, "usage", None)
    if images is None:
        data = getattr(result, "data", None)
        images = len(data) if endpoint == "images" and isinstance(data, list) else 0
    entry = ledger_entry(
        provider_id, endpoint, model, price=price, meta=meta, usage=usage, error=error,
        characters=characters, audio_seconds=audio_seconds, images=images, latency_s=latency_s,
        conversation_id=conversation_id, message_id=message_id,
    )  # fmt: skip
    rate_limit = meta.rate_limit if meta is not None else clients.last_rate_limit(provider_id)
    return await record_call(store, clients.usage, entry, rate_limit=rate_limit, error=error)


# --- budgets -----------------------------------------------------------------------------

BudgetLevel = Literal["none", "ok", "warning", "over"]


def _is_amount(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def budget_level(spent_usd: float, budget_usd: float | None) -> BudgetLevel:
    """``warning`` from 80 % of the budget, ``over`` from 100 %."""
    if not budget_usd:
        return "none"
    if spent_usd >= budget_usd:
        return "over"
    if spent_usd >= WARNING_FRACTION * budget_usd:
        return "warning"
    return "ok"


def month_start(today: dt.date | None = None) -> dt.date:
    today = today or dt.date.today()
    return today.replace(day=1)


class Budgets:
    """Monthly budgets per provider, saved atomically; a damaged file is kept aside."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: str | None = None
        self._data = self._load()
        self._warned: dict[tuple[str, str], BudgetLevel] = {}

    @classmethod
    def in_config(cls, config_dir: Path) -> Budgets:
        return cls(config_dir / BUDGETS_FILE)

    def _load(self) -> dict[str, float]:
        """``budgets.json`` is ``{"monthly_usd": {provider id: US dollars}}``."""
        try:
            data = json.loads(self.path.read_bytes())
            budgets = data["monthly_usd"] if isinstance(data, dict) else None
            if not isinstance(budgets, dict) or not all(
                isinstance(k, str) and _is_amount(v) for k, v in budgets.items()
            ):
                raise ValueError("not a map of provider ids to amounts")
            return {k: float(v) for k, v in budgets.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError):
            aside = keep_aside(self.path)
            self.problem = f"The budgets file was unreadable and was set aside ({aside})."
            return {}

    def get(self, provider_id: str) -> float | None:
        return self._data.get(provider_id)

    def all(self) -> dict[str, float]:
        return dict(self._data)

    def set(self, provider_id: str, monthly_usd: float | None) -> None:
        """Set (or with None/0 remove) a provider's monthly budget in US dollars."""
        if monthly_usd:
            if monthly_usd < 0:
                raise ValueError("a budget cannot be negative")
            self._data[provider_id] = float(monthly_usd)
        else:
            self._data.pop(provider_id, None)
        write_atomic(self.path, json.dumps({"monthly_usd": self._data}, indent=1) + "\n")
        for key in [k for k in self._warned if k[0] == provider_id]:
            del self._warned[key]

    def crossed(
        self, spent_by_provider: dict[str, float], today: dt.date | None = None
    ) -> list[tuple[str, BudgetLevel, float, float]]:
        """Providers whose spend this month newly reached 80 % or 100 % of their budget since
        the last call (each level is reported once per month): ``(id, level, spent, budget)``."""
        month = month_start(today).isoformat()
        order = {"none": 0, "ok": 0, "warning": 1, "over": 2}
        out: list[tuple[str, BudgetLevel, float, float]] = []
        for provider_id, budget in self._data.items():
            spent = spent_by_provider.get(provider_id, 0.0)
            level = budget_level(spent, budget)
            previous = self._warned.get((provider_id, month), "ok")
            if order[level] > order[previous]:
                out.append((provider_id, level, spent, budget))
            if level in ("warning", "over"):
                self._warned[(provider_id, month)] = level
        return out


def budget_message(name: str, level: BudgetLevel, spent: float, budget: float) -> str:
    pct = 100 * spent / budget if budget else 0
    if level == "over":
        return f"{name}: this month's spend {format_usd(spent)} passed the budget of {format_usd(budget)} ({pct:.0f} %)."
    return f"{name}: this month's spend {format_usd(spent)} reached {pct:.0f} % of the budget of {format_usd(budget)}."


# --- the live monitor --------------------------------------------------------------------


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
