"""Row types the store hands out: frozen dataclasses built from SQLite rows.

Times are Unix seconds (UTC, float); latencies are seconds. JSON columns arrive decoded
(``dict``/``list``); blobs are referenced by `BlobRef`.
"""

from __future__ import annotations

import html
import json
import sqlite3
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class MessageStatus(StrEnum):
    """Where a message is in its life; only ``streaming`` changes later."""

    STREAMING = "streaming"
    COMPLETE = "complete"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    ERROR = "error"


def _json(value: str | None, default: Any) -> Any:
    return default if value is None or value == "" else json.loads(value)


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A content-addressed file under ``<data>/blobs``: its sha256, MIME type and size."""

    sha256: str
    mime: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "mime": self.mime, "size": self.size}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BlobRef:
        return cls(
            str(data["sha256"]),
            str(data.get("mime") or "application/octet-stream"),
            int(data.get("size") or 0),
        )


@dataclass(frozen=True, slots=True)
class Conversation:
    """A chat; ``current_leaf_id`` is the last message of the branch on screen."""

    id: int
    uid: str
    title: str
    created_at: float
    updated_at: float
    pinned: bool
    archived: bool
    provider: str | None
    model: str | None
    system_prompt: str
    params: dict[str, Any]
    folder: str | None
    tags: list[str]
    current_leaf_id: int | None

    COLUMNS = (
        "id, uid, title, created_at, updated_at, pinned, archived, provider, model, "
        "system_prompt, params, folder, tags, current_leaf_id"
    )

    @classmethod
    def from_row(cls, row: sqlite3.Row | tuple[Any, ...]) -> Conversation:
        return cls(
            row[0], row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]), row[7], row[8],
            row[9], _json(row[10], {}), row[11], _json(row[12], []), row[13],
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Message:
    """One message; siblings (same ``parent_id``) are edits or regenerations.

    ``parts`` holds what is not plain text, as JSON objects with a ``type``; a file is
    referenced as ``{"type": "image", "blob": BlobRef.to_json()}`` (any type may carry a
    ``blob``), so history shows offline. ``error`` is the error as the API layer described it.
    """

    id: int
    conversation_id: int
    parent_id: int | None
    role: str
    text: str
    parts: list[dict[str, Any]]
    model: str | None
    provider: str | None
    status: MessageStatus
    finish_reason: str | None
    error: dict[str, Any] | None
    prompt_tokens: int | None
    completion_tokens: int | None
    tokens_estimated: bool
    cost: float | None
    latency_s: float | None
    ttft_s: float | None
    created_at: float
    updated_at: float

    COLUMNS = (
        "id, conversation_id, parent_id, role, text, parts, model, provider, status, "
        "finish_reason, error, prompt_tokens, completion_tokens, tokens_estimated, cost, "
        "latency_s, ttft_s, created_at, updated_at"
    )

    @classmethod
    def from_row(cls, row: sqlite3.Row | tuple[Any, ...]) -> Message:
        return cls(
            row[0], row[1], row[2], row[3], row[4], _json(row[5], []), row[6], row[7],
            MessageStatus(row[8]), row[9], _json(row[10], None), row[11], row[12], bool(row[13]),
            row[14], row[15], row[16], row[17], row[18],
        )  # fmt: skip

    @property
    def blobs(self) -> list[BlobRef]:
        """Files this message's parts refer to (``{"blob": {...}}`` entries)."""
        return [
            BlobRef.from_json(p["blob"])
            for p in self.parts
            if isinstance(p, dict) and isinstance(p.get("blob"), dict)
        ]


@dataclass(frozen=True, slots=True)
class MessagePage:
    """A page of the active branch, oldest first; ``older_cursor`` fetches the page before it."""

    messages: list[Message]
    older_cursor: int | None

    @property
    def has_older(self) -> bool:
        return self.older_cursor is not None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one answer; ``estimated`` when counted locally, not by the provider."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class ComparisonAnswer:
    """One model's column in a comparison run."""

    id: int
    run_id: int
    position: int
    provider: str | None
    model: str
    message_id: int | None
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ComparisonRun:
    """One prompt sent to several models; ``vote`` is whatever the user chose (JSON)."""

    id: int
    created_at: float
    prompt: str
    system_prompt: str
    params: dict[str, Any]
    vote: dict[str, Any] | None
    answers: list[ComparisonAnswer]


