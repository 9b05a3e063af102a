"""Model lists, cached under the cache dir so pickers work offline, and their prices.

One small JSON file per provider (``cache/models/<provider id>.json``) with the fetch
time and, per model, the id and the few fields worth keeping (name, owner, context
length, pricing). :func:`model_choices` merges every provider's cached list with the
models its profile names (presets and manual entries) into one searchable list.

Prices: a price the provider's own model list carries is live and wins (OpenRouter's
per-token ``pricing.prompt``, Together's ``pricing.input`` per 1M, Stansa's top-level
``input_price_per_1m``); the profile's table (a preset's copy, or what the user typed) is
used for models the list does not price. A ledger row keeps the cost it was charged at, so
a changed price applies from the next call. :func:`model_facts` gives every field a list
carries (category, context length, owner, price) in one shape for the picker and the
``palaver models`` command.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from app import log
from app.api.profiles import ModelPrice, ProviderProfile
from app.core.model_kinds import model_tags
from app.settings import write_atomic

_log = log.get("core.models")


class ModelLister(Protocol):
    """What :meth:`ModelsCache.refresh` needs of an API client."""

    async def list_models(self) -> Any: ...


_KEPT_FIELDS = (
    "name",
    "owned_by",
    "created",
    "category",
    "type",
    "context_length",
    "context_window",
    "max_context_length",
    "max_model_len",  # vLLM
    "top_provider",  # OpenRouter: its context_length
    "architecture",  # OpenRouter: input / output modalities
    "capabilities",
    "supported_parameters",  # OpenRouter: "tools", "reasoning"
    "pricing",
    "input_price_per_1m",  # Stansa
    "output_price_per_1m",
)
_CONTEXT_FIELDS = ("context_length", "context_window", "max_context_length", "max_model_len")
STALE_AFTER = timedelta(hours=24)
"""A model list older than this is fetched again (prices and models change)."""


class CachedModel(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str


class CachedModels(BaseModel):
    provider_id: str
    fetched_at: datetime
    models: list[CachedModel] = Field(default_factory=list)
    _by_id: dict[str, CachedModel] | None = PrivateAttr(default=None)

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.models]

    def get(self, model_id: str) -> CachedModel | None:
        # An index, not a scan: a picker asks for every model of lists 20,000 long.
        if self._by_id is None:
            self._by_id = {m.id: m for m in reversed(self.models)}  # the first one wins
        return self._by_id.get(model_id)

    def age(self, now: datetime | None = None) -> timedelta:
        """How long ago the list was fetched."""
        return (now or datetime.now(UTC)) - self.fetched_at

    @property
    def stale(self) -> bool:
        return self.age() > STALE_AFTER


class ModelsCache:
    """Per-provider model lists on disk, read lazily and kept in memory once read."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: dict[str, CachedModels | None] = {}

    def _file(self, provider_id: str) -> Path:
        return self.directory / f"{provider_id}.json"

    def get(self, provider_id: str) -> CachedModels | None:
        if provider_id not in self._loaded:
            self._loaded[provider_id] = self._read(provider_id)
        return self._loaded[provider_id]

    def _read(self, provider_id: str) -> CachedModels | None:
        try:
            return CachedModels.model_validate_json(self._file(provider_id).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValidationError, ValueError) as error:
            # A cache is disposable: drop it and fetch again later.
            _log.info(
                "ignoring unreadable model cache for %s: %s", provider_id, type(error).__name__
            )
            return None

    def put(
        self, provider_id: str, models: Iterable[Any], fetched_at: datetime | None = None
    ) -> CachedModels:
        """Cache ``models`` (objects with ``.id``, dicts with ``"id"``, or plain strings)."""
        entries = [_entry(m) for m in models]
        unique = list({e.id: e for e in entries if e.id}.values())
        cached = CachedModels(
            provider_id=provider_id,
            fetched_at=fetched_at or datetime.now(UTC),
            models=sorted(unique, key=lambda e: e.id.lower()),
        )
        write_atomic(
            self._file(provider_id), json.dumps(cached.model_dump(mode="json"), indent=1) + "\n"
        )
        self._loaded[provider_id] = cached
        return cached

    async def refresh(self, provider_id: str, client: ModelLister) -> CachedModels:
        """Fetch ``client``'s model list and cache it (errors from the client pass through)."""
        listing = await client.list_models()
        return self.put(provider_id, getattr(listing, "models", listing))

    def remove(self, provider_id: str) -> None:
        self._loaded.pop(provider_id, None)
        self._file(provider_id).unlink(missing_ok=True)


def _entry(model: Any) -> CachedModel:
    if isinstance(model, str):
        return CachedModel(id=model)
    if isinstance(model, dict):
        data = model
    elif hasattr(model, "model_dump"):
        data = model.model_dump(mode="json")
    else:
        data = {"id": getattr(model, "id", "")}
    kept = {k: data[k] for k in _KEPT_FIELDS if data.get(k) is not None}
    return CachedModel(id=str(data.get("id", "")), **kept)


