"""Moderation in the chat panel: checked prompts and answers, the warning, "not checked"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox, QPushButton

from app.core import moderation
from app.core.context import AppContext
from app.paths import AppPaths
from app.ui.chat.messages import DisplayMessage, Role
from app.ui.panels.chat import ChatPanel
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.openai_server import OpenAIServer
from tests.helpers.waiting import until


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path))
    context.registry.add(local_provider(openai_server))
    context.settings.update(default_provider="local", default_model="gpt-test?tokens=5")
    yield context
    await context.close()


async def _panel(qtbot, ctx: AppContext) -> tuple[ChatPanel, list[str]]:  # type: ignore[no-untyped-def]
    panel = ChatPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    statuses: list[str] = []
    panel.status_changed.connect(statuses.append)
    return panel, statuses


def _verdict(ctx: AppContext, message_id: int) -> moderation.Verdict | None:
    return moderation.verdict_in(ctx.store.get_message(message_id))


def _warning(panel: ChatPanel) -> QMessageBox | None:
    box = panel.findChild(QMessageBox, "moderationWarning")
    return box if box is not None and box.isVisible() else None


async def test_off_by_default_sends_without_a_check(  # type: ignore[no-untyped-def]
    qtbot, ctx: AppContext, openai_server: OpenAIServer
) -> None:
    panel, _ = await _panel(qtbot, ctx)
    panel.composer.set_text("kill the process")
    panel.composer.on_send_clicked()
    await until(lambda: len(panel.view.message_ids()) == 2 and not panel.composer.busy)
    assert not [r for r in openai_server.requests if r.path.endswith("/moderations")]
    assert _verdict(ctx, panel.view.message_ids()[0]) is None


async def test_prompt_and_answer_checks_are_kept_on_the_messages(  # type: ignore[no-untyped-def]
    qtbot, ctx: AppContext
) -> None:
    ctx.settings.update(moderation=True, moderation_answers=True, moderation_warn=False)
    panel, statuses = await _panel(qtbot, ctx)
    panel.composer.set_text("I hate mondays")
    panel.composer.on_send_clicked()
    await until(lambda: len(panel.view.message_ids()) == 2 and not panel.composer.busy)
    user_id, answer_id = panel.view.message_ids()
    await until(lambda: _verdict(ctx, user_id) is not None and _verdict(ctx, answer_id) is not None)
    prompt = _verdict(ctx, user_id)
    assert prompt is not None and prompt.flagged and dict(prompt.categories)["hate"] == 0.91
    answer = _verdict(ctx, answer_id)
    assert answer is not None and answer.status in ("ok", "flagged")
    await until(lambda: any(s.startswith("Prompt: Flagged by moderation: ") for s in statuses))
    # The verdict shows on the message itself, with its categories and scores.
    await until(
        lambda: "hate 0.91" in (panel.view.message(user_id) or DisplayMessage(0, Role.USER)).note
    )
    assert panel.view.message(user_id).note.startswith("⚑ Flagged")  # type: ignore[union-attr]
    ledger = await ctx.store.usage_entries()
    assert sorted(r["endpoint"] for r in ledger).count("moderations") == 2


async def test_flagged_prompt_waits_for_the_user(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    ctx.settings.update(moderation=True)
    panel, statuses = await _panel(qtbot, ctx)
    panel.composer.set_text("how to build a bomb")
    panel.composer.on_send_clicked()
    await until(lambda: _warning(panel) is not None)
    box = _warning(panel)
    assert box is not None and "violence 0.91" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    await until(lambda: not panel.composer.busy)
    assert panel.view.message_ids() == []
    assert panel.composer.text() == "how to build a bomb"
    assert any(s.startswith("Not sent. Flagged") for s in statuses)

    # Sent anyway: the verdict stays on the message.
    panel.composer.on_send_clicked()
    await until(lambda: _warning(panel) is not None)
    box = _warning(panel)
    assert box is not None
    send = box.findChild(QPushButton, "moderationSendAnyway")
    assert send is not None
    send.click()
    await until(lambda: len(panel.view.message_ids()) == 2 and not panel.composer.busy)
    user_id = panel.view.message_ids()[0]
    await until(lambda: _verdict(ctx, user_id) is not None)
    verdict = _verdict(ctx, user_id)
    assert verdict is not None and verdict.flagged


async def test_a_failing_check_never_blocks_sending(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    ctx.settings.update(moderation=True, moderation_model="omni?fault=400")
    panel, statuses = await _panel(qtbot, ctx)
    panel.composer.set_text("kill it")
    panel.composer.on_send_clicked()
    await until(lambda: len(panel.view.message_ids()) == 2 and not panel.composer.busy)
    user_id = panel.view.message_ids()[0]
    await until(lambda: _verdict(ctx, user_id) is not None)
    verdict = _verdict(ctx, user_id)
    assert verdict is not None and verdict.status == "not_checked"
    assert _warning(panel) is None
    await until(lambda: any("not checked" in s for s in statuses))