@dataclass(frozen=True, slots=True)
class ImageGeneration:
    """An image request and the files it produced."""

    id: int
    created_at: float
    provider: str | None
    model: str | None
    prompt: str
    params: dict[str, Any]
    images: list[BlobRef]
    revised_prompt: str | None
    cost: float | None


@dataclass(frozen=True, slots=True)
class SpeechItem:
    """A text-to-speech result."""

    id: int
    created_at: float
    provider: str | None
    model: str | None
    text: str
    voice: str
    format: str
    audio: BlobRef | None
    params: dict[str, Any]
    cost: float | None


@dataclass(frozen=True, slots=True)
class Transcription:
    """A transcription of an audio file, with its segments (JSON, as the API gave them)."""

    id: int
    created_at: float
    provider: str | None
    model: str | None
    source: BlobRef | None
    options: dict[str, Any]
    transcript: str
    segments: list[dict[str, Any]]
    language: str | None
    duration_s: float | None
    cost: float | None


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One API call of any kind, as recorded in the usage ledger."""

    provider: str
    endpoint: str
    model: str = ""
    ts: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    characters: int = 0
    audio_seconds: float = 0.0
    images: int = 0
    cost: float | None = None
    estimated: bool = False
    status: str = "ok"
    latency_s: float | None = None
    ttft_s: float | None = None
    request_id: str | None = None
    rate_limit: dict[str, Any] | None = None
    conversation_id: int | None = None
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class UsageAggregate:
    """Totals of one group (e.g. one day and model); keys not grouped by are ``None``."""

    day: str | None
    provider: str | None
    model: str | None
    endpoint: str | None
    calls: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    characters: int
    audio_seconds: float
    images: int
    cost: float
    estimated_calls: int
    unpriced_calls: int
    hour: int | None = None  # start of the hour (Unix seconds) when grouped by hour


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A search result. ``kind`` is ``message``, ``conversation``, ``transcription`` or
    ``image``; ``fragments`` is the snippet as ``(text, highlighted)`` pieces."""

    kind: str
    id: int
    conversation_id: int | None
    title: str
    fragments: tuple[tuple[str, bool], ...]
    rank: float
    created_at: float
    role: str | None = None
    model: str | None = None
    provider: str | None = None

    @property
    def snippet(self) -> str:
        """The snippet as plain text."""
        return "".join(text for text, _ in self.fragments)

    def snippet_html(self, tag: str = "b") -> str:
        """The snippet as escaped HTML, matches wrapped in ``<tag>`` (model text is untrusted)."""
        return "".join(
            f"<{tag}>{html.escape(text)}</{tag}>" if hit else html.escape(text)
            for text, hit in self.fragments
        )


@dataclass(slots=True)
class StoreOpenReport:
    """What happened while opening the store, for the UI to tell the user."""

    database: Path
    created: bool = False
    schema_from: int = 0
    schema_to: int = 0
    migration_backup: Path | None = None
    check: str = "ok"
    corrupt_moved_to: Path | None = None
    restored_from: Path | None = None
    started_fresh: bool = False
    interrupted_messages: int = 0
    check_ms: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def recovered(self) -> bool:
        """True when the database was damaged and replaced: the UI must say so."""
        return self.corrupt_moved_to is not None

    @property
    def message(self) -> str:
        """A plain sentence for the user, empty when there is nothing to say."""
        if self.corrupt_moved_to is not None:
            where = f"The damaged file was kept as {self.corrupt_moved_to.name}."
            if self.restored_from is not None:
                return (
                    "The history database was damaged. Palaver restored the backup "
                    f"{self.restored_from.name}; anything newer than it is missing. {where}"
                )
            return f"The history database was damaged and no usable backup was found; Palaver started a new one. {where}"
        if self.interrupted_messages:
            n = self.interrupted_messages
            return f"{n} answer{'s' if n != 1 else ''} stopped when Palaver last closed unexpectedly; what was received is kept."
        return ""


@dataclass(slots=True)
class ImportReport:
    """What an import did: counts of what was added and what was skipped, and why."""

    source: str
    conversations: int = 0
    messages: int = 0
    blobs: int = 0
    duplicates: int = 0
    skipped_conversations: int = 0
    skipped_messages: int = 0
    skipped_parts: int = 0
    prompts: int = 0  # saved prompts and assistants added
    conversation_ids: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """Record why something was skipped (kept short: at most 50 notes)."""
        if len(self.notes) < 50:
            self.notes.append(text)