def price_from_listing(entry: CachedModel | dict[str, Any]) -> ModelPrice | None:
    """A price read from a model-list entry, when the provider puts one there."""
    return ModelPrice.from_listing(entry.model_dump() if isinstance(entry, BaseModel) else entry)


def effective_price(
    profile: ProviderProfile, model: str, cache: ModelsCache | None
) -> ModelPrice | None:
    """The provider list's live price for ``model``, else the profile's (preset or user)."""
    cached = cache.get(profile.id) if cache is not None else None
    entry = cached.get(model) if cached is not None else None
    live = price_from_listing(entry) if entry is not None else None
    return live if live is not None else profile.price(model)


@dataclass(frozen=True)
class ModelFacts:
    """What is known of one model, from its provider's list and its profile."""

    id: str
    provider: str
    price: ModelPrice | None = None
    price_source: str | None = None  # "list" (live), "profile" (preset or typed in)
    category: str | None = None
    context_length: int | None = None
    owned_by: str | None = None
    modalities: tuple[str, ...] = ()
    listed: bool = False  # in the fetched list (else only named by the profile)

    def to_json(self) -> dict[str, Any]:
        """The stable shape of ``palaver models --json``."""
        price = self.price
        return {
            "id": self.id,
            "provider": self.provider,
            "input_price_per_1m": price.input_per_m if price else None,
            "output_price_per_1m": price.output_per_m if price else None,
            "price_source": self.price_source,
            "category": self.category,
            "context_length": self.context_length,
            "owned_by": self.owned_by,
            "modalities": list(self.modalities),
            "listed": self.listed,
        }


def model_facts(
    profile: ProviderProfile,
    model: str,
    cache: ModelsCache | None,
    entry_data: dict[str, Any] | None = None,
) -> ModelFacts:
    """Every field the provider's list carries for ``model``, with the price that applies
    (``entry_data``: the list's entry, when the caller already has it)."""
    if entry_data is None:
        cached = cache.get(profile.id) if cache is not None else None
        entry = cached.get(model) if cached is not None else None
        entry_data = entry.model_dump() if entry is not None else {}
    data = entry_data
    live = price_from_listing(data) if data else None
    price, source = (live, "list") if live is not None else (profile.price(model), "profile")
    category = data.get("category") or data.get("type")
    architecture = data.get("architecture")
    modalities: tuple[str, ...] = ()
    if isinstance(architecture, dict) and isinstance(architecture.get("input_modalities"), list):
        modalities = tuple(str(m) for m in architecture["input_modalities"])
    return ModelFacts(
        id=model,
        provider=profile.id,
        price=price,
        price_source=source if price is not None else None,
        category=str(category) if category else None,
        context_length=_context_length(data),
        owned_by=str(data["owned_by"]) if data.get("owned_by") else None,
        modalities=modalities,
        listed=bool(data),
    )


def _context_length(data: dict[str, Any]) -> int | None:
    candidates = [data.get(name) for name in _CONTEXT_FIELDS]
    top = data.get("top_provider")
    if isinstance(top, dict):
        candidates.append(top.get("context_length"))
    for value in candidates:
        if isinstance(value, int | float) and value > 0:
            return int(value)
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


@dataclass(frozen=True)
class ModelChoice:
    """One line of the model picker: ``provider / model``."""

    provider_id: str
    provider_name: str
    model: str
    source: str  # "list" (fetched), "profile" (preset or typed in)
    price: ModelPrice | None = None
    tags: tuple[str, ...] = ("chat",)  # the kind first, then vision / tools / reasoning

    @property
    def label(self) -> str:
        return f"{self.provider_name} / {self.model}"

    @property
    def kind(self) -> str:
        return self.tags[0] if self.tags else "chat"

    @property
    def key(self) -> str:
        return model_key(self.provider_id, self.model)


def model_key(provider_id: str, model: str) -> str:
    """``provider id/model``, as favourites and recent models are kept in the settings."""
    return f"{provider_id}/{model}"


def model_choices(
    profiles: Iterable[ProviderProfile], cache: ModelsCache | None
) -> list[ModelChoice]:
    """Every model of every provider, profile-named ones first, then the fetched list."""
    choices: list[ModelChoice] = []
    for profile in profiles:
        seen: set[str] = set()
        cached = cache.get(profile.id) if cache is not None else None
        listed = cached.ids if cached is not None else []
        for source, names in (("profile", profile.models), ("list", listed)):
            for model in names:
                if model in seen:
                    continue
                seen.add(model)
                entry = cached.get(model) if cached is not None else None
                extra = entry.model_dump() if entry is not None else {}
                facts = model_facts(profile, model, cache, extra)
                tags = model_tags(model, facts.category, facts.modalities, profile, extra)
                choices.append(
                    ModelChoice(profile.id, profile.name, model, source, facts.price, tags)
                )
    return choices


def format_price(price: ModelPrice | None) -> str:
    """``$2.44 / $9.75 per 1M`` (input / output), or empty when unknown."""
    if price is None or (price.input_per_m is None and price.output_per_m is None):
        return ""

    def money(value: float | None) -> str:
        return "?" if value is None else f"${value:g}"

    return f"{money(price.input_per_m)} / {money(price.output_per_m)} per 1M"
