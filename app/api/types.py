"""Request and result models of the client.

Results are pydantic models with ``extra="allow"`` (a provider's new field never breaks the
app) and are validated once, whole. Stream deltas are light ``ChatDelta`` dataclasses:
nothing is validated per chunk.

Token estimates: when a provider sends no usage (Spafe's ``usage: null``) the client counts
about 4 characters per token (``estimate_tokens``) and marks ``Usage.estimated = True``.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.api.errors import RequestValidationError
from app.api.profiles import ModelPrice

__all__ = [
    "CallMeta",
    "ChatChoice",
    "ChatDelta",
    "ChatMessage",
    "ChatRequest",
    "ChatResult",
    "CompletionChoice",
    "CompletionDelta",
    "CompletionResult",
    "Embedding",
    "EmbeddingResult",
    "FunctionCall",
    "ImageItem",
    "ImageResult",
    "ModelInfo",
    "ModelList",
    "ModerationItem",
    "ModerationResult",
    "RateLimitStatus",
    "SpeechResult",
    "ToolCall",
    "TranscriptionResult",
    "TranscriptionSegment",
    "Usage",
    "estimate_tokens",
    "image_part",
    "user_message",
]

CHARS_PER_TOKEN = 4
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\((\S+?)(?:\s+\"[^\"]*\")?\)")


def estimate_tokens(text: str | None) -> int:
    """About 4 characters per token (OpenAI's rule of thumb for English); 0 for no text."""
    if not text:
        return 0
    return math.ceil(len(text) / CHARS_PER_TOKEN)


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --------------------------------------------------------------------------- meta


class Usage(_Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated: bool = False

    @classmethod
    def estimate(cls, prompt_text: str, completion_text: str) -> Usage:
        p, c = estimate_tokens(prompt_text), estimate_tokens(completion_text)
        return cls(prompt_tokens=p, completion_tokens=c, total_tokens=p + c, estimated=True)

    @classmethod
    def from_wire(cls, raw: Any) -> Usage | None:
        if not isinstance(raw, dict):
            return None
        counts = {}
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            value = raw.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
                counts[key] = int(value)
        if not counts:
            return None
        extra = {k: v for k, v in raw.items() if k not in counts and k not in cls.model_fields}
        usage = cls.model_validate({**extra, **counts})
        if not usage.total_tokens:
            usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
        return usage

    def cost_usd(self, price: ModelPrice | None) -> float | None:
        """What the tokens cost with ``price`` (per 1M tokens); None when unknown."""
        if price is None or (price.input_per_m is None and price.output_per_m is None):
            return None
        return (
            self.prompt_tokens * (price.input_per_m or 0.0)
            + self.completion_tokens * (price.output_per_m or 0.0)
        ) / 1e6


class RateLimitStatus(_Model):
    """The provider's rate-limit headers, parsed. Reset values are seconds from ``observed_at``."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_s: float | None = None
    limit_requests_day: int | None = None
    remaining_requests_day: int | None = None
    reset_requests_day_s: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_s: float | None = None
    retry_after_s: float | None = None
    observed_at: float = 0.0
    raw: dict[str, str] = Field(default_factory=dict)

    @property
    def known(self) -> bool:
        return bool(self.raw)


class CallMeta(_Model):
    """What one call reported: timing, ids, limits, usage."""

    provider: str = ""
    endpoint: str = ""
    model: str | None = None
    status: int | None = None
    latency_s: float = 0.0
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    request_id: str | None = None
    rate_limit: RateLimitStatus = Field(default_factory=RateLimitStatus)
    usage: Usage | None = None
    attempts: int = 1
    idempotency_key: str | None = None


# --------------------------------------------------------------------------- models list


class ModelInfo(_Model):
    id: str
    object: str | None = "model"
    created: int | None = None
    owned_by: str | None = None
    context_length: int | None = None
    pricing: dict[str, Any] | None = None
    meta: CallMeta | None = None

    @property
    def price(self) -> ModelPrice | None:
        """The price the entry carries (see :meth:`ModelPrice.from_listing`)."""
        return ModelPrice.from_listing(self.model_dump())


class ModelList(_Model):
    models: list[ModelInfo] = Field(default_factory=list)
    meta: CallMeta = Field(default_factory=CallMeta)

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.models]


# --------------------------------------------------------------------------- chat request


ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


def image_part(
    data: bytes | str, mime: str = "image/png", detail: str | None = None
) -> dict[str, Any]:
    """An ``image_url`` content part: raw bytes become a ``data:`` URL; a string is used as is."""
    url = data if isinstance(data, str) else f"data:{mime};base64,{base64.b64encode(data).decode()}"
    image: dict[str, Any] = {"url": url}
    if detail:
        image["detail"] = detail
    return {"type": "image_url", "image_url": image}


def user_message(text: str, images: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A user message: plain string content, or text plus image parts for vision."""
    if not images:
        return {"role": "user", "content": text}
    return {"role": "user", "content": [{"type": "text", "text": text}, *images]}


class ChatRequest(_Model):
    """A chat completion request. Only fields that were set are sent.

    Types are checked when it is built; ranges (seed 004's: temperature 0-2, top_p 0-1,
    max_tokens a positive whole number, at most 4 stop sequences, penalties -2..2) are
    checked by ``check()`` before sending, raising ``RequestValidationError`` in plain words.
    """

    model: str
    messages: list[dict[str, Any]]
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = None
    stream: bool | None = None
    stop: str | list[str] | None = None
    max_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None
    seed: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    stream_options: dict[str, Any] | None = None

    @classmethod
    def build(cls, **fields: Any) -> ChatRequest:
        """Like the constructor, but a wrong type raises ``RequestValidationError``."""
        return _build(cls, fields)

    def check(self) -> None:
        if not self.model or not self.model.strip():
            raise RequestValidationError("Choose a model: the model name is empty.", field="model")
        if not self.messages:
            raise RequestValidationError(
                "Messages must not be empty: write something to send.", field="messages"
            )
        for i, message in enumerate(self.messages):
            role = message.get("role")
            if role not in ROLES:
                raise RequestValidationError(
                    f"Message {i + 1} has no valid role (got {role!r}; use system, user, assistant or tool).",
                    field="messages",
                )
            content = message.get("content")
            if content is None and role != "assistant":
                raise RequestValidationError(f"Message {i + 1} has no content.", field="messages")
            if isinstance(content, list):
                for part in content:
                    if not isinstance(part, dict) or part.get("type") not in (
                        "text",
                        "image_url",
                        "input_audio",
                        "file",
                    ):
                        raise RequestValidationError(
                            f"Message {i + 1} has a content part that is neither text nor an image.",
                            field="messages",
                        )
            elif content is not None and not isinstance(content, str):
                raise RequestValidationError(
                    f"Message {i + 1} content must be text or a list of parts.", field="messages"
                )
        _check_range("temperature", self.temperature, 0, 2, "Temperature")
        _check_range("top_p", self.top_p, 0, 1, "Top P")
        _check_range("presence_penalty", self.presence_penalty, -2, 2, "Presence penalty")
        _check_range("frequency_penalty", self.frequency_penalty, -2, 2, "Frequency penalty")
        if self.max_tokens is not None and self.max_tokens <= 0:
            raise RequestValidationError(
                f"Max tokens must be a positive whole number (got {self.max_tokens}).",
                field="max_tokens",
            )
        if self.n is not None and not 1 <= self.n <= 128:
            raise RequestValidationError(
                f"N (answers per prompt) must be between 1 and 128 (got {self.n}).", field="n"
            )
        if isinstance(self.stop, list):
            if len(self.stop) > 4:
                raise RequestValidationError(
                    f"Stop sequences: at most 4 are allowed (got {len(self.stop)}).", field="stop"
                )
            if any(not s for s in self.stop):
                raise RequestValidationError(
                    "Stop sequences must not be empty strings.", field="stop"
                )
        if self.logit_bias:
            for token, bias in self.logit_bias.items():
                if not -100 <= bias <= 100:
                    raise RequestValidationError(
                        f"Logit bias for token {token} must be between -100 and 100 (got {bias}).",
                        field="logit_bias",
                    )

    def payload(self) -> dict[str, Any]:
        """The JSON body: set fields only (and no ``None``)."""
        return self.model_dump(exclude_unset=True, exclude_none=True)

    def prompt_text(self) -> str:
        parts: list[str] = []
        for message in self.messages:
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(
                    str(p.get("text", ""))
                    for p in content
                    if isinstance(p, dict) and p.get("type") == "text"
                )
        return "\n".join(parts)


def _check_range(
    field: str, value: float | None, low: float | None, high: float | None, label: str = ""
) -> None:
    if value is None or low is None or high is None:
        return
    if (isinstance(value, float) and math.isnan(value)) or not low <= value <= high:
        raise RequestValidationError(
            f"{label} must be between {low:g} and {high:g} (got {value:g}).", field=field
        )


_FIELD_WORDS = {
    "model": "Model",
    "messages": "Messages",
    "temperature": "Temperature",
    "top_p": "Top P",
    "n": "N",
    "stop": "Stop sequences",
    "max_tokens": "Max tokens",
    "presence_penalty": "Presence penalty",
    "frequency_penalty": "Frequency penalty",
    "logit_bias": "Logit bias",
    "seed": "Seed",
}


def _build(cls: type[BaseModel], fields: dict[str, Any]) -> Any:
    try:
        return cls(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else ""
        words = _FIELD_WORDS.get(name, name.replace("_", " ").capitalize() or "A field")
        raise RequestValidationError(
            f"{words}: {first['msg'].lower()}.", field=name or None
        ) from None


# --------------------------------------------------------------------------- chat results


class FunctionCall(_Model):
    name: str = ""
    arguments: str = ""


class ToolCall(_Model):
    id: str = ""
    type: str = "function"
    function: FunctionCall = Field(default_factory=FunctionCall)


class ChatMessage(_Model):
    role: str = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None
    reasoning: str | None = None


class ChatChoice(_Model):
    index: int = 0
    message: ChatMessage = Field(default_factory=ChatMessage)
    finish_reason: str | None = None


class ChatResult(_Model):
    id: str | None = None
    model: str | None = None
    created: int | None = None
    choices: list[ChatChoice] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    meta: CallMeta = Field(default_factory=CallMeta)

    @property
    def text(self) -> str:
        """The first choice's text ('' when none)."""
        return (self.choices[0].message.content or "") if self.choices else ""

    @property
    def image_urls(self) -> list[str]:
        """URLs of markdown images in the first choice (image models answering in chat)."""
        return _MARKDOWN_IMAGE.findall(self.text)


@dataclass(slots=True)
class ChatDelta:
    """One piece of one choice of a streamed answer, as it arrived (not validated)."""

    index: int
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: str | None = None
    role: str | None = None
    reasoning: str | None = None


# --------------------------------------------------------------------------- other endpoints


class CompletionChoice(_Model):
    index: int = 0
    text: str = ""
    finish_reason: str | None = None

    @property
    def message(self) -> ChatMessage:
        """The text as a chat choice carries it, so one reader takes both kinds of answer."""
        return ChatMessage(content=self.text)


class CompletionResult(_Model):
    """A legacy completion, shaped like ``ChatResult``: ``text``, ``choices`` (each with a
    ``finish_reason`` and a ``message``), ``usage``, ``meta``."""

    id: str | None = None
    model: str | None = None
    created: int | None = None
    choices: list[CompletionChoice] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    meta: CallMeta = Field(default_factory=CallMeta)

    @property
    def text(self) -> str:
        return self.choices[0].text if self.choices else ""


@dataclass(slots=True)
class CompletionDelta(ChatDelta):
    """A piece of a streamed legacy completion, with a chat delta's fields (its text is
    ``content``), so one consumer reads both streams."""

    @property
    def text(self) -> str:
        """``content`` under its ``/completions`` name ('' when the piece has none)."""
        return self.content or ""


class Embedding(_Model):
    index: int = 0
    embedding: list[float] = Field(default_factory=list)


class EmbeddingResult(_Model):
    model: str | None = None
    data: list[Embedding] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    meta: CallMeta = Field(default_factory=CallMeta)

    @property
    def vectors(self) -> list[list[float]]:
        return [item.embedding for item in sorted(self.data, key=lambda e: e.index)]


class ImageItem(_Model):
    b64_json: str | None = None
    url: str | None = None
    revised_prompt: str | None = None

    @property
    def image_bytes(self) -> bytes | None:
        """The decoded image when it came inline (``b64_json``)."""
        return base64.b64decode(self.b64_json) if self.b64_json else None


class ImageResult(_Model):
    created: int | None = None
    data: list[ImageItem] = Field(default_factory=list)
    meta: CallMeta = Field(default_factory=CallMeta)

    @property
    def images(self) -> list[ImageItem]:
        return self.data


class SpeechResult(_Model):
    audio: bytes = b""
    content_type: str = ""
    meta: CallMeta = Field(default_factory=CallMeta)


class TranscriptionSegment(_Model):
    id: int | None = None
    start: float = 0.0
    end: float = 0.0
    text: str = ""


class TranscriptionResult(_Model):
    text: str = ""
    language: str | None = None
    duration: float | None = None
    segments: list[TranscriptionSegment] = Field(default_factory=list)
    format: Literal["json", "text", "srt", "vtt", "verbose_json"] | str = "json"
    raw: str | dict[str, Any] | None = None
    meta: CallMeta = Field(default_factory=CallMeta)


class ModerationItem(_Model):
    flagged: bool = False
    categories: dict[str, bool | None] = Field(default_factory=dict)
    category_scores: dict[str, float | None] = Field(default_factory=dict)

    @property
    def flagged_categories(self) -> list[str]:
        return [name for name, hit in self.categories.items() if hit]


class ModerationResult(_Model):
    id: str | None = None
    model: str | None = None
    results: list[ModerationItem] = Field(default_factory=list)
    meta: CallMeta = Field(default_factory=CallMeta)

    @property
    def flagged(self) -> bool:
        return any(r.flagged for r in self.results)
