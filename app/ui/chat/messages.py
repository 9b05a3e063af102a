"""Display data for the conversation view: plain dataclasses, no Qt, no store types.

The app maps its own records (store rows, streamed deltas) onto these; the view never
sees anything else, so it stays data-agnostic.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Role(enum.StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


class Status(enum.StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call requested by the model; ``arguments`` is the raw JSON text."""

    name: str
    arguments: str
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class Attached:
    """A file sent with a user message; ``url`` (a key of ``DisplayMessage.images``) is set
    for an image, shown as a thumbnail; other files show by name."""

    name: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    """What the assistant footer shows; every field is optional."""

    tokens_in: int | None = None
    tokens_out: int | None = None
    estimated: bool = False  # counted locally, not reported by the provider: shown with "≈"
    cost: float | None = None  # in the currency below
    currency: str = "$"
    ttft_ms: float | None = None  # time to first token
    tokens_per_s: float | None = None


@dataclass(slots=True)
class DisplayMessage:
    """One message row.

    ``text`` is markdown for assistant messages and plain text shown as markdown for user
    ones. ``branch_index`` is 0-based; the switcher shows when ``branch_count > 1``.
    ``retry_at`` (UTC-aware or naive local, as long as it matches ``datetime.now``'s kind)
    turns the error box's text into a live countdown for rate limits.
    ``images`` maps image URLs to bytes the app already has.
    """

    id: int  # the store's message id
    role: Role
    text: str = ""
    model: str = ""
    status: Status = Status.COMPLETE
    usage: Usage = field(default_factory=Usage)
    tool_calls: tuple[ToolCall, ...] = ()
    error: str = ""
    retry_at: datetime | None = None
    branch_index: int = 0
    branch_count: int = 1
    # Image bytes the app already holds (cached in the store), by URL: shown at once,
    # without the click-to-load placeholder.
    images: dict[str, bytes] = field(default_factory=dict)
    attachments: tuple[Attached, ...] = ()  # files sent with a user message
    # One line under the message for what the app knows about it (e.g. a moderation verdict).
    note: str = ""

    @property
    def has_footer(self) -> bool:
        return self.role is Role.ASSISTANT or bool(self.note)

    @property
    def is_user(self) -> bool:
        return self.role is Role.USER

    def role_label(self) -> str:
        if self.role is Role.USER:
            return "You"
        if self.role is Role.ASSISTANT:
            return self.model or "Assistant"
        return self.role.value.capitalize()
