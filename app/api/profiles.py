"""Provider profiles: everything that differs between OpenAI-compatible providers.

A profile is plain data (pydantic, JSON on disk). Presets ship in
``resources/presets/providers.json``; users add and edit their own copies.

Paths: each endpoint has a default path relative to ``base_url`` (``chat/completions``).
An override that starts with ``/`` is taken from the origin of ``base_url`` instead, so a
provider whose base is ``https://host/v1`` can still serve chat at
``/api/v1/chat/completions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Endpoint(StrEnum):
    MODELS = "models"
    MODEL = "model"
    CHAT = "chat"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"
    IMAGES = "images"
    SPEECH = "speech"
    TRANSCRIPTIONS = "transcriptions"
    MODERATIONS = "moderations"


DEFAULT_PATHS: dict[Endpoint, str] = {
    Endpoint.MODELS: "models",
    Endpoint.MODEL: "models/{model}",
    Endpoint.CHAT: "chat/completions",
    Endpoint.COMPLETIONS: "completions",
    Endpoint.EMBEDDINGS: "embeddings",
    Endpoint.IMAGES: "images/generations",
    Endpoint.SPEECH: "audio/speech",
    Endpoint.TRANSCRIPTIONS: "audio/transcriptions",
    Endpoint.MODERATIONS: "moderations",
}


class Capabilities(BaseModel):
    """What a provider offers; the UI hides what is off."""

    model_config = ConfigDict(extra="allow")

    chat: bool = True
    streaming: bool = True
    completions: bool = False
    embeddings: bool = False
    images: bool = False
    speech: bool = False
    transcription: bool = False
    moderation: bool = False
    vision: bool = False
    tools: bool = False
    model_list: bool = True


class ModelPrice(BaseModel):
    """Prices in US dollars. Any may be unknown (None)."""

    model_config = ConfigDict(extra="allow")

    input_per_m: float | None = Field(default=None, ge=0, description="per 1M input tokens")
    output_per_m: float | None = Field(default=None, ge=0, description="per 1M output tokens")
    per_image: float | None = Field(default=None, ge=0)
    per_m_chars: float | None = Field(default=None, ge=0, description="speech, per 1M characters")
    per_audio_minute: float | None = Field(default=None, ge=0, description="transcription")

    @classmethod
    def from_listing(cls, entry: Mapping[str, Any]) -> ModelPrice | None:
        """The price a model-list entry carries, in the shapes providers use: Stansa's
        ``input_price_per_1m`` / ``output_price_per_1m`` next to the id, OpenRouter's
        per-token ``pricing.prompt`` / ``completion`` strings (and ``image``), Together's
        ``pricing.input`` / ``output`` per 1M. None when it carries none."""
        if "input_price_per_1m" in entry or "output_price_per_1m" in entry:
            i, o = (
                _dollars(entry.get("input_price_per_1m")),
                _dollars(entry.get("output_price_per_1m")),
            )
            if i is not None or o is not None:
                return cls(input_per_m=i, output_per_m=o)
        pricing = entry.get("pricing")
        if not isinstance(pricing, Mapping):
            return None
        if "prompt" in pricing or "completion" in pricing:
            i, o = _dollars(pricing.get("prompt")), _dollars(pricing.get("completion"))
            return cls(
                input_per_m=None if i is None else round(i * 1_000_000, 6),
                output_per_m=None if o is None else round(o * 1_000_000, 6),
                per_image=_dollars(pricing.get("image")) or None,
            )
        if "input" in pricing or "output" in pricing:
            return cls(
                input_per_m=_dollars(pricing.get("input")),
                output_per_m=_dollars(pricing.get("output")),
            )
        return None


def _dollars(value: Any) -> float | None:
    """A non-negative amount from a number or a numeric string, else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


class RateLimitHeaders(BaseModel):
    """Names of the rate-limit headers (case-insensitive). Defaults follow OpenAI and seed 001."""

    limit_requests: str = "x-ratelimit-limit-requests"
    remaining_requests: str = "x-ratelimit-remaining-requests"
    reset_requests: str = "x-ratelimit-reset-requests"
    limit_requests_day: str = "x-ratelimit-limit-requests-day"
    remaining_requests_day: str = "x-ratelimit-remaining-requests-day"
    reset_requests_day: str = "x-ratelimit-reset-requests-day"
    limit_tokens: str = "x-ratelimit-limit-tokens"
    remaining_tokens: str = "x-ratelimit-remaining-tokens"
    reset_tokens: str = "x-ratelimit-reset-tokens"


class ProviderProfile(BaseModel):
    """One provider: where it lives, how to authenticate, and its quirks."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1)
    base_url: str
    kind: Literal["hosted", "local", "custom"] = "hosted"
    key_required: bool = True
    key_env: str | None = Field(default=None, description="environment variable holding the key")
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    headers: dict[str, str] = Field(
        default_factory=dict, description="extra headers sent on every call"
    )
    paths: dict[Endpoint, str] = Field(
        default_factory=dict, description="per-endpoint path overrides"
    )
    capabilities: Capabilities = Field(default_factory=Capabilities)
    image_size_separator: Literal["x", "*"] = "x"
    chat_image_models: list[str] = Field(
        default_factory=list,
        description="image models that answer through chat with a markdown image",
    )
    stream_usage: Literal["never", "on_request", "always"] = Field(
        default="on_request",
        description="never: streams carry no usage; on_request: send stream_options.include_usage; always: sent anyway",
    )
    models: list[str] = Field(
        default_factory=list, description="known models (for providers with no list)"
    )
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    credits_per_usd: float | None = Field(
        default=None, gt=0, description="provider credits per US dollar"
    )
    credit_unit: str | None = None
    dashboard_url: str | None = None
    docs_url: str | None = None
    rate_limit_headers: RateLimitHeaders = Field(default_factory=RateLimitHeaders)
    needs_base_url: bool = Field(
        default=False,
        description="a preset whose documentation names no host: the user enters it when adding",
    )
    no_retry_statuses: list[int] = Field(
        default_factory=list,
        description="statuses never retried: the provider documents them as final "
        "(e.g. a 504 after its own upstream time-out)",
    )
    idempotency: bool = Field(
        default=True, description="send an Idempotency-Key on non-streaming POSTs (safe retries)"
    )
    idempotency_window_s: float = Field(
        default=86_400.0,
        description="how long the provider keeps an idempotency key (seed 001: 24 hours)",
    )
    notes: str = ""

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base URL must start with http:// or https:// and name a host")
        return value

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def url(self, endpoint: Endpoint, **params: str) -> str:
        """The absolute URL of ``endpoint`` for this provider: a relative path resolves
        against the base URL, path included (a reverse proxy's prefix is kept); a path
        starting with ``/`` is host-absolute; a full URL is used as it is."""
        path = self.paths.get(endpoint, DEFAULT_PATHS[endpoint]).format(**params)
        if path.startswith(("http://", "https://")):
            return path
        if path.startswith("/"):
            return self.origin + path
        return f"{self.base_url}/{path}"

    def image_size(self, width: int, height: int) -> str:
        return f"{width}{self.image_size_separator}{height}"

    def price(self, model: str) -> ModelPrice | None:
        return self.prices.get(model)
