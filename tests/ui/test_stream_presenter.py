"""The stream presenter: a real chat session and a real comparison, streamed over loopback
from the local server into real conversation views."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.chat import ChatSession, Target
from app.core.compare import ColumnSpec, CompareEvent, Comparison
from app.core.context import AppContext
from app.paths import AppPaths
from app.store import MessageStatus
from app.ui.chat.message_view import ConversationView
from app.ui.chat.messages import Role, Status
from app.ui.stream_presenter import NO_ROW, StreamPresenter
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.openai_server import OpenAIServer
from tests.helpers.waiting import until


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path))
    context.registry.add(local_provider(openai_server))
    yield context
    await context.close()


def _view(qtbot: QtBot) -> ConversationView:
    view = ConversationView()
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    return view


async def test_a_chat_answer_streams_into_the_view_with_store_ids(
    qtbot: QtBot, ctx: AppContext
) -> None:
    view = _view(qtbot)
    presenter = StreamPresenter(view)
    session = ChatSession(ctx.store, ctx.clients)
    seen_streaming: list[tuple[int, Status]] = []
    async for event in session.send("Hello there", Target("local", "m?tokens=40&rate=400")):
        presenter.on_chat_event(event)
        if presenter.streaming:
            assert presenter.message_id is not None
            shown = view.message(presenter.message_id)
            assert shown is not None
            seen_streaming.append((shown.id, shown.status))
    assert not presenter.streaming
    user_id, answer_id = view.message_ids()
    assert all(isinstance(i, int) for i in (user_id, answer_id))
    assert {s for _, s in seen_streaming} == {Status.STREAMING}
    assert {i for i, _ in seen_streaming} == {answer_id}
    stored = ctx.store.get_message(answer_id)
    answer = view.message(answer_id)
    assert answer is not None and answer.status is Status.COMPLETE
    assert answer.text == stored.text and answer.usage.tokens_out == 40
    user = view.message(user_id)
    assert user is not None and user.role is Role.USER and user.text == "Hello there"
    row = view._rows[-1]
    assert row.stream is None  # the stream was finished, not left open


async def test_a_stopped_answer_keeps_what_arrived(qtbot: QtBot, ctx: AppContext) -> None:
    view = _view(qtbot)
    presenter = StreamPresenter(view)
    session = ChatSession(ctx.store, ctx.clients)

    async def consume() -> None:
        try:
            async for event in session.send("Go", Target("local", "m?tokens=2000&rate=200")):
                presenter.on_chat_event(event)
        except asyncio.CancelledError:
            if presenter.message_id is not None:  # the session saved it as "stopped"
                presenter.finished(ctx.store.get_message(presenter.message_id))
            raise

    task = asyncio.ensure_future(consume())
    await until(lambda: presenter.streaming and bool(view.message(view.message_ids()[-1]).text))  # type: ignore[union-attr]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    answer_id = view.message_ids()[-1]
    shown, stored = view.message(answer_id), ctx.store.get_message(answer_id)
    assert stored.status is MessageStatus.STOPPED
    assert shown is not None and shown.status is Status.STOPPED and shown.text == stored.text
    assert not presenter.streaming


async def test_comparison_columns_each_show_their_one_answer(qtbot: QtBot, ctx: AppContext) -> None:
    models = ("one?tokens=30&rate=300", "two?tokens=50&rate=500")
    views = [_view(qtbot) for _ in models]
    presenters = [StreamPresenter(v, single=True) for v in views]
    comparison: Comparison | None = None

    def on_event(event: CompareEvent) -> None:
        assert comparison is not None
        presenters[event.index].on_column_event(event, comparison.columns[event.index])

    comparison = await Comparison.create(
        ctx.store,
        ctx.clients,
        "Compare me",
        [ColumnSpec(Target("local", m)) for m in models],
        listener=on_event,
    )
    await comparison.run()
    for view, presenter, column in zip(views, presenters, comparison.columns, strict=True):
        assert not presenter.streaming
        assert column.message_id is not None
        assert view.message_ids() == [column.message_id]
        shown = view.message(column.message_id)
        assert shown is not None and shown.status is Status.COMPLETE
        assert shown.text == ctx.store.get_message(column.message_id).text
    # A retried column replaces its answer: still one row, the new one.
    first = comparison.columns[0].message_id
    await comparison.run_column(0)
    assert comparison.columns[0].message_id not in (None, first)
    assert views[0].message_ids() == [comparison.columns[0].message_id]


def test_a_failure_without_a_row_shows_an_error_row(qtbot: QtBot) -> None:
    view = _view(qtbot)
    presenter = StreamPresenter(view, single=True)
    presenter.failed("The provider is gone.", model="gone/x")
    (shown,) = (view.message(i) for i in view.message_ids())
    assert shown is not None and shown.id == NO_ROW and shown.status is Status.ERROR
    assert shown.error == "The provider is gone." and shown.model == "gone/x"
