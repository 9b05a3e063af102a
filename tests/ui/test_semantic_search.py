"""Search by meaning from the window: the sidebar toggle, the dialog's job, the fallbacks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox

from app.core.context import AppContext
from app.paths import AppPaths
from app.store import embeddings as queries
from app.ui.dialogs.semantic import SemanticSearchDialog
from app.ui.main_window import MainWindow
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.openai_server import OpenAIServer
from tests.helpers.waiting import until


@pytest.fixture
async def ctx(data_dir: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(data_dir))
    context.registry.add(local_provider(openai_server, prices={"emb": {"input_per_m": 0.02}}))
    conv = await context.store.create_conversation("Eggs")
    await context.store.add_message(conv.id, "user", "How long do I boil an egg?")
    await context.store.add_message(conv.id, "assistant", "About nine minutes for hard.")
    other = await context.store.create_conversation("Trains")
    await context.store.add_message(other.id, "user", "When does the last train leave?")
    yield context
    await context.close()


async def _window(qtbot, ctx: AppContext) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    return window


def _titles(window: MainWindow) -> list[str]:
    model = window.sidebar.results_model
    return [model.item(row).text().split("\n", 1)[0] for row in range(model.rowCount())]


async def test_dialog_embeds_history_then_sidebar_finds_by_meaning(  # type: ignore[no-untyped-def]
    qtbot, ctx: AppContext, openai_server: OpenAIServer
) -> None:
    window = await _window(qtbot, ctx)
    toggle = window.findChild(QCheckBox, "meaningToggle")
    assert toggle is not None and toggle.accessibleName() == "Search by meaning"
    assert not toggle.isChecked()
    menu_texts = [a.text() for menu in window.menuBar().actions() for a in menu.menu().actions()]
    assert "Semantic search and moderation…" in menu_texts

    window.open_semantic_search()
    dialog = window.findChild(SemanticSearchDialog, "semanticSearchDialog")
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    dialog.provider_box.setCurrentIndex(dialog.provider_box.findData("local"))
    dialog.model_edit.setText("emb")
    dialog.model_edit.editingFinished.emit()
    await until(lambda: "3 messages to embed" in dialog.estimate_label.text())
    assert "$" in dialog.estimate_label.text()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    await until(lambda: dialog.status_label.text().startswith("Done: 3 messages"))
    await until(lambda: dialog.start_button.isEnabled())
    assert not dialog.stop_button.isEnabled()
    assert dialog.progress.value() == dialog.progress.maximum() == 3
    await until(lambda: "Every message is embedded" in dialog.estimate_label.text())
    assert ctx.settings.get().embeddings_model == "emb"

    # Another model: everything is pending again; the first model's vectors can be forgotten.
    dialog.model_edit.setText("emb?dims=8")
    dialog.model_edit.editingFinished.emit()
    await until(lambda: "3 messages to embed" in dialog.estimate_label.text())
    await until(lambda: not dialog.forget_button.isHidden())
    dialog.forget_button.click()
    await until(lambda: dialog.status_label.text() == "Forgot 3 vectors of other models.")
    await until(lambda: dialog.forget_button.isHidden())
    assert ctx.store.read_now(queries.stored_models) == {}
    dialog.model_edit.setText("emb")
    dialog.model_edit.editingFinished.emit()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    await until(lambda: dialog.status_label.text().startswith("Done: 3 messages"))

    # The server's vectors are hashes of the exact text: that text is the nearest message.
    toggle.setChecked(True)
    assert ctx.settings.get().semantic_search
    window.sidebar.search.setText("When does the last train leave?")
    window.sidebar.on_search_timer_fired()
    await until(lambda: "by words and meaning" in window.sidebar.status_label.text())
    titles = _titles(window)
    assert titles[0] == "Trains" and "Eggs" in titles  # meaning finds beyond the words
    embedding_calls = [r for r in openai_server.requests if r.path.endswith("/embeddings")]
    assert embedding_calls[-1].json["input"] == ["When does the last train leave?"]

    # Off again: words only.
    toggle.setChecked(False)
    await until(lambda: "by words" not in window.sidebar.status_label.text())
    assert _titles(window) == ["Trains"]
    await window.shutdown()


async def test_no_model_or_offline_falls_back_to_full_text(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    ctx.settings.update(semantic_search=True)
    window = await _window(qtbot, ctx)
    assert window.sidebar.meaning_toggle.isChecked()
    window.sidebar.search.setText("egg")
    window.sidebar.on_search_timer_fired()
    await until(lambda: "Choose an embeddings model" in window.sidebar.status_label.text())
    assert "full-text" in window.sidebar.status_label.text()
    assert set(_titles(window)) == {"Eggs"}

    # Embedded earlier, now the provider is unreachable.
    ctx.settings.update(embeddings_provider="local", embeddings_model="emb")
    await window.semantic.embed_pending(pace_s=0)
    base = ctx.registry.get("local")
    assert base is not None
    ctx.registry.replace(base.model_copy(update={"base_url": "http://127.0.0.1:9/v1"}))
    window.sidebar.on_search_timer_fired()
    await until(lambda: "Offline" in window.sidebar.status_label.text(), seconds=30)
    assert set(_titles(window)) == {"Eggs"}
    await window.shutdown()


async def test_moderation_choices_are_saved(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    window = await _window(qtbot, ctx)
    window.open_semantic_search()
    dialog = window.findChild(SemanticSearchDialog, "semanticSearchDialog")
    assert dialog is not None
    assert not dialog.moderation_box.isChecked() and dialog.moderation_warn_box.isChecked()
    dialog.moderation_box.setChecked(True)
    dialog.moderation_answers_box.setChecked(True)
    dialog.moderation_provider_box.setCurrentIndex(dialog.moderation_provider_box.findData("local"))
    dialog.moderation_model_edit.setText("omni-moderation-latest")
    dialog.moderation_model_edit.editingFinished.emit()
    s = ctx.settings.get()
    assert (s.moderation, s.moderation_answers, s.moderation_warn) == (True, True, True)
    assert (s.moderation_provider, s.moderation_model) == ("local", "omni-moderation-latest")
    # The dialog's switch and the sidebar's toggle are the same setting.
    dialog.enabled_box.setChecked(True)
    assert window.sidebar.meaning_toggle.isChecked() and ctx.settings.get().semantic_search
    # Reopening raises the same dialog.
    window.open_semantic_search()
    assert len(window.findChildren(SemanticSearchDialog)) == 1
    await window.shutdown()


async def test_new_chat_messages_are_embedded_after_the_answer(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    ctx.settings.update(
        semantic_search=True,
        embeddings_provider="local",
        embeddings_model="emb",
        default_provider="local",
        default_model="gpt-test?tokens=5",
    )
    window = await _window(qtbot, ctx)
    await window.semantic.embed_pending(pace_s=0)
    window.chat.composer.set_text("Where is the station?")
    window.chat.composer.on_send_clicked()
    await until(lambda: len(window.chat.view.message_ids()) == 2 and not window.chat.composer.busy)
    # The user's message and the answer: embedded by themselves, no Start needed.
    await until(lambda: ctx.store.read_now(queries.stored_models).get("local/emb") == 5)
    assert (await window.semantic.estimate()).messages == 0
    await window.shutdown()
