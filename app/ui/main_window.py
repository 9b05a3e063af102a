"""The main window: history sidebar, the panels, the status bar, and the shortcuts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSplitter,
    QStatusBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME, log
from app.core.chat import Target
from app.core.context import AppContext, preload_engine
from app.settings import Settings
from app.store import StoreError
from app.ui.appearance import apply_appearance
from app.ui.dialogs.common import named
from app.ui.errors import failure_text
from app.ui.panels.chat import ChatPanel
from app.ui.settings_notifier import SettingsNotifier
from app.ui.sidebar import HistorySidebar
from app.ui.tasks import TaskOwner
from app.ui.transfer import Transfer
from app.ui.widgets.rate_limit import RateLimitIndicator

if TYPE_CHECKING:  # search by meaning and the dialogs are imported when first used
    from app.core.semantic import SemanticSearch
    from app.ui.dialogs.providers import ProvidersDialog
    from app.ui.dialogs.settings import SettingsDialog

_log = log.get("ui.window")

LAZY_PANELS = (
    ("compare", "Compare"),
    ("images", "Images"),
    ("speech", "Speech"),
    ("transcribe", "Transcribe"),
    ("usage", "Usage"),
)
PANEL_TITLES = ("Chat", *(title for _, title in LAZY_PANELS))
SEARCH_LIMIT = 50
SIDEBAR_PAGE = 100  # conversations listed at start; scrolling down lists more, a page at a time


class MainWindow(QMainWindow):
    """Top-level window. Panels get the services (``AppContext``), never the window."""

    closed = Signal()

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.tasks = TaskOwner(self.on_task_failed)
        self._shut_down = False
        self.ui_state = QSettings(
            str(ctx.paths.config / "window-state.ini"), QSettings.Format.IniFormat
        )
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_NAME)
        self.setMinimumSize(760, 480)

        self.sidebar = HistorySidebar()
        self._sidebar_limit = SIDEBAR_PAGE
        self.sidebar.meaning_toggle.setChecked(ctx.settings.get().semantic_search)
        self._semantic: SemanticSearch | None = None  # made on first use
        self.chat = ChatPanel(ctx)
        self.tabs = named(QTabWidget(), "panelTabs", "Panels")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.chat, "Chat")
        self._holders: dict[str, QWidget] = {}
        self._panels: dict[str, QWidget] = {}
        self._add_other_panels()

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

        status = QStatusBar()
        status.setObjectName("statusBar")
        self.provider_label = named(QLabel(), "providerLabel", "Provider status")
        status.addPermanentWidget(RateLimitIndicator(ctx))
        status.addPermanentWidget(self.provider_label)
        self.setStatusBar(status)

        self.providers_dialog: ProvidersDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.transfer = Transfer(
            self, ctx.store, self.tasks, self.show_message, self.refresh_conversations
        )
        self._build_menus()
        self._build_shortcuts()
        self._connect_signals()
        self._restore_state()
        self.refresh_conversations()
        for problem in ctx.problems:
            self.show_message(problem, 15000)
        self.tasks.start("store-check", self._report_store_check())
        self.engine_ready = asyncio.Event()
        """Set once :meth:`finish_start` has loaded the engine and shown the providers."""
        if ctx.registry.loaded:
            self._show_providers()

    async def finish_start(self) -> None:
        """After the first paint: import the engine (pydantic, the wire types, the client)
        on a worker thread while the window stays responsive, then read the providers and
        show them. Anything used before then loads on demand, on the Qt thread."""
        # Not before the first paint: the worker would compete with it for the GIL.
        painted: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_painted() -> None:
            if not painted.done():
                painted.set_result(None)

        QTimer.singleShot(0, on_painted)
        await painted
        _ = self.chat.view  # the message list, if no conversation has made it yet
        await asyncio.to_thread(preload_engine)
        self.ctx.load_engine()
        self._show_providers()

    def _show_providers(self) -> None:
        self.chat.refresh_providers()
        self._update_provider_label()
        if self.ctx.registry.problem:
            self.show_message(self.ctx.registry.problem, 15000)
        self.engine_ready.set()

    @property
    def semantic(self) -> SemanticSearch:
        """Search by meaning: its model cache and vectors load on first use."""
        if self._semantic is None:
            from app.core.semantic import SemanticSearch

            ctx = self.ctx
            self._semantic = SemanticSearch(ctx.store, ctx.clients, ctx.settings, ctx.models)
        return self._semantic

    def _add_other_panels(self) -> None:
        """The other panels are built (and their modules imported) when first shown: start-up
        pays only for the chat panel. One line per panel in ``_build_panel``."""
        for key, title in LAZY_PANELS:
            holder = QWidget()
            holder.setObjectName(f"{key}PanelHolder")
            holder.setAccessibleName(f"{title} panel")
            layout = QVBoxLayout(holder)
            layout.setContentsMargins(0, 0, 0, 0)
            self.tabs.addTab(holder, title)
            self._holders[key] = holder

    def panel(self, key: str) -> QWidget:
        """The panel called ``key`` (``compare``, ``images``...), built on first use."""
        if key not in self._panels:
            panel = self._build_panel(key)
            if hasattr(panel, "status_changed"):
                panel.status_changed.connect(self.show_message)
            holder = self._holders[key]
            layout = holder.layout()
            assert layout is not None
            layout.addWidget(panel)
            panel.show()  # at once, not on the next event-loop turn
            self._panels[key] = panel
        return self._panels[key]

    def _build_panel(self, key: str) -> QWidget:
        # Imports here on purpose: QtCharts, the audio stack and friends load on first use.
        if key == "compare":
            from app.ui.panels.compare import ComparePanel

            compare = ComparePanel(self.ctx)
            compare.conversation_opened.connect(self.on_compare_conversation_opened)
            return compare
        if key == "images":
            from app.ui.panels.images import ImagesPanel

            return ImagesPanel(self.ctx)
        if key == "speech":
            from app.ui.panels.speech import SpeechPanel

            return SpeechPanel(self.ctx)
        if key == "transcribe":
            from app.ui.panels.transcribe import TranscribePanel

            return TranscribePanel(self.ctx)
        if key == "usage":
            from app.ui.panels.usage import UsagePanel

            return UsagePanel(self.ctx)
        raise KeyError(key)

    def show_panel(self, key: str) -> QWidget:
        panel = self.panel(key)
        self.tabs.setCurrentWidget(self._holders[key])
        return panel

    def on_tab_changed(self, index: int) -> None:
        for key, holder in self._holders.items():
            if self.tabs.widget(index) is holder:
                self.panel(key)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        bar.setObjectName("menuBar")
        file_menu = bar.addMenu("&File")
        file_menu.addAction("New chat", QKeySequence.StandardKey.New, self.on_new_chat_requested)
        file_menu.addSeparator()
        file_menu.addAction("Import history (ChatGPT or Palaver)…", self.transfer.ask_import)
        file_menu.addAction("Export all history…", self.transfer.ask_export_all)
        self.export_markdown_action = file_menu.addAction(
            "Export conversation as Markdown…", self.on_export_markdown_triggered
        )
        file_menu.addSeparator()
        file_menu.addAction("Quit", QKeySequence.StandardKey.Quit, self.close)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(
            "Copy last answer", QKeySequence("Ctrl+Shift+C"), self.chat.copy_last_answer
        )
        edit_menu.addAction("Search history", QKeySequence("Ctrl+K"), self.sidebar.focus_search)
        edit_menu.addSeparator()
        edit_menu.addAction(
            "Providers and keys…", QKeySequence("Ctrl+Shift+P"), self.open_providers
        )
        edit_menu.addAction("Settings…", QKeySequence("Ctrl+,"), self.open_settings)
        edit_menu.addAction("Semantic search and moderation…", self.open_semantic_search)

    def _build_shortcuts(self) -> None:
        def shortcut(
            keys: QKeySequence | QKeySequence.StandardKey | str,
            slot: Callable[[], object],
            name: str,
        ) -> None:
            sc = QShortcut(QKeySequence(keys), self)
            sc.setObjectName(name)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)

        # New chat, search, copy, providers and settings are menu actions with shortcuts.
        shortcut("Esc", self.chat.stop, "stopShortcut")
        shortcut("Ctrl+L", lambda: self.chat.composer.input.setFocus(), "focusComposerShortcut")

    def _connect_signals(self) -> None:
        self.tabs.currentChanged.connect(self.on_tab_changed)
        self.sidebar.new_chat_requested.connect(self.on_new_chat_requested)
        self.sidebar.conversation_selected.connect(self.on_conversation_selected)
        self.sidebar.hit_activated.connect(self.on_hit_activated)
        self.sidebar.search_changed.connect(self.on_search_changed)
        self.sidebar.meaning_toggled.connect(self.on_meaning_toggled)
        self.sidebar.item_activated.connect(self.on_search_item_activated)
        self.sidebar.pin_toggled.connect(self.on_pin_toggled)
        self.sidebar.archive_requested.connect(
            lambda cid: self._update_conversation(cid, archived=True)
        )
        self.sidebar.delete_requested.connect(self.on_delete_requested)
        self.sidebar.export_requested.connect(self.transfer.ask_export_markdown)
        self.sidebar.more_requested.connect(self.on_sidebar_more_requested)
        self.chat.conversation_changed.connect(self.on_chat_conversation_changed)
        self.chat.another_model_requested.connect(self.on_another_model_requested)
        self.chat.status_changed.connect(self.show_message)
        self.ctx.registry.subscribe(self.on_registry_changed)
        self.settings_notifier = SettingsNotifier(self.ctx.settings, self)
        self.settings_notifier.changed.connect(self.on_settings_changed)
        self.chat.providers_requested.connect(self.open_providers)
        self.chat.settings_requested.connect(self.open_settings)

    # --- state -------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self.ui_state.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 780)
        splitter = self.ui_state.value("splitter")
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.splitter.restoreState(splitter)
        else:
            self.splitter.setSizes([270, 930])
        last = self.ui_state.value("last_conversation")
        if last:
            try:
                self.chat.open_conversation(int(str(last)))
            except (ValueError, StoreError):  # deleted since, or unreadable: a new chat
                _log.info("last conversation %s not reopened", last)

    def _save_state(self) -> None:
        self.ui_state.setValue("geometry", self.saveGeometry())
        self.ui_state.setValue("splitter", self.splitter.saveState())
        if self.chat.session.conversation_id is not None:
            self.ui_state.setValue("last_conversation", self.chat.session.conversation_id)
        else:
            self.ui_state.remove("last_conversation")
        self.ui_state.sync()

    async def _report_store_check(self) -> None:
        """The integrity check may run in the background after start-up: say if it failed."""
        if await self.ctx.store.wait_checked() != "ok" and self.ctx.store.problem:
            self.show_message(self.ctx.store.problem, 0)

    def show_message(self, text: str, timeout_ms: int = 8000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def _update_provider_label(self) -> None:
        if not self.ctx.registry.loaded:
            return  # the profiles are read after the first paint (finish_start)
        target = self.chat.target()
        if not self.ctx.registry.all():
            self.provider_label.setText("No provider configured")
        elif target is None:
            self.provider_label.setText("No model chosen")
        else:
            profile = self.ctx.registry.get(target.provider_id)
            self.provider_label.setText(
                f"{profile.name if profile else target.provider_id} · {target.model}"
            )

    # --- dialogs (non-modal: they work beside the window, no nested event loop) ------------
    def open_providers(self) -> None:
        if self.providers_dialog is None:
            from app.ui.dialogs.providers import ProvidersDialog

            self.providers_dialog = ProvidersDialog(
                self.ctx.registry,
                self.ctx.keys,
                self,
                models_cache=self.ctx.models,
                settings=self.ctx.settings.get(),
                on_call=self.on_model_list_called,
            )
            self.providers_dialog.provider_saved.connect(lambda _id: self.chat.refresh_providers())
            self.providers_dialog.provider_removed.connect(
                lambda _id: self.chat.refresh_providers()
            )
        self.providers_dialog.show()
        self.providers_dialog.raise_()
        self.providers_dialog.activateWindow()

    def open_settings(self) -> None:
        if self.settings_dialog is None:
            from app.ui.dialogs.settings import SettingsDialog

            self.settings_dialog = SettingsDialog(
                self.ctx.settings, self.ctx.registry, self.ctx.models, self
            )
            self.settings_dialog.providers_requested.connect(self.open_providers)
            self.settings_dialog.setting_failed.connect(self.show_message)
        self.settings_dialog.show()
        self.settings_dialog.raise_()
        self.settings_dialog.activateWindow()

    def on_export_markdown_triggered(self) -> None:
        if self.chat.session.conversation_id is None:
            self.show_message("Open a conversation to export it.")
            return
        self.transfer.ask_export_markdown(self.chat.session.conversation_id)

    def on_registry_changed(self, *_: object) -> None:
        self._update_provider_label()

    def on_model_list_called(
        self, provider_id: str, listing: object, error: Exception | None
    ) -> None:
        """A connection test is an API call too: it goes in the usage ledger (no cost)."""
        from app.core.metered import record

        self.tasks.start(
            f"account-models-{provider_id}",
            record(
                self.ctx.store,
                self.ctx.clients,
                provider_id,
                "models",
                "",
                result=listing,
                error=error,
            ),
        )

    def on_settings_changed(self, settings: Settings, changed: frozenset[str]) -> None:
        if changed & {"theme", "font_size"}:
            apply_appearance(settings)
        if "semantic_search" in changed:
            self.sidebar.meaning_toggle.setChecked(settings.semantic_search)
        self._update_provider_label()

    # --- slots -------------------------------------------------------------------------------
    def refresh_conversations(self) -> None:
        conversations = self.ctx.store.list_conversations(limit=self._sidebar_limit)
        self.sidebar.set_conversations(
            conversations,
            self.chat.session.conversation_id,
            may_have_more=len(conversations) >= self._sidebar_limit,
        )

    def on_sidebar_more_requested(self) -> None:
        self._sidebar_limit += SIDEBAR_PAGE
        self.refresh_conversations()

    def on_new_chat_requested(self) -> None:
        self.tabs.setCurrentWidget(self.chat)
        self.chat.new_chat()
        self.sidebar.set_current(None)

    def on_conversation_selected(self, conversation_id: int) -> None:
        self.on_hit_activated(conversation_id, 0)

    def on_hit_activated(self, conversation_id: int, message_id: int) -> None:
        """Open a conversation; for a search hit in a message, at that message."""
        self.tabs.setCurrentWidget(self.chat)
        self.chat.open_conversation(conversation_id, at_message=message_id or None)
        self._update_provider_label()

    def on_another_model_requested(self, answer_id: int, provider_id: str, model: str) -> None:
        """The chat's last prompt answered by a second model, both side by side in Compare."""
        compare = self.show_panel("compare")
        compare.ask_another_model(answer_id, Target(provider_id, model))  # type: ignore[attr-defined]

    def on_compare_conversation_opened(self, conversation_id: int) -> None:
        self.refresh_conversations()
        self.on_conversation_selected(conversation_id)

    def on_chat_conversation_changed(self, conversation_id: int) -> None:
        # Coalesce: a finished answer and a new conversation arrive close together.
        QTimer.singleShot(0, self.refresh_conversations)
        if self.ctx.settings.get().semantic_search and not self.tasks.running("embed-new"):
            self.tasks.start("embed-new", self.semantic.embed_new())

    def on_search_item_activated(self, kind: str, item_id: int) -> None:
        """A search hit that is not a conversation: open it in its own panel."""
        if kind == "image":
            images = self.panel("images")
            if images.show_generation(item_id):  # type: ignore[attr-defined]
                self.show_panel("images")
        elif kind == "transcription":
            found = [t for t in self.ctx.store.list_transcriptions(limit=1000) if t.id == item_id]
            if found:
                self.show_panel("transcribe").show_transcription(found[0])  # type: ignore[attr-defined]

    def on_search_changed(self, query: str) -> None:
        async def search() -> None:
            try:
                hits = await self.ctx.store.search(query, limit=SEARCH_LIMIT)
            except ValueError as exc:  # a query FTS cannot parse
                self.sidebar.set_search_results([], f"Cannot search for that: {exc}")
                return
            if not self.sidebar.meaning_toggle.isChecked():
                self.sidebar.set_search_results(hits)
                return
            # Words first (instant), then merged with meaning once the query is embedded.
            self.sidebar.set_search_results(hits, "Searching by meaning…")
            from app.core.semantic import meaning_search, merge_hits

            nearest, note = await meaning_search(self.semantic, query, SEARCH_LIMIT)
            merged = merge_hits(hits, nearest, SEARCH_LIMIT)
            count = f"{len(merged)} result{'s' if len(merged) != 1 else ''}, by words and meaning"
            self.sidebar.set_search_results(merged, note or count)

        self.tasks.start("search", search())

    def on_meaning_toggled(self, checked: bool) -> None:
        if self.ctx.settings.get().semantic_search != checked:
            self.ctx.settings.update(semantic_search=checked)

    def open_semantic_search(self) -> None:
        from app.ui.dialogs.semantic import SemanticSearchDialog

        SemanticSearchDialog.show_for(self, self.ctx, self.semantic, self.tasks)

    def on_pin_toggled(self, conversation_id: int, pinned: bool) -> None:
        self._update_conversation(conversation_id, pinned=pinned)

    def on_delete_requested(self, conversation_id: int) -> None:
        async def delete() -> None:
            await self.ctx.store.delete_conversation(conversation_id)
            if self.chat.session.conversation_id == conversation_id:
                self.chat.new_chat()
            self.refresh_conversations()

        self.tasks.start(f"delete-{conversation_id}", delete())

    def _update_conversation(self, conversation_id: int, **changes: object) -> None:
        async def update() -> None:
            await self.ctx.store.update_conversation(conversation_id, **changes)
            self.refresh_conversations()

        self.tasks.start(f"update-{conversation_id}", update())

    def on_task_failed(self, error: BaseException) -> None:
        _log.error("window task failed", exc_info=error)
        self.show_message(failure_text(error))

    # --- shutdown ----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_state()
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()

    async def shutdown(self) -> None:
        """Ordered, once-only: stop the panels' work, then the window's own."""
        if self._shut_down:
            return
        self._shut_down = True
        for panel in (self.chat, *self._panels.values()):
            shutdown = getattr(panel, "shutdown", None)
            if shutdown is not None:  # panels with async work own a TaskOwner and close it here
                await shutdown()
        if self._semantic is not None:
            self._semantic.cancel()
        await self.tasks.wait_all()
        _log.info("window closed")
