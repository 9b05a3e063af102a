"""The prompt library in the chat, as a user meets it: "/" in the composer, the Prompts menu."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from app.core.context import AppContext
from app.core.prompts import AssistantSetup
from app.paths import AppPaths
from app.ui.panels.chat import ChatPanel
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.openai_server import OpenAIServer
from tests.helpers.waiting import until


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path))
    context.registry.add(local_provider(openai_server))
    context.settings.update(default_provider="local", default_model="gpt-test")
    await context.prompts.save_prompt("Summarise", "Summarise this in three bullets:")
    await context.prompts.save_assistant(
        "Pirate tutor",
        AssistantSetup("Answer like a pirate.", {"temperature": 0.3}, "local", "gpt-pirate"),
    )
    yield context
    await context.close()


async def _panel(qtbot, ctx: AppContext) -> ChatPanel:  # type: ignore[no-untyped-def]
    panel = ChatPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    await until(lambda: len(ctx.prompts.items) == 2)
    return panel


async def test_slash_filters_and_enter_inserts_a_prompt(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    menu = panel.composer.prompt_menu
    qtbot.keyClicks(panel.composer.input, "/")
    assert menu.isVisible() and menu.count() == 2  # both, assistants first
    assert menu.accessibleName() and menu.objectName() == "promptMenu"
    qtbot.keyClicks(panel.composer.input, "sum")
    assert menu.count() == 1 and "Summarise" in menu.item(0).text()
    qtbot.keyClick(panel.composer.input, Qt.Key.Key_Return)
    assert not menu.isVisible()
    assert panel.composer.text() == "Summarise this in three bullets:"
    assert panel.view.message_ids() == []  # Enter picked the prompt; nothing was sent


async def test_an_assistant_sets_instructions_and_model_then_answers(
    qtbot,  # type: ignore[no-untyped-def]
    ctx: AppContext,
    openai_server: OpenAIServer,
) -> None:
    panel = await _panel(qtbot, ctx)
    qtbot.keyClicks(panel.composer.input, "/pirate")
    qtbot.keyClick(panel.composer.input, Qt.Key.Key_Return)
    assert panel.composer.text() == ""
    target = panel.target()
    assert target is not None and target.model == "gpt-pirate"
    qtbot.keyClicks(panel.composer.input, "Hello")
    qtbot.keyClick(panel.composer.input, Qt.Key.Key_Return)
    await until(lambda: not panel.composer.busy and len(panel.view.message_ids()) == 2)
    sent = [r.json for r in openai_server.requests if r.path.endswith("/chat/completions")][-1]
    assert sent["model"] == "gpt-pirate" and sent["temperature"] == 0.3
    assert sent["messages"][0] == {"role": "system", "content": "Answer like a pirate."}
    conversation = ctx.store.get_conversation(panel.session.conversation_id)  # type: ignore[arg-type]
    assert conversation.system_prompt == "Answer like a pirate."


async def test_esc_closes_the_menu_and_keeps_the_text(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    qtbot.keyClicks(panel.composer.input, "/zzz")
    menu = panel.composer.prompt_menu
    assert menu.isVisible() and "No saved prompt matches" in menu.item(0).text()
    qtbot.keyClick(panel.composer.input, Qt.Key.Key_Escape)
    assert not menu.isVisible() and panel.composer.text() == "/zzz"


async def test_save_message_as_prompt_from_the_menu(
    qtbot,  # type: ignore[no-untyped-def]
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    panel = await _panel(qtbot, ctx)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Fix grammar", True))
    panel.composer.set_text("Fix the grammar, keep my tone:")
    panel.prompts.on_menu_about_to_show()
    save = next(a for a in panel.prompts.menu.actions() if a.text().startswith("Save message"))
    assert save.isEnabled()
    save.trigger()
    await until(lambda: len(ctx.prompts.items) == 3)
    assert await ctx.prompts.load() == ctx.prompts.items  # in the database
    panel.composer.set_text("")
    qtbot.keyClicks(panel.composer.input, "/fix")
    assert "Fix grammar" in panel.composer.prompt_menu.item(0).text()
