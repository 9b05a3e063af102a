"""Comparison runs against a real store and the local server over loopback."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.api import ProviderProfile
from app.api.types import RateLimitStatus
from app.core.chat import AnswerFinished, Attachment, ChatSession, Target
from app.core.compare import (
    ColumnDelta,
    ColumnFinished,
    ColumnSpec,
    ColumnStarted,
    ColumnStatus,
    ColumnWaiting,
    CompareEvent,
    Comparison,
    Pacer,
)
from app.core.context import AppContext
from app.paths import AppPaths
from app.store import MessageStatus
from tests.helpers.app_context import open_context
from tests.helpers.openai_server import OpenAIServer
from tests.helpers.waiting import until


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path))
    for pid in ("local", "other"):
        context.registry.add(
            ProviderProfile(
                id=pid,
                name=pid.title(),
                base_url=openai_server.base_url,
                kind="local",
                key_required=False,
                prices={"m1?tokens=30": {"input_per_m": 1.0, "output_per_m": 2.0}},
            )
        )
    yield context
    await context.close()


def _specs(*models: str, provider: str = "local") -> list[ColumnSpec]:
    return [ColumnSpec(Target(provider, m)) for m in models]


async def test_all_columns_stream_at_once_and_are_saved(ctx: AppContext) -> None:
    events: list[CompareEvent] = []
    comparison = await Comparison.create(
        ctx.store,
        ctx.clients,
        "Compare me",
        _specs("m1?tokens=30", "m2?tokens=50&rate=400", "m3?tokens=20&rate=400"),
        system_prompt="Be brief.",
        params={"temperature": 0.5},
        listener=events.append,
    )
    await comparison.run()
    assert [c.status for c in comparison.columns] == [ColumnStatus.COMPLETE] * 3
    started = [e.index for e in events if isinstance(e, ColumnStarted)]
    finished = [e.index for e in events if isinstance(e, ColumnFinished)]
    assert sorted(started) == sorted(finished) == [0, 1, 2]
    # Interleaved deltas: the streams ran side by side, not one after another.
    order = [e.index for e in events if isinstance(e, ColumnDelta)]
    first_end = max(i for i, idx in enumerate(order) if idx == 2)
    assert {order[i] for i in range(first_end)} >= {1, 2}
    # Stored: the run, each answer as a message, the usage ledger and the shared prompt.
    run = ctx.store.get_comparison(comparison.run_id)
    assert [a.model for a in run.answers] == [
        "m1?tokens=30",
        "m2?tokens=50&rate=400",
        "m3?tokens=20&rate=400",
    ]
    for column, answer in zip(comparison.columns, run.answers, strict=True):
        stored = ctx.store.get_message(answer.message_id or -1)
        assert stored.status is MessageStatus.COMPLETE and stored.text == column.text
        assert stored.parent_id == comparison.prompt.id
    assert comparison.columns[0].figures().tokens == 30
    assert comparison.columns[0].figures().cost is not None
    entries = await ctx.store.usage_entries()
    assert len(entries) == 3
    # The hidden conversation does not show in the chat list.
    assert all(c.folder != "Comparisons" for c in ctx.store.list_conversations())


async def test_one_failing_column_never_stops_the_others(ctx: AppContext) -> None:
    comparison = await Comparison.create(
        ctx.store,
        ctx.clients,
        "Go",
        [
            *_specs("ok?tokens=40&rate=400", "broke?tokens=40&fault=drop", "poor?fault=402"),
            *_specs("missing-model", "busy?fault=429&retry_after=0"),
            ColumnSpec(Target("gone", "x")),
        ],
    )
    await comparison.run()
    statuses = [c.status for c in comparison.columns]
    assert statuses == [
        ColumnStatus.COMPLETE,
        ColumnStatus.INTERRUPTED,
        ColumnStatus.ERROR,
        ColumnStatus.ERROR,
        ColumnStatus.ERROR,
        ColumnStatus.ERROR,
    ]
    assert comparison.columns[4].error is not None
    assert comparison.columns[4].error.kind == "RateLimitError"
    assert comparison.columns[1].text  # the partial answer is kept
    for column in comparison.columns[1:]:
        assert column.error is not None and column.error.message
    assert "credit" in (comparison.columns[2].error.message or "").lower()  # type: ignore[union-attr]


async def test_a_gateway_timeout_ends_only_its_column(ctx: AppContext) -> None:
    comparison = await Comparison.create(
        ctx.store, ctx.clients, "Go", _specs("ok?tokens=20&rate=200", "late?fault=504")
    )
    await comparison.run()
    ok, late = comparison.columns
    assert ok.status is ColumnStatus.COMPLETE
    assert late.status is ColumnStatus.ERROR and late.error is not None
    assert late.error.status == 504 and late.error.message


async def test_retry_replaces_the_failed_answer(ctx: AppContext) -> None:
    comparison = await Comparison.create(
        ctx.store, ctx.clients, "Go", _specs("fine?tokens=5", "flaky?fault=402&times=1")
    )
    await comparison.run()
    assert comparison.columns[1].status is ColumnStatus.ERROR
    failed_id = comparison.columns[1].message_id
    await comparison.run_column(1)
    assert comparison.columns[1].status is ColumnStatus.COMPLETE
    assert comparison.columns[1].message_id != failed_id
    run = ctx.store.get_comparison(comparison.run_id)
    assert run.answers[1].message_id == comparison.columns[1].message_id


async def test_stop_one_column_keeps_its_text_and_the_rest_finish(ctx: AppContext) -> None:
    comparison = await Comparison.create(
        ctx.store,
        ctx.clients,
        "Go",
        _specs("slow?tokens=2000&rate=200", "quick?tokens=40&rate=400"),
    )

    def on_event(event: CompareEvent) -> None:
        if (
            isinstance(event, ColumnDelta)
            and event.index == 0
            and comparison.columns[0].chunks == 5
        ):
            comparison.stop(0)

    comparison.listener = on_event
    await comparison.run()
    slow, quick = comparison.columns
    assert slow.status is ColumnStatus.STOPPED and slow.text
    assert quick.status is ColumnStatus.COMPLETE
    assert ctx.store.get_message(slow.message_id or -1).status is MessageStatus.STOPPED


async def test_stop_all_cancels_every_column(ctx: AppContext) -> None:
    comparison = await Comparison.create(
        ctx.store, ctx.clients, "Go", _specs("a?tokens=2000&rate=100", "b?tokens=2000&rate=100")
    )
    task = asyncio.ensure_future(comparison.run())
    await until(lambda: all(c.chunks for c in comparison.columns))
    comparison.stop_all()
    await task
    assert [c.status for c in comparison.columns] == [ColumnStatus.STOPPED] * 2


async def test_blind_vote_reveal_reload_and_continue(ctx: AppContext) -> None:
    comparison = await Comparison.create(
        ctx.store,
        ctx.clients,
        "Which is best?",
        _specs("x?tokens=8", "y?tokens=9", "z?tokens=10"),
        blind=True,
        rng=random.Random(3),
    )
    await comparison.run()
    assert comparison.hidden
    labels = {comparison.label(c) for c in comparison.columns}
    assert labels == {"Model A", "Model B", "Model C"}
    assert sorted(c.slot for c in comparison.columns) == [0, 1, 2]
    vote = await comparison.cast_vote(2)
    assert vote["model"] == "local/z?tokens=10" and not comparison.hidden
    assert comparison.label(comparison.columns[2]) == "z?tokens=10"

    loaded = Comparison.load(ctx.store, ctx.clients, comparison.run_id)
    assert loaded.blind and loaded.winner() == 2
    assert [c.slot for c in loaded.columns] == [c.slot for c in comparison.columns]
    assert [c.text for c in loaded.columns] == [c.text for c in comparison.columns]
    assert loaded.prompt.text == "Which is best?"

    conversation = await loaded.continue_with(2)
    branch = ctx.store.active_branch(conversation.id)
    assert [m.role for m in branch] == ["user", "assistant"]
    assert branch[1].text == comparison.columns[2].text and branch[1].model == "z?tokens=10"
    assert conversation.model == "z?tokens=10" and not conversation.archived


async def test_per_column_overrides_reach_the_request(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    comparison = await Comparison.create(
        ctx.store,
        ctx.clients,
        "Hi",
        [
            ColumnSpec(Target("local", "p?tokens=3"), {"temperature": 1.5}, "Pirate."),
            ColumnSpec(Target("local", "q?tokens=3")),
        ],
        system_prompt="Shared.",
        params={"temperature": 0.2, "max_tokens": 50},
    )
    await comparison.run()
    bodies = {
        r.json["model"]: r.json for r in openai_server.requests if r.json and "model" in r.json
    }
    p, q = bodies["p?tokens=3"], bodies["q?tokens=3"]
    assert p["temperature"] == 1.5 and q["temperature"] == 0.2 and p["max_tokens"] == 50
    assert p["messages"][0] == {"role": "system", "content": "Pirate."}
    assert q["messages"] == [
        {"role": "system", "content": "Shared."},
        {"role": "user", "content": "Hi"},
    ]


# --- the pacer ----------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + 1_700_000_000

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _pacer(t: FakeTime) -> Pacer:
    return Pacer(clock=t.clock, wall=t.wall, sleep=t.sleep)


async def test_pacer_never_waits_without_known_limits() -> None:
    t = FakeTime()
    pacer = _pacer(t)
    for _ in range(20):
        await pacer.acquire("p")
    assert t.slept == []


async def test_pacer_six_columns_fit_a_60_rpm_window_then_wait() -> None:
    t = FakeTime()
    pacer = _pacer(t)
    pacer.set_limit("p", 60)
    for _ in range(60):
        await pacer.acquire("p")
    assert t.slept == []
    waits: list[float] = []
    await pacer.acquire("p", lambda w: waits.append(w.seconds))
    assert waits == [pytest.approx(60.0)]


async def test_pacer_respects_the_remaining_count_until_reset() -> None:
    t = FakeTime()
    pacer = _pacer(t)
    pacer.observe(
        "p",
        RateLimitStatus(
            limit_requests=60, remaining_requests=2, reset_requests_s=12.0, observed_at=t.wall()
        ),
    )
    await pacer.acquire("p")
    await pacer.acquire("p")
    assert t.slept == []
    await pacer.acquire("p")
    assert t.slept == [pytest.approx(12.0)]
    # The same status seen again (a client's last one) is not counted twice.
    pacer.observe("p", RateLimitStatus(limit_requests=60, remaining_requests=2, observed_at=1.0))
    await pacer.acquire("p")
    assert len(t.slept) == 1


async def test_pacer_holds_after_retry_after_and_other_providers_go() -> None:
    t = FakeTime()
    pacer = _pacer(t)
    pacer.hold("p", 5.0)
    assert pacer.delay("q") == 0
    await pacer.acquire("p")
    assert t.slept == [pytest.approx(5.0)]


async def test_a_6_column_run_on_a_60_rpm_provider_sends_all_without_429(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    """The local server reports Stansa-style 60-RPM headers: the pacer learns them on the
    first run and the second run of six still goes out at once (well inside the window)."""
    pacer = Pacer()
    for _ in range(2):
        comparison = await Comparison.create(
            ctx.store, ctx.clients, "Go", _specs(*(f"r{i}?tokens=3" for i in range(6))),
            pacer=pacer,
        )  # fmt: skip
        await comparison.run()
        assert all(c.status is ColumnStatus.COMPLETE for c in comparison.columns)
    assert pacer.delay("local") == 0
    assert pacer._budget("local").limit == 60


async def test_ask_another_model_beside_a_conversation_answer(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    session = ChatSession(ctx.store, ctx.clients, system_prompt="Be kind.")
    events = [e async for e in session.send("First question", Target("local", "m1?tokens=4"))]
    events += [e async for e in session.send("Second question", Target("local", "m1?tokens=5"))]
    answer = next(e.message for e in reversed(events) if isinstance(e, AnswerFinished))
    comparison = await Comparison.from_answer(
        ctx.store, ctx.clients, answer.id, [ColumnSpec(Target("other", "m2?tokens=6"))]
    )
    assert comparison.columns[0].status is ColumnStatus.COMPLETE
    await comparison.run()
    first, second = comparison.columns
    assert first.message_id == answer.id and first.text == answer.text
    assert second.status is ColumnStatus.COMPLETE and second.message is not None
    # The new answer is a branch of the conversation, answering with the history above it.
    assert second.message.conversation_id == answer.conversation_id
    assert second.message.parent_id == answer.parent_id
    body = next(r.json for r in openai_server.requests if r.model == "m2?tokens=6")
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["messages"][-1]["content"] == "Second question"
    assert [c.slot for c in Comparison.load(ctx.store, ctx.clients, comparison.run_id).columns] == [
        0,
        1,
    ]


async def test_attachments_reach_every_column(ctx: AppContext, openai_server: OpenAIServer) -> None:
    comparison = await Comparison.create(
        ctx.store, ctx.clients, "Summarise the file", _specs("a?tokens=3", "b?tokens=3"),
        attachments=[Attachment("notes.txt", "text/plain", b"alpha beta")],
    )  # fmt: skip
    await comparison.run()
    bodies = [r.json for r in openai_server.requests if r.model in ("a?tokens=3", "b?tokens=3")]
    assert len(bodies) == 2
    assert all("alpha beta" in b["messages"][-1]["content"] for b in bodies)


async def test_a_rate_limited_column_counts_the_clients_wait_down(ctx: AppContext) -> None:
    """The client's own Retry-After wait shows in its column (status waiting, seconds)."""
    events: list[CompareEvent] = []
    specs = [
        ColumnSpec(Target("local", "gpt-test?fault=429&times=1&retry_after=1")),
        ColumnSpec(Target("local", "gpt-test")),
    ]
    comparison = await Comparison.create(
        ctx.store, ctx.clients, "Wait for it", specs, listener=events.append
    )
    await comparison.run()
    waits = [e for e in events if isinstance(e, ColumnWaiting)]
    assert [(w.index, round(w.seconds)) for w in waits] == [(0, 1)]
    assert [c.status for c in comparison.columns] == [ColumnStatus.COMPLETE] * 2
