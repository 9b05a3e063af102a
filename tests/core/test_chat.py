"""The chat flow against a real store and a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.api import ProviderProfile
from app.core.chat import (
    AnswerDelta,
    AnswerFinished,
    Attachment,
    ChatEvent,
    ChatSession,
    MessageSaved,
    Target,
)
from app.core.context import AppContext
from app.paths import AppPaths
from app.store import MessageStatus
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.openai_server import OpenAIServer


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path))
    context.registry.add(local_provider(openai_server, name="Local test"))
    yield context
    await context.close()


async def _collect(events: AsyncIterator[ChatEvent]) -> list[ChatEvent]:
    return [event async for event in events]


async def test_send_streams_persists_and_accounts(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    session = ChatSession(ctx.store, ctx.clients)
    events = await _collect(
        session.send("Tell me a fun fact", Target("local", "gpt-test?tokens=40"))
    )
    saved = [e for e in events if isinstance(e, MessageSaved)]
    deltas = [e for e in events if isinstance(e, AnswerDelta)]
    finished = [e for e in events if isinstance(e, AnswerFinished)]
    assert [m.message.role for m in saved] == ["user", "assistant"]
    assert len(deltas) >= 10
    assert len(finished) == 1 and finished[0].error is None
    answer = finished[0].message
    assert answer.status is MessageStatus.COMPLETE
    assert answer.text == "".join(d.text for d in deltas)
    assert answer.completion_tokens == 40 and not answer.tokens_estimated
    assert session.conversation_id is not None
    branch = ctx.store.active_branch(session.conversation_id)
    assert [m.role for m in branch] == ["user", "assistant"]
    assert ctx.store.get_conversation(session.conversation_id).title == "Tell me a fun fact"
    rows = await ctx.store.usage_entries()
    assert len(rows) == 1 and rows[0]["endpoint"] == "chat"
    # The request carried the conversation so far.
    body = openai_server.requests[-1].json
    assert body["messages"][-1] == {"role": "user", "content": "Tell me a fun fact"}


async def test_second_turn_includes_history_and_image_parts(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    session = ChatSession(ctx.store, ctx.clients, system_prompt="Be brief.")
    await _collect(session.send("first", Target("local", "m")))
    png = Attachment("dot.png", "image/png", b"\x89PNG\r\n\x1a\nfake")
    notes = Attachment("notes.md", "text/markdown", b"# notes")
    await _collect(session.send("second", Target("local", "m"), [png, notes]))
    messages = openai_server.requests[-1].json["messages"]
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    last = messages[-1]["content"]
    assert (
        last[0]["type"] == "text"
        and "second" in last[0]["text"]
        and "File `notes.md`" in last[0]["text"]
    )
    assert last[1]["image_url"]["url"].startswith("data:image/png;base64,")


async def test_errors_are_saved_inline_with_plain_words(ctx: AppContext) -> None:
    session = ChatSession(ctx.store, ctx.clients)
    events = await _collect(session.send("hi", Target("local", "m?fault=402")))
    finished = events[-1]
    assert isinstance(finished, AnswerFinished) and finished.error is not None
    assert finished.message.status is MessageStatus.ERROR
    assert finished.error.status == 402
    assert "credit" in finished.error.message.lower()
    assert finished.message.error is not None and finished.message.error["status"] == 402


async def test_dropped_stream_keeps_partial_answer(ctx: AppContext) -> None:
    session = ChatSession(ctx.store, ctx.clients)
    events = await _collect(
        session.send("hi", Target("local", "m?tokens=50&fault=drop&drop_after=20"))
    )
    finished = events[-1]
    assert isinstance(finished, AnswerFinished)
    assert finished.message.status is MessageStatus.INTERRUPTED
    assert finished.message.text and finished.error is not None


async def test_stop_saves_what_arrived(ctx: AppContext) -> None:
    session = ChatSession(ctx.store, ctx.clients)
    got_text = asyncio.Event()
    answer_ids: list[int] = []

    async def run() -> None:
        async for event in session.send("hi", Target("local", "m?tokens=400&rate=200")):
            if isinstance(event, MessageSaved) and event.message.role == "assistant":
                answer_ids.append(event.message.id)
            if isinstance(event, AnswerDelta):
                got_text.set()

    task = asyncio.create_task(run())
    await asyncio.wait_for(got_text.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stopped = ctx.store.get_message(answer_ids[0])
    assert stopped.status is MessageStatus.STOPPED
    assert len(stopped.text) > 0


async def test_regenerate_and_edit_make_branches(ctx: AppContext) -> None:
    session = ChatSession(ctx.store, ctx.clients)
    first = await _collect(session.send("question", Target("local", "m")))
    user = first[0].message  # type: ignore[union-attr]
    answer = first[-1].message  # type: ignore[union-attr]
    await _collect(session.regenerate(answer.id, Target("local", "m")))
    assert len(ctx.store.siblings(answer.id)) == 2
    edited = await _collect(session.edit(user.id, "better question", Target("local", "m")))
    assert len(ctx.store.siblings(user.id)) == 2
    assert session.conversation_id is not None
    branch = ctx.store.active_branch(session.conversation_id)
    assert branch[0].text == "better question"
    assert branch[-1].id == edited[-1].message.id  # type: ignore[union-attr]


async def test_missing_key_is_explained(ctx: AppContext, openai_server: OpenAIServer) -> None:
    ctx.registry.add(
        ProviderProfile(
            id="keyed", name="Keyed", base_url=openai_server.base_url, key_required=True
        )
    )
    session = ChatSession(ctx.store, ctx.clients)
    events = await _collect(session.send("hi", Target("keyed", "m")))
    finished = events[-1]
    assert isinstance(finished, AnswerFinished) and finished.error is not None
    assert "needs an API key" in finished.error.message


async def test_no_proxy_setting_ignores_proxy_variables(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy that does not exist: with "system" the call would try it; with "none" it must not.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    ctx.settings.update(proxy="none")
    events = await _collect(ChatSession(ctx.store, ctx.clients).send("hi", Target("local", "m")))
    finished = events[-1]
    assert isinstance(finished, AnswerFinished) and finished.error is None
    ctx.settings.update(proxy="system")
    events = await _collect(ChatSession(ctx.store, ctx.clients).send("hi", Target("local", "m")))
    finished = events[-1]
    assert isinstance(finished, AnswerFinished) and finished.error is not None


async def test_n_choices_become_branches_and_tool_calls_are_kept(ctx: AppContext) -> None:
    session = ChatSession(ctx.store, ctx.clients, params={"n": 3})
    events = await _collect(session.send("pick", Target("local", "m?tokens=5")))
    answer = events[-1].message  # type: ignore[union-attr]
    siblings = ctx.store.siblings(answer.id)
    assert len(siblings) == 3 and siblings[0].id == answer.id
    assert all(s.text for s in siblings)
    assert ctx.store.branch_positions([answer.id])[answer.id] == (0, 3)
    tools = ChatSession(ctx.store, ctx.clients)
    events = await _collect(tools.send("weather?", Target("local", "m?tools=2")))
    final = events[-1].message  # type: ignore[union-attr]
    calls = [p for p in final.parts if p["type"] == "tool_call"]
    assert len(calls) == 2 and calls[0]["name"] and calls[0]["arguments"].startswith("{")


async def test_text_completion_mode_uses_the_completions_endpoint(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    session = ChatSession(
        ctx.store,
        ctx.clients,
        params={
            "mode": "completion",
            "temperature": 0.2,
            "response_format": {"type": "json_object"},
        },
    )
    events = await _collect(session.send("Once upon a time", Target("local", "m?tokens=12")))
    final = events[-1]
    assert isinstance(final, AnswerFinished) and final.error is None and final.message.text
    request = openai_server.requests[-1]
    assert request.path.endswith("/completions") and "chat" not in request.path
    assert request.json["prompt"] == "Once upon a time" and request.json["temperature"] == 0.2
    assert "response_format" not in request.json and "mode" not in request.json


async def test_dropped_and_stopped_answers_are_costed_from_what_arrived(
    ctx: AppContext,
) -> None:
    """The provider bills the tokens it sent before a drop or a stop; so does the ledger."""
    dropped, slow = "gpt-test?tokens=60&fault=drop&drop_after=20", "gpt-test?tokens=400&rate=100"
    ctx.models.put(
        "local", [{"id": m, "pricing": {"input": 2.0, "output": 10.0}} for m in (dropped, slow)]
    )
    session = ChatSession(ctx.store, ctx.clients)
    events = await _collect(session.send("Tell me a story", Target("local", dropped)))
    answer = next(e for e in events if isinstance(e, AnswerFinished)).message
    assert answer.status is MessageStatus.INTERRUPTED and answer.text
    assert answer.cost is not None and answer.cost > 0

    task = asyncio.create_task(_collect(session.send("Another story", Target("local", slow))))
    await asyncio.sleep(0.6)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rows = {row["status"]: row for row in await ctx.store.usage_entries()}
    stopped = rows["stopped"]
    assert stopped["completion_tokens"] > 0 and stopped["estimated"]
    assert stopped["cost"] == pytest.approx(
        (stopped["prompt_tokens"] * 2.0 + stopped["completion_tokens"] * 10.0) / 1e6
    )
    interrupted = next(r for s, r in rows.items() if s.startswith("interrupted"))
    assert interrupted["cost"] and interrupted["cost"] > 0
