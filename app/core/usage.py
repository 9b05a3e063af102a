"""Usage accounting: prices per endpoint, credits and money, monthly budgets.

- :func:`call_cost` prices one call of any endpoint from a :class:`ModelPrice` (tokens,
  images, characters of speech, minutes of audio); model lists cost nothing. The one
  metered call (:mod:`app.core.metered`) uses it for every ledger row.
- :class:`Budgets` keeps a monthly budget per provider in ``budgets.json`` under the
  config dir (amounts only, never keys); :func:`budget_level` says ``ok``/``warning``
  (80 %)/``over`` (100 %).
- The live :class:`~app.core.monitor.UsageMonitor` and its events live in
  :mod:`app.core.monitor`; they are re-exported here for the UI's importers.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.monitor import (
    BudgetCrossed,
    BudgetLevel,
    CallRecorded,
    CreditsExhausted,
    LimitsChanged,
    Listener,
    ProviderLimits,
    UsageEvent,
    UsageMonitor,
)
from app.settings import keep_aside, write_atomic

if TYPE_CHECKING:  # the wire types (pydantic) load with the first call, not at start-up
    from app.api.profiles import ModelPrice, ProviderProfile

__all__ = [
    "BUDGETS_FILE",
    "ESTIMATED_MARK",
    "WARNING_FRACTION",
    "BudgetCrossed",
    "BudgetLevel",
    "Budgets",
    "CallRecorded",
    "CreditsExhausted",
    "LimitsChanged",
    "Listener",
    "ProviderLimits",
    "UsageEvent",
    "UsageMonitor",
    "budget_level",
    "budget_message",
    "call_cost",
    "credits_message",
    "format_credits",
    "format_tokens",
    "format_usd",
    "month_start",
    "to_credits",
]

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
    per_image: bool = False,
) -> float | None:
    """US dollars for one call, or None when the price that applies is unknown.

    Token endpoints use the per-1M input/output prices; images the per-image price; speech
    the per-1M-characters price; transcription the per-minute price. Listing models is free.
    ``per_image``: a chat call of an image model, billed per picture when its price says so.
    """
    if endpoint in ("models", "model"):
        return 0.0
    if price is None:
        return None
    if per_image and price.per_image is not None:
        return price.per_image * images
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


# --- budgets -----------------------------------------------------------------------------


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
