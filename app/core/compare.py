"""A comparison run: one prompt answered by 2 to 6 models at once, each column on its own.

::

    comparison = await Comparison.create(store, clients, "Explain RAID 5", columns,
                                         pacer=pacer, listener=on_event)
    await comparison.run()          # all columns at once; returns when every column ended

The run is stored as a comparison run (``comparison_runs`` / ``comparison_answers``) whose
answers are ordinary messages of a hidden conversation (archived, folder ``Comparisons``):
the prompt is its one user message and each column's answer is a sibling reply to it.
Each column is driven by a :class:`~app.core.chat.ChatSession`, so request building,
saving while streaming, the final row and the usage ledger are the chat flow's own.

Columns are independent: each runs in its own task of an :class:`asyncio.TaskGroup` and
catches its own failures (a 429, 402, a dropped stream, a timeout or an unknown model end
that column in ``error``/``interrupted`` with a message; the others stream on). A column
can be stopped (``stop``) or retried (``run_column``) alone.

Events reach the UI through one synchronous ``listener`` callback (no queue: six columns
at 500 tokens/s are 3,000 deltas a second and each should cost as little as possible).
Live figures (time to first token, tokens, tokens/s, cost, elapsed) are read from
:class:`Column` when the UI wants them, not pushed per delta.

A :class:`Pacer` per app keeps requests to one provider within its known rate limits.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app import log
from app.api import ApiClient, ModelPrice, ProviderProfile, RateLimitError
from app.api.types import RateLimitStatus, estimate_tokens
from app.core.chat import (
    TITLE_LENGTH,
    AnswerDelta,
    AnswerFinished,
    Attachment,
    ChatSession,
    ErrorInfo,
    MessageSaved,
    Target,
    attachment_parts,
)
from app.core.clients import ClientPool
from app.store import Conversation, Message, MessageStatus, Store, StoreWriteError
from app.store import Usage as StoredUsage
from app.store.media import delete_item

_log = log.get("core.compare")

MIN_COLUMNS = 2
MAX_COLUMNS = 6
FOLDER = "Comparisons"
RUN_KEY = "compare"
"""Key in the run's ``params`` holding what is not a request parameter (blind, ids)."""


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

    async def acquire(
        self, provider_id: str, on_wait: Callable[[float], None] | None = None
    ) -> None:
        """Wait until a request may go, then count it as started."""
        while (wait := self.delay(provider_id)) > 0:
            if on_wait is not None:
                on_wait(wait)
            await self._sleep(wait)
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
        self.chunks, self.started_at, self.first_at, self.last_at = 0, None, None, None

    # called from the pacing client and the stream
    def on_wait(self, seconds: float) -> None:
        self.status, self.wait_s = ColumnStatus.WAITING, seconds
        if self.notify is not None:
            self.notify(ColumnWaiting(self.index, seconds))

    def on_sent(self) -> None:
        self.status, self.wait_s = ColumnStatus.STREAMING, 0.0
        self.started_at = time.perf_counter()

    def on_delta(self) -> None:
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
    """The pacer holds the column's request for ``seconds`` (a known rate limit)."""

    index: int
    seconds: float


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


# --- the run ------------------------------------------------------------------------------


async def delete_run(store: Store, run_id: int) -> None:
    """Delete a stored run with its hidden conversation (answers asked from a real
    conversation stay there as its branches)."""
    run = store.get_comparison(run_id)
    extra = run.params.get(RUN_KEY) or {}
    await store.write(delete_item, "comparison_runs", run_id)
    if extra.get("conversation_id") and not extra.get("from_conversation"):
        await store.delete_conversation(int(extra["conversation_id"]))


