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
from collections.abc import Sequence
from typing import Any

from app import log
from app.api import ModelPrice, RateLimitError, reporting_waits
from app.api.types import estimate_tokens
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
from app.core.compare_columns import (
    Column,
    ColumnDelta,
    ColumnFigures,
    ColumnFinished,
    ColumnSpec,
    ColumnStarted,
    ColumnStatus,
    ColumnWaiting,
    CompareEvent,
    Listener,
    PriceOf,
    column_status,
    figures_of,
    model_key,
)
from app.core.compare_pacing import Pacer, _PacedClients
from app.store import Conversation, Message, MessageStatus, Store, StoreWriteError
from app.store import Usage as StoredUsage
from app.store.media import delete_item

__all__ = [
    "MAX_COLUMNS",
    "MIN_COLUMNS",
    "Column",
    "ColumnDelta",
    "ColumnFigures",
    "ColumnFinished",
    "ColumnSpec",
    "ColumnStarted",
    "ColumnStatus",
    "ColumnWaiting",
    "CompareEvent",
    "Comparison",
    "Listener",
    "Pacer",
    "PriceOf",
    "delete_run",
    "figures_of",
    "model_key",
]

_log = log.get("core.compare")

MIN_COLUMNS = 2
MAX_COLUMNS = 6
FOLDER = "Comparisons"
RUN_KEY = "compare"
"""Key in the run's ``params`` holding what is not a request parameter (blind, ids)."""


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
            # The client's own waits (Retry-After, backoff) count down in the column too.
            with reporting_waits(column.on_wait):
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
        """The price every metered call uses: the live list's, else the profile's."""
        from app.core.metered import price_of

        return price_of(self.clients, target.provider_id, target.model)
