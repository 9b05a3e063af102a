"""The main window opens with its panels, all findable by objectName; others build lazily."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from PySide6.QtGui import QStandardItem
from PySide6.QtWidgets import QTabWidget

from app.paths import AppPaths
from app.ui.main_window import LAZY_PANELS, PANEL_TITLES, MainWindow
from app.ui.sidebar import CONVERSATION_ID
from tests.helpers.app_context import local_provider, open_context


async def test_window_has_every_panel(qtbot, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    ctx = await open_context(AppPaths.from_root(data_dir))
    try:
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        tabs = window.findChild(QTabWidget, "panelTabs")
        assert tabs is not None
        assert tuple(tabs.tabText(i) for i in range(tabs.count())) == PANEL_TITLES
        for name in (
            "chatPanel",
            "composerInput",
            "sendButton",
            "messageList",
            "sidebarSearch",
            "newChatButton",
        ):
            assert window.findChild(object, name) is not None, name
        # Other panels are built when their tab is first shown.
        for index, (key, _title) in enumerate(LAZY_PANELS, start=1):
            tabs.setCurrentIndex(index)
            assert key in window._panels
            assert window._panels[key].isVisible()
        await window.shutdown()
    finally:
        await ctx.close()


def test_start_up_imports_no_other_panel_and_not_the_engine() -> None:
    """What the window needs to paint is all start-up imports: other panels, dialogs, the
    engine (pydantic, the HTTP client), Markdown and the audio stack load later."""
    import subprocess

    code = (
        "import sys\n"
        "import app.ui.application\n"
        "heavy = [m for m in sys.modules if m.startswith(('app.ui.panels.compare', 'app.ui.panels.images', "
        "'app.ui.panels.usage', 'app.ui.panels.speech', 'app.ui.panels.transcribe', 'PySide6.QtCharts', "
        "'app.ui.dialogs.providers', 'app.ui.dialogs.settings', 'app.ui.dialogs.welcome', "
        "'pydantic', 'httpx', 'markdown', 'pygments', 'keyring', 'sounddevice', 'soundfile', 'numpy', "
        "'app.api.types', 'app.api.profiles', 'app.api.client', 'app.core.models_cache', "
        "'app.store.exporting', 'app.store.importing', 'app.core.semantic', 'app.ui.params', "
        "'app.ui.chat.message_view'))]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


async def test_ask_another_model_compares_the_last_answer(
    qtbot, data_dir: Path, openai_server
) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers.waiting import until

    ctx = await open_context(AppPaths.from_root(data_dir))
    try:
        ctx.registry.add(local_provider(openai_server))
        ctx.settings.update(default_provider="local", default_model="first-model")
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        window.chat.another_button.click()  # nothing to compare yet: says so
        assert not window.chat.picker_popup.isVisible()
        window.chat.composer.set_text("Which is better?")
        window.chat.composer.on_send_clicked()
        await until(
            lambda: not window.chat.composer.busy and len(window.chat.view.message_ids()) == 2
        )
        answer_id = int(window.chat.view.message_ids()[1])
        window.chat.another_button.click()
        assert window.chat.picker_popup.isVisible()
        window.chat.picker.model_chosen.emit("local", "second-model")
        assert window.tabs.currentWidget() is window._holders["compare"]
        await until(
            lambda: (
                len(ctx.store.siblings(answer_id)) == 2
                and ctx.store.siblings(answer_id)[1].status.value == "complete"
            ),
            20,
        )
        assert ctx.store.siblings(answer_id)[1].model == "second-model"
        await window.shutdown()
    finally:
        await ctx.close()


async def test_a_deleted_last_conversation_just_starts_a_new_chat(qtbot, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    ctx = await open_context(AppPaths.from_root(data_dir))
    try:
        conversation = await ctx.store.create_conversation("gone soon")
        first = MainWindow(ctx)
        qtbot.addWidget(first)
        first.chat.open_conversation(conversation.id)
        first.close()  # remembers it as the last conversation
        await first.shutdown()
        await ctx.store.delete_conversation(conversation.id)
        second = MainWindow(ctx)
        qtbot.addWidget(second)
        assert second.chat.session.conversation_id is None
        await second.shutdown()
    finally:
        await ctx.close()


async def test_providers_are_read_after_the_first_paint(qtbot, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """As the app starts: the window is built before the profiles are read, then
    ``finish_start`` loads the engine on a worker thread and shows the providers."""
    from app.api import ProviderProfile
    from app.core.context import AppContext
    from app.core.keys import KeyStore
    from app.core.providers import ProviderRegistry
    from app.settings import SettingsStore
    from tests.helpers.memory_keyring import MemoryKeyring

    paths = AppPaths.from_root(data_dir).ensure()
    ProviderRegistry(paths.providers_file, []).add(
        ProviderProfile(id="lan", name="LAN server", base_url="http://127.0.0.1:9/v1")
    )
    SettingsStore.load(paths.settings_file).update(default_provider="lan", default_model="m1")
    ctx = await AppContext.open(paths, keys=KeyStore(backend=MemoryKeyring(), environ={}))
    try:
        assert not ctx.registry.loaded
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        assert not ctx.registry.loaded  # nothing read it while building the window
        assert window.chat.target_label.text() == ""
        await window.finish_start()
        assert window.engine_ready.is_set() and ctx.registry.loaded
        assert window.chat.target_label.text() == "LAN server / <b>m1</b>"
        assert "LAN server" in window.provider_label.text()
        await window.shutdown()
    finally:
        await ctx.close()


async def test_the_sidebar_lists_a_page_and_more_on_scrolling(qtbot, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from app.ui.main_window import SIDEBAR_PAGE

    ctx = await open_context(AppPaths.from_root(data_dir))
    try:
        for n in range(SIDEBAR_PAGE + 30):
            await ctx.store.create_conversation(f"Chat {n}")
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.resize(1000, 600)
        window.show()

        def listed() -> int:
            return sum(
                1
                for row in range(window.sidebar.model.rowCount())
                if window.sidebar.model.item(row).data(CONVERSATION_ID) is not None
            )

        assert len(window.sidebar._conversations) == SIDEBAR_PAGE
        bar = window.sidebar.tree.verticalScrollBar()
        bar.setValue(bar.maximum())
        assert len(window.sidebar._conversations) == SIDEBAR_PAGE + 30
        assert listed() == SIDEBAR_PAGE + 30
        await window.shutdown()
    finally:
        await ctx.close()


async def test_model_list_calls_from_the_providers_dialog_reach_the_ledger(
    qtbot, data_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    from app.api import ModelList
    from app.api.errors import AuthenticationError

    ctx = await open_context(AppPaths.from_root(data_dir))
    try:
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.on_model_list_called("p1", ModelList(), None)
        window.on_model_list_called("p2", None, AuthenticationError("bad key", status=401))
        for _ in range(100):  # the two ledger writes are tasks: wait for both
            rows = await ctx.store.usage_entries()
            if len(rows) == 2:
                break
            await asyncio.sleep(0.02)
        assert sorted(str(r["provider"]) for r in rows) == ["p1", "p2"]
        assert {str(r["endpoint"]) for r in rows} == {"models"}
        await window.shutdown()
    finally:
        await ctx.close()


async def test_a_search_hit_opens_its_conversation_at_the_match(qtbot, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Far up a long chat (older pages) and on a branch not shown: the hit is brought into
    view and made current; its snippet reads as words, not Markdown."""
    from tests.helpers.waiting import until

    ctx = await open_context(AppPaths.from_root(data_dir))
    try:
        chat = await ctx.store.create_conversation("Long one")
        first = await ctx.store.add_message(chat.id, "user", "Tell me about **zebrafish** fins")
        await ctx.store.add_message(chat.id, "assistant", "Fins are nice.")
        for n in range(240):  # more than a page of the view
            await ctx.store.add_message(chat.id, "user" if n % 2 else "assistant", f"filler {n}")
        leaf = (await ctx.store.add_message(chat.id, "assistant", "the end")).id
        hidden = await ctx.store.add_message(
            chat.id, "assistant", "An [axolotl](https://x.test) instead", parent_id=first.id
        )
        await ctx.store.set_current_leaf(chat.id, leaf)
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.resize(1100, 700)
        window.show()
        view = window.chat.view
        results = window.sidebar.results_model
        for word, wanted in (("zebrafish", first.id), ("axolotl", hidden.id)):
            window.sidebar.search.setText(word)
            await until(lambda word=word: word in (results.item(0) or QStandardItem()).text())  # type: ignore[misc]
            assert "**" not in results.item(0).text() and "](" not in results.item(0).text()
            window.sidebar.on_result_clicked(results.index(0, 0))
            await until(lambda wanted=wanted: view.current_id == wanted)  # type: ignore[misc]
            await until(lambda wanted=wanted: view.is_on_screen(wanted))  # type: ignore[misc]
        await window.shutdown()
    finally:
        await ctx.close()
