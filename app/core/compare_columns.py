"""One column of a comparison run: its spec, status, live figures, and the events a run
sends about its columns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.api import ModelPrice, Waiting
from app.core.chat import (
    ErrorInfo,
    Target,
)
from app.store import Message, MessageStatus

# --- columns ------------------------------------------------------------------------------


class ColumnStatus(StrEnum):
    PENDING = "pending"
    WAITING = "waiting"  # held by the pacer
    STREAMING = "streaming"
    COMPLETE = "complete"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    ERROR = "error"

    @property
    def active(self) -> bool:
        return self in (ColumnStatus.PENDING, ColumnStatus.WAITING, ColumnStatus.STREAMING)


@dataclass(frozen=True)
class ColumnSpec:
    """One model of a run, with its own overrides of the shared parameters."""

    target: Target
    params: dict[str, Any] = field(default_factory=dict)
    system_prompt: str | None = None  # None: the run's own

    @property
    def key(self) -> str:
        return model_key(self.target.provider_id, self.target.model)


def model_key(provider_id: str | None, model: str) -> str:
    """How a model is named in votes and the leaderboard: ``provider/model``."""
    return f"{provider_id}/{model}" if provider_id else model


@dataclass(frozen=True)
class ColumnFigures:
    """What a column header shows; ``estimated`` while streaming (counted locally)."""

    ttft_s: float | None = None
    tokens: int = 0
    tokens_per_s: float | None = None
    cost: float | None = None
    elapsed_s: float | None = None
    estimated: bool = False


@dataclass(eq=False)
class Column:
    """One column's live state. ``index`` is its place in the run (not on screen)."""

    index: int
    spec: ColumnSpec
    answer_id: int
    slot: int  # position on screen (shuffled in blind mode)
    status: ColumnStatus = ColumnStatus.PENDING
    message: Message | None = None  # the answer row (first saved, then final)
    error: ErrorInfo | None = None
    wait_s: float = 0.0
    waiting: Waiting | None = None  # the wait under way, for its countdown and "Retry now"
    chunks: int = 0
    price: ModelPrice | None = None
    prompt_tokens: int = 0
    started_at: float | None = None  # perf_counter when the request went
    first_at: float | None = None
    last_at: float | None = None
    task: asyncio.Task[Any] | None = None
    notify: Callable[[CompareEvent], None] | None = None

    @property
    def message_id(self) -> int | None:
        return self.message.id if self.message is not None else None

    @property
    def text(self) -> str:
        return self.message.text if self.message is not None else ""

    def reset(self) -> None:
        self.status, self.message, self.error, self.wait_s = ColumnStatus.PENDING, None, None, 0.0
        self.waiting = None
        self.chunks, self.started_at, self.first_at, self.last_at = 0, None, None, None

    # called from the pacing client and the stream
    def on_wait(self, waiting: Waiting) -> None:
        """The pacer or the client waits before this column's request: count it down."""
        self.status, self.wait_s, self.waiting = ColumnStatus.WAITING, waiting.seconds, waiting
        if self.notify is not None:
            self.notify(ColumnWaiting(self.index, waiting.seconds, waiting))

    def on_sent(self) -> None:
        self.status, self.wait_s, self.waiting = ColumnStatus.STREAMING, 0.0, None
        self.started_at = time.perf_counter()

    def on_delta(self) -> None:
        if self.status is ColumnStatus.WAITING:  # a retried request is answering
            self.status, self.wait_s, self.waiting = ColumnStatus.STREAMING, 0.0, None
        now = time.perf_counter()
        if self.first_at is None:
            self.first_at = now
        self.last_at = now
        self.chunks += 1

    def figures(self, now: float | None = None) -> ColumnFigures:
        """Final figures from the stored answer once it ended; live estimates before."""
        message = self.message
        if message is not None and message.status is not MessageStatus.STREAMING:
            return figures_of(message)
        if self.started_at is None:
            return ColumnFigures()
        now = time.perf_counter() if now is None else now
        ttft = self.first_at - self.started_at if self.first_at is not None else None
        rate = None
        if self.first_at is not None and self.last_at is not None and self.chunks > 1:
            span = self.last_at - self.first_at
            rate = (self.chunks - 1) / span if span > 0 else None
        cost = None
        if self.price is not None and self.price.output_per_m is not None:
            cost = self.chunks * self.price.output_per_m / 1e6
            cost += self.prompt_tokens * (self.price.input_per_m or 0.0) / 1e6
        return ColumnFigures(ttft, self.chunks, rate, cost, now - self.started_at, estimated=True)


def figures_of(message: Message) -> ColumnFigures:
    """A finished answer's measured figures."""
    rate = None
    if message.completion_tokens and message.latency_s and message.ttft_s is not None:
        generating = message.latency_s - message.ttft_s
        rate = message.completion_tokens / generating if generating > 0 else None
    return ColumnFigures(
        message.ttft_s,
        message.completion_tokens or 0,
        rate,
        message.cost,
        message.latency_s,
        estimated=message.tokens_estimated,
    )


def column_status(message: Message | None) -> ColumnStatus:
    if message is None:
        return ColumnStatus.ERROR
    return ColumnStatus(message.status.value)


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnStarted:
    """The column's answer row exists (``message_id``); it waits for the pacer or streams."""

    index: int
    message_id: int


@dataclass(frozen=True, slots=True)
class ColumnWaiting:
    """The column's request waits ``seconds`` (a known rate limit, a Retry-After, a backoff);
    ``waiting.skip()`` is "Retry now"."""

    index: int
    seconds: float
    waiting: Waiting | None = None


@dataclass(frozen=True, slots=True)
class ColumnDelta:
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class ColumnFinished:
    """The column ended: ``column.status`` says how; ``column.error`` in plain words."""

    index: int


CompareEvent = ColumnStarted | ColumnWaiting | ColumnDelta | ColumnFinished
Listener = Callable[[CompareEvent], None]
PriceOf = Callable[[Target], ModelPrice | None]
