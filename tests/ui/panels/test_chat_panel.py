"""The chat panel driven like a user would, against the local server over loopback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QColor, QImage

from app.core.chat import Target
from app.core.context import AppContext
from app.paths import AppPaths
from app.store import MessageStatus, NotFoundError
from app.ui.chat.messages import Role, Status
from app.ui.panels.chat import ChatPanel
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.chat_view import click_action, hover
from tests.helpers.openai_server import OpenAIServer
from tests.helpers.waiting import until


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path))
    context.registry.add(local_provider(openai_server))
    yield context
    await context.close()


async def _panel(qtbot, ctx: AppContext, model: str) -> ChatPanel:  # type: ignore[no-untyped-def]
    ctx.settings.update(default_provider="local", default_model=model)
    panel = ChatPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    return panel


async def test_send_streams_into_the_view_and_store(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test?tokens=60&rate=600")
    qtbot.keyClicks(panel.composer.input, "What is 2+2?")
    qtbot.keyClick(panel.composer.input, Qt.Key.Key_Return)
    await until(lambda: panel.composer.busy)
    assert panel.composer.stop_button.isVisible()
    await until(lambda: not panel.composer.busy)
    ids = panel.view.message_ids()
    assert len(ids) == 2
    user, answer = (panel.view.message(i) for i in ids)
    assert user is not None and user.role is Role.USER and user.text == "What is 2+2?"
    assert answer is not None and answer.status is Status.COMPLETE and answer.text
    assert answer.usage.tokens_out == 60
    stored = ctx.store.get_message(answer.id)
    assert stored.text == answer.text and stored.status is MessageStatus.COMPLETE
    assert panel.composer.text() == ""


async def test_stop_keeps_partial_answer(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test?tokens=2000&rate=100")
    panel.composer.set_text("long please")
    panel.composer.on_send_clicked()
    await until(lambda: _has_text(panel))
    qtbot.keyClick(panel.composer.stop_button, Qt.Key.Key_Space)
    await until(lambda: not panel.composer.busy)
    answer = panel.view.message(panel.view.message_ids()[1])
    assert answer is not None and answer.status is Status.STOPPED and answer.text


def _has_text(panel: ChatPanel) -> bool:
    ids = panel.view.message_ids()
    message = panel.view.message(ids[-1]) if len(ids) == 2 else None
    return message is not None and bool(message.text)


async def test_one_429_is_retried_by_itself(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test?fault=429&times=1&retry_after=0.2")
    statuses: list[str] = []
    panel.status_changed.connect(statuses.append)
    panel.composer.set_text("hi")
    panel.composer.on_send_clicked()
    await until(lambda: not panel.composer.busy and len(panel.view.message_ids()) == 2, 20)
    answer = panel.view.message(panel.view.message_ids()[1])
    assert answer is not None and answer.status is Status.COMPLETE
    # The wait was said, not silent.
    assert any(s.startswith("Waiting 0.2 s: rate limited (429)") for s in statuses), statuses


async def test_a_long_wait_counts_down_under_the_answer_and_retry_now_goes_at_once(
    qtbot, ctx: AppContext
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test?fault=429&times=1&retry_after=30")
    statuses: list[str] = []
    panel.status_changed.connect(statuses.append)
    panel.composer.set_text("hi")
    qtbot.mouseClick(panel.composer.send_button, Qt.MouseButton.LeftButton)
    notice = panel.wait_notice
    await until(notice.isVisible, 10)
    assert notice.label.text().startswith("Waiting 30 s: rate limited (429)")
    await until(lambda: notice.label.text().startswith("Waiting 29 s"), 5)  # it counts down
    started = time.perf_counter()
    qtbot.mouseClick(notice.retry_button, Qt.MouseButton.LeftButton)
    await until(lambda: not panel.composer.busy, 10)
    assert time.perf_counter() - started < 10 and not notice.isVisible()
    assert statuses[-1] == ""  # the status bar's "Waiting 30 s" went with the wait
    answer = panel.view.message(panel.view.message_ids()[1])
    assert answer is not None and answer.status is Status.COMPLETE and answer.text


async def test_stop_on_the_wait_gives_the_answer_up(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test?fault=429&times=1&retry_after=30")
    panel.composer.set_text("hi")
    qtbot.mouseClick(panel.composer.send_button, Qt.MouseButton.LeftButton)
    await until(panel.wait_notice.isVisible, 10)
    qtbot.mouseClick(panel.wait_notice.stop_button, Qt.MouseButton.LeftButton)
    await until(lambda: not panel.composer.busy, 10)
    assert not panel.wait_notice.isVisible()
    assert panel.ctx.store.get_message(panel.view.message_ids()[0]).text == "hi"  # kept


async def test_persistent_429_shows_rate_limit_inline(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test?fault=429&retry_after=0.1")
    panel.composer.set_text("hi")
    panel.composer.on_send_clicked()
    await until(lambda: not panel.composer.busy and len(panel.view.message_ids()) == 2, 20)
    failed = panel.view.message(panel.view.message_ids()[1])
    assert failed is not None and failed.status is Status.ERROR
    assert "rate" in failed.error.lower()
    assert failed.retry_at is not None


async def test_error_then_retry_makes_a_branch(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test?fault=401")
    panel.composer.set_text("hi")
    panel.composer.on_send_clicked()
    await until(lambda: not panel.composer.busy and len(panel.view.message_ids()) == 2)
    failed = panel.view.message(panel.view.message_ids()[1])
    assert failed is not None and failed.status is Status.ERROR and "key" in failed.error.lower()
    ctx.settings.update(default_model="gpt-test")
    assert panel.session.conversation_id is not None
    await ctx.store.update_conversation(panel.session.conversation_id, model="gpt-test")
    panel.view.retry_requested.emit(failed.id)
    await until(lambda: not panel.composer.busy and failed.id not in panel.view.message_ids())
    assert len(panel.view.message_ids()) == 2  # the failed try is a branch now, not a card
    panel.open_conversation(panel.session.conversation_id)
    ids = panel.view.message_ids()
    latest = panel.view.message(ids[-1])
    assert latest is not None and latest.status is Status.COMPLETE
    assert (latest.branch_index, latest.branch_count) == (1, 2)


async def test_regenerate_replaces_the_answer_in_place_with_its_switcher(
    qtbot, ctx: AppContext
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test?tokens=12")
    qtbot.keyClicks(panel.composer.input, "hi")
    qtbot.keyClick(panel.composer.input, Qt.Key.Key_Return)
    await until(lambda: not panel.composer.busy and len(panel.view.message_ids()) == 2)
    question, first = panel.view.message_ids()
    click_action(qtbot, panel.view, first, "regenerateButton")
    await until(lambda: not panel.composer.busy and first not in panel.view.message_ids())
    assert panel.view.message_ids()[0] == question and len(panel.view.message_ids()) == 2
    second = panel.view.message(panel.view.message_ids()[1])
    assert second is not None and (second.branch_index, second.branch_count) == (1, 2)
    hover(qtbot, panel.view, second.id)
    assert panel.view._actions.branch_label.text() == "2/2"


async def test_an_edited_question_replaces_the_old_one_and_its_answer(
    qtbot, ctx: AppContext
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test?tokens=12")
    for text in ("first question", "second question"):
        qtbot.keyClicks(panel.composer.input, text)
        qtbot.keyClick(panel.composer.input, Qt.Key.Key_Return)
        await until(lambda: not panel.composer.busy)
    ids = panel.view.message_ids()
    assert len(ids) == 4
    click_action(qtbot, panel.view, ids[2], "editMessageButton")
    assert panel.edit_bar.isVisible() and panel.composer.text() == "second question"
    assert panel.view.marked_id == ids[2]  # the question being edited is outlined
    panel.composer.input.selectAll()
    qtbot.keyClicks(panel.composer.input, "second question, edited")
    qtbot.keyClick(panel.composer.input, Qt.Key.Key_Return)
    await until(lambda: not panel.composer.busy and ids[2] not in panel.view.message_ids())
    assert not panel.edit_bar.isVisible() and panel.view.marked_id is None
    shown = [panel.view.message(i) for i in panel.view.message_ids()]
    assert [m.text for m in shown[:3]] == [  # type: ignore[union-attr]
        "first question",
        shown[1].text,
        "second question, edited",  # type: ignore[union-attr]
    ]
    assert len(shown) == 4 and ids[3] not in panel.view.message_ids()
    edited = shown[2]
    assert edited is not None and (edited.branch_index, edited.branch_count) == (1, 2)


def _red_pixels(panel: ChatPanel) -> int:
    shot = panel.view.viewport().grab().toImage()
    return sum(
        1
        for x in range(0, shot.width(), 4)
        for y in range(0, shot.height(), 4)
        if shot.pixelColor(x, y) == QColor("red")
    )


async def test_an_attached_image_shows_in_the_sent_message_and_after_reopening(
    qtbot, ctx: AppContext, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test?tokens=5")
    picture = tmp_path / "red.png"
    image = QImage(120, 80, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    image.save(str(picture))
    dropped = QMimeData()
    dropped.setUrls([QUrl.fromLocalFile(str(picture))])
    panel.composer.input.insertFromMimeData(dropped)  # as a drop or a paste does
    qtbot.keyClicks(panel.composer.input, "What colour is this?")
    qtbot.keyClick(panel.composer.input, Qt.Key.Key_Return)
    await until(lambda: not panel.composer.busy and len(panel.view.message_ids()) == 2)
    question = panel.view.message(panel.view.message_ids()[0])
    assert question is not None and [a.name for a in question.attachments] == ["red.png"]
    await until(lambda: _red_pixels(panel) > 50)  # the thumbnail is on screen
    conversation_id = panel.session.conversation_id
    assert conversation_id is not None
    panel.new_chat()
    assert _red_pixels(panel) == 0
    panel.open_conversation(conversation_id)
    await until(lambda: _red_pixels(panel) > 50)


async def test_branch_switch_and_delete_from_the_view(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test?tokens=12")
    panel.composer.set_text("hi")
    panel.composer.on_send_clicked()
    await until(lambda: not panel.composer.busy and len(panel.view.message_ids()) == 2)
    first = panel.view.message_ids()[1]
    panel.view.regenerate_requested.emit(first)
    await until(lambda: not panel.composer.busy and first not in panel.view.message_ids())
    second = panel.view.message_ids()[1]
    assert ctx.store.get_message(second).status is MessageStatus.COMPLETE
    # The regenerated answer is the current branch; the view's request goes back one.
    panel.open_conversation(panel.session.conversation_id)  # type: ignore[arg-type]
    assert panel.view.message_ids()[-1] == second
    panel.view.branch_requested.emit(second, -1)
    await until(lambda: panel.view.message_ids()[-1:] == [first])
    shown = panel.view.message(first)
    assert shown is not None and (shown.branch_index, shown.branch_count) == (0, 2)
    panel.view.delete_requested.emit(first)
    await until(lambda: first not in panel.view.message_ids())
    with pytest.raises(NotFoundError):
        ctx.store.get_message(first)


async def test_parameters_and_model_choice_reach_the_request(
    qtbot, ctx: AppContext, openai_server: OpenAIServer
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test")
    qtbot.mouseClick(panel.model_button, Qt.MouseButton.LeftButton)
    assert panel.picker_popup.isVisible()
    panel.picker.model_chosen.emit("local", "other-model")
    assert not panel.picker_popup.isVisible()
    assert "other-model" in panel.target_label.text()
    panel.params_button.click()
    assert panel.drawer.isVisible()
    panel.drawer.enabled["temperature"].setChecked(True)
    panel.drawer.floats["temperature"].setValue(0.5)
    panel.drawer.system_prompt.setPlainText("Answer in French.")
    panel.composer.set_text("bonjour")
    panel.composer.on_send_clicked()
    await until(lambda: not panel.composer.busy and len(panel.view.message_ids()) == 2)
    body = openai_server.requests[-1].json
    assert body["model"] == "other-model" and body["temperature"] == 0.5
    assert body["messages"][0] == {"role": "system", "content": "Answer in French."}
    await until(
        lambda: (
            ctx.store.get_conversation(panel.session.conversation_id or 0).params.get("temperature")
            == 0.5
        )
    )


async def test_a_new_user_gets_a_chat_model_and_no_composer_before_a_provider(
    qtbot, tmp_path: Path, openai_server: OpenAIServer
) -> None:  # type: ignore[no-untyped-def]
    """Issue 17, points 4 and 10: nothing to type into on the welcome page; once a provider
    is added its first chat model is picked (not its embedding model)."""
    context = await open_context(AppPaths.from_root(tmp_path / "new-user"))
    try:
        panel = ChatPanel(context)
        qtbot.addWidget(panel)
        panel.show()
        assert panel.pages.currentWidget() is panel.welcome
        assert not panel.composer.isEnabled()
        context.registry.add(
            local_provider(openai_server, models=["text-embedding-3-small", "gpt-test"])
        )
        panel.refresh_providers()
        assert panel.composer.isEnabled() and panel.pages.currentWidget() is panel.view
        assert panel.target() == Target("local", "gpt-test")
        assert (
            "gpt-test" in panel.target_label.text() and "No model" not in panel.target_label.text()
        )
        await panel.shutdown()
    finally:
        await context.close()


async def test_welcome_until_a_provider_exists_and_picker_fetches_models(
    qtbot, tmp_path: Path, openai_server: OpenAIServer
) -> None:  # type: ignore[no-untyped-def]
    context = await open_context(AppPaths.from_root(tmp_path / "fresh"))
    try:
        panel = ChatPanel(context)
        qtbot.addWidget(panel)
        panel.show()
        assert panel.pages.currentWidget() is panel.welcome
        context.registry.add(local_provider(openai_server))
        panel.refresh_providers()
        assert panel.pages.currentWidget() is panel.view
        qtbot.mouseClick(panel.model_button, Qt.MouseButton.LeftButton)
        await until(lambda: len(panel.picker.choices()) > 0)
        assert any(choice.provider_id == "local" for choice in panel.picker.choices())
        # The model list call is in the usage ledger too (no cost).
        assert [e["endpoint"] for e in await context.store.usage_entries()] == ["models"]
        await panel.shutdown()
    finally:
        await context.close()


async def test_remote_image_loads_on_request_and_stays_offline(
    qtbot, ctx: AppContext, openai_server: OpenAIServer
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "flux")
    panel.composer.set_text("a red square")
    panel.composer.on_send_clicked()
    await until(lambda: not panel.composer.busy and len(panel.view.message_ids()) == 2)
    answer_id = panel.view.message_ids()[1]
    answer = ctx.store.get_message(answer_id)
    url = answer.text.split("](", 1)[1].split(")", 1)[0]
    fetched_before = sum(1 for r in openai_server.requests if r.path.startswith("/files/"))
    assert fetched_before == 0  # nothing remote loads by itself
    panel.view.image_requested.emit(answer_id, QUrl(url))
    await until(
        lambda: any(p.get("type") == "remote_image" for p in ctx.store.get_message(answer.id).parts)
    )
    assert panel.session.conversation_id is not None
    panel.open_conversation(panel.session.conversation_id)
    shown = panel.view.message(answer_id)
    assert shown is not None and shown.images.get(url, b"").startswith(b"\x89PNG")


async def test_a_link_that_is_not_an_image_is_refused(
    qtbot, ctx: AppContext, openai_server: OpenAIServer
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "gpt-test")
    panel.composer.set_text("hi")
    panel.composer.on_send_clicked()
    await until(lambda: not panel.composer.busy and len(panel.view.message_ids()) == 2)
    statuses: list[str] = []
    panel.status_changed.connect(statuses.append)
    panel.view.image_requested.emit(
        panel.view.message_ids()[1], QUrl(openai_server.origin + "/v1/models")
    )
    await until(lambda: bool(statuses))
    assert "did not return an image" in statuses[0]


async def test_sending_while_scrolled_up_brings_the_new_message_into_view(
    qtbot, ctx: AppContext
) -> None:  # type: ignore[no-untyped-def]
    """Issue 17, point 2: the new message must not hide behind "Jump to latest"."""
    panel = await _panel(qtbot, ctx, "gpt-test?tokens=120")
    for turn in range(3):
        panel.composer.set_text(f"question {turn}")
        panel.composer.on_send_clicked()
        await until(
            lambda t=turn: not panel.composer.busy and len(panel.view.message_ids()) == 2 * (t + 1),
            20,
        )
    bar = panel.view.verticalScrollBar()
    await until(lambda: bar.maximum() > 0, 5)
    bar.setValue(0)  # the user scrolls up to read
    await until(lambda: not panel.view.is_sticking_to_bottom(), 5)
    panel.composer.set_text("one more")
    panel.composer.on_send_clicked()
    await until(lambda: not panel.composer.busy and len(panel.view.message_ids()) == 8, 20)
    await until(lambda: bar.value() == bar.maximum(), 5)
    assert panel.view.is_sticking_to_bottom()


async def test_editing_shows_a_bar_with_cancel_and_it_goes_once_sent(
    qtbot, ctx: AppContext
) -> None:  # type: ignore[no-untyped-def]
    """Issue 17, point 7: the edit is visible, can be cancelled, and ends when sent."""
    panel = await _panel(qtbot, ctx, "gpt-test?tokens=20")
    panel.composer.set_text("first question")
    panel.composer.on_send_clicked()
    await until(lambda: not panel.composer.busy and len(panel.view.message_ids()) == 2, 20)
    question = panel.view.message_ids()[0]
    panel.on_view_edit_requested(question)
    assert panel.edit_bar.isVisible() and "first question" in panel.edit_bar.label.text()
    qtbot.mouseClick(panel.edit_bar.cancel_button, Qt.MouseButton.LeftButton)
    assert not panel.edit_bar.isVisible() and panel.composer.text() == ""
    panel.on_view_edit_requested(question)
    panel.stop()  # Esc with no answer running gives the edit up too
    assert not panel.edit_bar.isVisible() and panel.edit_bar.message_id is None
    panel.on_view_edit_requested(question)
    panel.composer.set_text("first question, better")
    panel.composer.on_send_clicked()
    assert not panel.edit_bar.isVisible()
    await until(lambda: not panel.composer.busy, 20)
    assert panel.session.conversation_id is not None
    branch = ctx.store.active_branch(panel.session.conversation_id)
    assert branch[0].text == "first question, better"