class Comparison:
    """One run. Build with :meth:`create` (new) or :meth:`load` (from history)."""

    def __init__(
        self,
        store: Store,
        clients: ClientPool,
        run_id: int,
        prompt: Message,
        columns: list[Column],
        *,
        system_prompt: str,
        params: dict[str, Any],
        blind: bool,
        vote: dict[str, Any] | None,
        created_at: float,
        pacer: Pacer | None = None,
        listener: Listener | None = None,
        price_of: PriceOf | None = None,
    ) -> None:
        self.store = store
        self.clients = clients
        self.run_id = run_id
        self.prompt = prompt
        self.columns = columns
        self.system_prompt = system_prompt
        self.params = params
        self.blind = blind
        self.vote = vote
        self.created_at = created_at
        self.pacer = pacer or Pacer()
        self.price_of = price_of or self._profile_price
        self.listener = listener

    # --- building ---------------------------------------------------------------------------
    @classmethod
    async def create(
        cls,
        store: Store,
        clients: ClientPool,
        prompt: str,
        specs: Sequence[ColumnSpec],
        *,
        system_prompt: str = "",
        params: dict[str, Any] | None = None,
        attachments: Sequence[Attachment] = (),
        blind: bool = False,
        pacer: Pacer | None = None,
        listener: Listener | None = None,
        price_of: PriceOf | None = None,
        rng: random.Random | None = None,
    ) -> Comparison:
        """Save the run (prompt, models, screen order) before anything is sent."""
        if not MIN_COLUMNS <= len(specs) <= MAX_COLUMNS:
            raise ValueError(f"choose {MIN_COLUMNS} to {MAX_COLUMNS} models")
        params = {k: v for k, v in (params or {}).items() if v is not None}
        slots = list(range(len(specs)))
        if blind:
            (rng or random.SystemRandom()).shuffle(slots)
        title = " ".join(prompt.split())[:TITLE_LENGTH] or "Comparison"
        conversation = await store.create_conversation(
            f"Compare: {title}", system_prompt=system_prompt, params=params, folder=FOLDER,
            tags=["comparison"],
        )  # fmt: skip
        # Hidden from the chat list (archived) but searchable and kept with the run.
        await store.update_conversation(conversation.id, archived=True)
        parts = await attachment_parts(store, attachments)
        user = await store.add_message(conversation.id, "user", prompt, parent_id=None, parts=parts)
        answers = [
            {
                "model": spec.target.model,
                "provider": spec.target.provider_id,
                "metadata": {
                    "slot": slot,
                    "params": spec.params,
                    "system_prompt": spec.system_prompt,
                },
            }
            for spec, slot in zip(specs, slots, strict=True)
        ]
        run_params = {
            **params,
            RUN_KEY: {"blind": blind, "conversation_id": conversation.id, "prompt_id": user.id},
        }
        run = await store.add_comparison(
            prompt, answers, system_prompt=system_prompt, params=run_params
        )
        columns = [
            Column(i, spec, answer.id, slots[i])
            for i, (spec, answer) in enumerate(zip(specs, run.answers, strict=True))
        ]
        return cls(
            store, clients, run.id, user, columns, system_prompt=system_prompt, params=params,
            blind=blind, vote=None, created_at=run.created_at, pacer=pacer, listener=listener,
            price_of=price_of,
        )  # fmt: skip

    @classmethod
    async def from_answer(
        cls,
        store: Store,
        clients: ClientPool,
        answer_id: int,
        others: Sequence[ColumnSpec],
        *,
        pacer: Pacer | None = None,
        listener: Listener | None = None,
        price_of: PriceOf | None = None,
    ) -> Comparison:
        """ "Ask another model" in a conversation: its answer ``answer_id`` is the first
        column (already ended); ``others`` answer the same prompt, with the conversation
        above it, as new branches of that conversation."""
        answer = store.get_message(answer_id)
        if answer.parent_id is None or answer.role != "assistant":
            raise ValueError("only an answer to a message can be compared")
        prompt = store.get_message(answer.parent_id)
        conversation = store.get_conversation(answer.conversation_id)
        specs = [ColumnSpec(Target(answer.provider or "", answer.model or "")), *others]
        if not MIN_COLUMNS <= len(specs) <= MAX_COLUMNS:
            raise ValueError(f"choose 1 to {MAX_COLUMNS - 1} other models")
        params = {k: v for k, v in conversation.params.items() if v is not None}
        answers = [
            {
                "model": spec.target.model,
                "provider": spec.target.provider_id,
                "message_id": answer.id if i == 0 else None,
                "metadata": {"slot": i, "params": spec.params, "system_prompt": spec.system_prompt},
            }
            for i, spec in enumerate(specs)
        ]
        extra = {"blind": False, "conversation_id": conversation.id, "prompt_id": prompt.id}
        run = await store.add_comparison(
            prompt.text, answers, system_prompt=conversation.system_prompt,
            params={**params, RUN_KEY: {**extra, "from_conversation": True}},
        )  # fmt: skip
        columns = [
            Column(i, spec, a.id, i)
            for i, (spec, a) in enumerate(zip(specs, run.answers, strict=True))
        ]
        columns[0].message = answer
        columns[0].status = column_status(answer)
        return cls(
            store, clients, run.id, prompt, columns, system_prompt=conversation.system_prompt,
            params=params, blind=False, vote=None, created_at=run.created_at, pacer=pacer,
            listener=listener, price_of=price_of,
        )  # fmt: skip

    @classmethod
    def load(
        cls,
        store: Store,
        clients: ClientPool,
        run_id: int,
        *,
        pacer: Pacer | None = None,
        listener: Listener | None = None,
        price_of: PriceOf | None = None,
    ) -> Comparison:
        """A stored run as it was left (offline: reads only the store)."""
        run = store.get_comparison(run_id)
        extra = dict(run.params.get(RUN_KEY) or {})
        params = {k: v for k, v in run.params.items() if k != RUN_KEY}
        prompt = store.get_message(int(extra["prompt_id"]))
        columns: list[Column] = []
        for i, answer in enumerate(run.answers):
            meta = answer.metadata
            spec = ColumnSpec(
                Target(answer.provider or "", answer.model),
                dict(meta.get("params") or {}),
                meta.get("system_prompt"),
            )
            column = Column(i, spec, answer.id, int(meta.get("slot", i)))
            if answer.message_id is not None:
                column.message = store.get_message(answer.message_id)
                column.status = column_status(column.message)
                if column.message.error:
                    error = column.message.error
                    column.error = ErrorInfo(
                        str(error.get("kind", "Error")),
                        str(error.get("message", "")),
                        error.get("status"),
                        error.get("retry_after_s"),
                    )
            else:
                column.status = ColumnStatus.STOPPED
            columns.append(column)
        return cls(
            store, clients, run.id, prompt, columns, system_prompt=run.system_prompt,
            params=params, blind=bool(extra.get("blind")), vote=run.vote,
            created_at=run.created_at, pacer=pacer, listener=listener, price_of=price_of,
        )  # fmt: skip

    # --- running ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return any(c.task is not None and not c.task.done() for c in self.columns)

    def in_screen_order(self) -> list[Column]:
        return sorted(self.columns, key=lambda c: c.slot)

    def label(self, column: Column) -> str:
        """``Model A``... while blind and not voted; the model's name otherwise."""
        if self.hidden:
            return f"Model {chr(ord('A') + column.slot)}"
        return column.spec.target.model

    @property
    def hidden(self) -> bool:
        return self.blind and self.vote is None

    async def run(self) -> None:
        """Stream every column not yet run at once; returns when all have ended (each on
        its own)."""
        async with asyncio.TaskGroup() as group:
            for column in self.columns:
                if column.status is not ColumnStatus.PENDING:
                    continue
                column.task = group.create_task(
                    self.run_column(column.index), name=f"compare-{self.run_id}-{column.index}"
                )

    async def run_column(self, index: int) -> None:
        """Run (or retry) one column. Never raises but for its own cancellation."""
        column = self.columns[index]
        current = asyncio.current_task()
        if column.task is not current and column.task is not None and not column.task.done():
            column.task.cancel()
        column.task = current
        column.reset()
        column.notify = self._emit
        column.price = self._price(column.spec.target)
        column.prompt_tokens = estimate_tokens(self.prompt.text)
        spec = column.spec
        session = ChatSession(
            self.store,
            _PacedClients(self.clients, self.pacer, column),  # type: ignore[arg-type]
            self.prompt.conversation_id,
            params={**self.params, **spec.params},
            system_prompt=self.system_prompt if spec.system_prompt is None else spec.system_prompt,
        )
        try:
            async for event in session.answer(self.prompt, spec.target):
                if isinstance(event, AnswerDelta):
                    column.on_delta()
                    self._emit(ColumnDelta(index, event.text))
                elif isinstance(event, MessageSaved):
                    column.message = event.message
                    self._emit(ColumnStarted(index, event.message.id))
                    await self.store.update_comparison_answer(
                        column.answer_id, message_id=event.message.id
                    )
                elif isinstance(event, AnswerFinished):
                    self._finished(column, event.message, event.error)
        except asyncio.CancelledError:
            await asyncio.shield(self._settle(column, MessageStatus.STOPPED, None))
            raise
        except Exception as exc:  # one column's failure (even a bug) never ends the others
            _log.exception("comparison column %d failed", index)
            await asyncio.shield(
                self._settle(column, MessageStatus.ERROR, ErrorInfo.from_exception(exc))
            )

    def _finished(self, column: Column, message: Message, error: ErrorInfo | None) -> None:
        column.message = message
        column.error = error
        column.status = column_status(message)
        if error is not None and error.kind == RateLimitError.__name__ and error.retry_after_s:
            self.pacer.hold(column.spec.target.provider_id, error.retry_after_s)
        self._emit(ColumnFinished(column.index))

    async def _settle(self, column: Column, status: MessageStatus, error: ErrorInfo | None) -> None:
        """End a column the chat flow could not end itself (stopped mid-event, or a bug)."""
        message = column.message
        if message is not None:
            try:
                message = self.store.get_message(message.id)
                if message.status is MessageStatus.STREAMING:
                    message = await self.store.finish_message(
                        message.id, message.text, status,
                        error=error.to_json() if error else None,
                    )  # fmt: skip
            except StoreWriteError as exc:
                _log.warning("comparison answer not settled: %s", exc)
        column.message = message
        column.error = error or column.error
        column.status = (
            column_status(message) if message is not None else ColumnStatus(status.value)
        )
        self._emit(ColumnFinished(column.index))

    def stop(self, index: int) -> None:
        """Stop one column; what it received is kept (status ``stopped``)."""
        task = self.columns[index].task
        if task is not None and not task.done():
            task.cancel()

    def stop_all(self) -> None:
        for column in self.columns:
            self.stop(column.index)

    # --- verdict and after --------------------------------------------------------------------
    async def cast_vote(self, winner: int | None) -> dict[str, Any]:
        """The best column (``None``: a tie); reveals a blind run."""
        vote: dict[str, Any] = {"tie": winner is None, "blind": self.blind, "at": time.time()}
        if winner is not None:
            column = self.columns[winner]
            vote.update(winner=column.answer_id, model=column.spec.key)
        await self.store.vote_comparison(self.run_id, vote)
        self.vote = vote
        return vote

    async def reveal(self) -> None:
        """Show the names without a verdict (nothing counts on the leaderboard)."""
        vote = {"skipped": True, "blind": self.blind, "at": time.time()}
        await self.store.vote_comparison(self.run_id, vote)
        self.vote = vote

    def winner(self) -> int | None:
        answer_id = (self.vote or {}).get("winner")
        return next((c.index for c in self.columns if c.answer_id == answer_id), None)

    async def continue_with(self, index: int) -> Conversation:
        """A normal conversation with that model: the prompt, then this column's answer."""
        column = self.columns[index]
        message = self.store.get_message(column.message_id) if column.message_id else None
        if message is None or not message.text:
            raise ValueError("this column has no answer to continue with")
        spec = column.spec
        title = " ".join(self.prompt.text.split())[:TITLE_LENGTH] or "Comparison"
        conversation = await self.store.create_conversation(
            title, provider=spec.target.provider_id, model=spec.target.model,
            system_prompt=self.system_prompt if spec.system_prompt is None else spec.system_prompt,
            params={**self.params, **spec.params},
        )  # fmt: skip
        user = await self.store.add_message(
            conversation.id, "user", self.prompt.text, parent_id=None, parts=self.prompt.parts
        )
        await self.store.add_message(
            conversation.id, "assistant", message.text, parent_id=user.id, model=message.model,
            provider=message.provider, status=message.status, finish_reason=message.finish_reason,
            usage=StoredUsage(message.prompt_tokens, message.completion_tokens, message.tokens_estimated),
            cost=message.cost, latency_s=message.latency_s, ttft_s=message.ttft_s,
        )  # fmt: skip
        return conversation

    # --- helpers ------------------------------------------------------------------------------
    def _emit(self, event: CompareEvent) -> None:
        if self.listener is not None:
            self.listener(event)

    def _price(self, target: Target) -> ModelPrice | None:
        try:
            return self.price_of(target)
        except Exception:  # a live estimate is optional
            return None

    def _profile_price(self, target: Target) -> ModelPrice | None:
        profile = self.clients.profile(target.provider_id)
        return profile.price(target.model)
