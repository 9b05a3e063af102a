"""The providers dialog: add (preset or custom URL), edit, test, remove; keys to the keyring.

Open it with ``ProvidersDialog(registry, keys, parent).show()`` (or ``open()``): it is
non-modal-friendly and never runs a nested event loop inside a coroutine. Every slow step
(keyring calls, the test connection) is an owned task of :attr:`ProvidersDialog.tasks`,
cancelled when the dialog closes, except key saves, which are allowed to finish.

Edits are committed with **Save**, or automatically when another provider is selected or
the dialog is closed (if the form is valid).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app import log
from app.api import ModelPrice, ProviderProfile
from app.core.connection import (
    ClientFactory,
    check_with_saved_key,
    client_factory_for,
    default_presets,
)
from app.core.keys import KeySource, KeyStore, KeyStoreError
from app.core.models_cache import ModelsCache, price_from_listing
from app.core.providers import ProviderRegistry
from app.settings import Settings
from app.ui.dialogs.common import named, note, object_named, set_tone
from app.ui.dialogs.provider_editor import EditorError
from app.ui.dialogs.provider_keys import KEY_HOME, describe_key, saved_message, visible_key
from app.ui.dialogs.provider_pane import NEW_ID, EditorPane, add_menu
from app.ui.errors import failure_text
from app.ui.tasks import TaskOwner

_log = log.get("ui.providers")


class ProvidersDialog(QDialog):
    """Manage provider profiles and their keys."""

    provider_saved = Signal(str)
    provider_removed = Signal(str)
    key_saved = Signal(str, str)  # provider id, where it went ("keyring" / "memory")
    connection_tested = Signal(str, bool, str)  # provider id, success, headline
    keyring_checked = Signal(bool)  # whether a real keyring backend is active

    def __init__(
        self,
        registry: ProviderRegistry,
        keys: KeyStore,
        parent: QWidget | None = None,
        *,
        presets: Sequence[ProviderProfile] | None = None,
        models_cache: ModelsCache | None = None,
        settings: Settings | None = None,
        client_factory: ClientFactory | None = None,
        on_call: Callable[[str, Any, Exception | None], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.registry = registry
        self.keys = keys
        self.models_cache = models_cache
        self.presets = list(presets) if presets is not None else default_presets()
        self.make_client = client_factory or client_factory_for(settings)
        # Told of every model-list call (provider id, listing, error) for the usage ledger.
        self.on_call = on_call
        self.tasks = TaskOwner(on_error=self.on_task_failed)
        self.key_tasks = TaskOwner(on_error=self.on_task_failed)
        self._current_id: str | None = None
        self._pending_new: ProviderProfile | None = None
        self._dirty = False
        self._listed_prices: dict[str, ModelPrice] = {}
        self._selecting = False
        self._committing = False
        self._reshown = False

        named(self, "providersDialog", "Providers")
        self.setWindowTitle("Providers and keys")
        self.resize(940, 640)
        self.setMinimumSize(760, 520)
        self._build()
        self._connect_signals()
        self._refresh_list()
        self._select_first()
        self._unsubscribe_registry: Callable[[], None] | None = registry.subscribe(
            self._on_registry_changed
        )
        self.tasks.start("keyring-status", self._check_keyring())

    # -- building ------------------------------------------------------------------

    def _build(self) -> None:
        self.keyring_banner = note("Checking the system keyring…", "keyringBanner")
        self.keyring_banner.setAccessibleName("Keyring status")
        self.keyring_banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.keyring_banner.setMargin(6)

        left = object_named(QWidget(), "providerListPane")
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.provider_list = named(QListWidget(), "providerList", "Your providers")
        self.provider_list.setMinimumWidth(200)
        left_layout.addWidget(self.provider_list, 1)
        self.add_button = named(QPushButton("Add provider"), "addProviderButton", "Add provider")
        self.add_menu = add_menu(self, self.presets)
        self.add_button.setMenu(self.add_menu)
        self.remove_button = named(QPushButton("Remove"), "removeProviderButton", "Remove provider")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button, 1)
        buttons.addWidget(self.remove_button)
        left_layout.addLayout(buttons)

        pane = EditorPane()
        self.editor, self.pages, self.confirm_bar = pane.editor, pane.pages, pane.confirm_bar
        self.empty_page, self.empty_label = pane.empty_page, pane.empty_label
        self.empty_add_button, self.confirm_label = pane.empty_add_button, pane.confirm_label
        self.confirm_remove_button = pane.confirm_remove_button
        self.cancel_remove_button = pane.cancel_remove_button

        self.status_label = note("", "providersStatusLabel")
        self.status_label.setAccessibleName("Status")
        self.save_button = named(QPushButton("Save"), "saveProviderButton", "Save provider")
        self.save_button.setDefault(True)
        self.revert_button = named(
            QPushButton("Revert"), "revertProviderButton", "Undo unsaved changes"
        )
        self.close_buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        named(self.close_buttons, "providersCloseButtons", "Close")
        close = self.close_buttons.button(QDialogButtonBox.StandardButton.Close)
        named(close, "providersCloseButton", "Close the providers dialog")

        splitter = object_named(QSplitter(Qt.Orientation.Horizontal), "providersSplitter")
        splitter.addWidget(left)
        splitter.addWidget(pane)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([230, 700])
        splitter.setChildrenCollapsible(False)

        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.revert_button)
        bottom.addWidget(self.save_button)
        bottom.addWidget(self.close_buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(self.keyring_banner)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)

    def _connect_signals(self) -> None:
        self.add_menu.triggered.connect(self.on_add_menu_triggered)
        self.empty_add_button.clicked.connect(self.on_empty_add_clicked)
        self.provider_list.currentItemChanged.connect(self.on_provider_list_current_changed)
        self.remove_button.clicked.connect(self.on_remove_clicked)
        self.confirm_remove_button.clicked.connect(self.on_confirm_remove_clicked)
        self.cancel_remove_button.clicked.connect(self.on_cancel_remove_clicked)
        self.save_button.clicked.connect(self.on_save_clicked)
        self.revert_button.clicked.connect(self.on_revert_clicked)
        self.close_buttons.rejected.connect(self.reject)
        self.editor.edited.connect(self.on_editor_edited)
        self.editor.test_button.clicked.connect(self.on_test_clicked)
        self.editor.copy_prices_button.clicked.connect(self.on_copy_prices_clicked)

    # -- public helpers (also used by the welcome panel and tests) ---------------------

    def add_preset(self, preset_id: str) -> ProviderProfile | None:
        """Add a copy of the preset ``preset_id`` and select it; None if unknown."""
        preset = next((p for p in self.presets if p.id == preset_id), None)
        if preset is None:
            return None
        if not self._commit_if_dirty():
            return None
        with self._own_change():
            profile = self.registry.add_preset(preset)
        self._refresh_list()
        self._select(profile.id)
        self.provider_saved.emit(profile.id)
        if profile.needs_base_url:
            self._show_status(
                f"Added {profile.name}. Its documentation names no host: enter the base URL "
                "your provider gave you, check it with Test connection, then Save.",
                "warning",
            )
            self.editor.base_url_edit.setFocus()
            self.editor.base_url_edit.selectAll()
        else:
            self._show_status(
                f"Added {profile.name}. Enter its key if it needs one, then Save.", "ok"
            )
            if profile.key_required:
                self.editor.key_edit.setFocus()
        return profile

    def start_custom(self) -> None:
        """Show an empty form for a custom OpenAI-compatible server (saved on Save)."""
        if not self._commit_if_dirty():
            return
        self._pending_new = ProviderProfile(
            id=self.registry.unique_id("custom"),
            name="Custom provider",
            base_url="http://localhost:8000/v1",
            kind="custom",
        )
        self._current_id = None
        self._selecting = True
        self.provider_list.setCurrentRow(-1)
        self.provider_list.clearSelection()
        self._selecting = False
        self.editor.load(self._pending_new)
        self.editor.base_url_edit.clear()
        self.pages.setCurrentWidget(self.editor)
        self._set_dirty(True)
        self._load_key_status_for(self._pending_new)
        self.editor.setCurrentIndex(0)
        self.editor.base_url_edit.setFocus()
        self._show_status(
            "Enter the base URL (usually ending in /v1), then Test connection or Save.", "plain"
        )

    @property
    def current_profile_id(self) -> str | None:
        return self._current_id

    @property
    def dirty(self) -> bool:
        return self._dirty

    # -- slots -------------------------------------------------------------------------

    def on_add_menu_triggered(self, action: Any) -> None:
        preset_id = action.data()
        if preset_id == NEW_ID:
            self.start_custom()
        elif isinstance(preset_id, str):
            self.add_preset(preset_id)

    def on_empty_add_clicked(self) -> None:
        self.add_menu.popup(
            self.empty_add_button.mapToGlobal(self.empty_add_button.rect().bottomLeft())
        )

    def on_provider_list_current_changed(
        self, current: QListWidgetItem | None, previous: QListWidgetItem | None
    ) -> None:
        if self._selecting:
            return
        self._show_status("", "plain")  # a message about the previous provider no longer applies
        # Read the ids first: committing rebuilds the list and deletes these items.
        wanted = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
        staying = self._current_id
        if not self._commit_if_dirty():
            # Stay on the form with the problem; the message says what to fix.
            if staying is not None:
                self._select(staying)
            else:  # an unsaved custom provider: no row is its own
                self._selecting = True
                self.provider_list.setCurrentRow(-1)
                self._selecting = False
            return
        self._pending_new = None
        if wanted is not None and wanted != self._current_id:
            self._select(wanted)
        elif wanted is None:
            self._show(None)

    def on_editor_edited(self) -> None:
        self._set_dirty(True)

    def on_save_clicked(self) -> None:
        self._commit()

    def on_revert_clicked(self) -> None:
        if self._pending_new is not None:
            self._pending_new = None
            self._set_dirty(False)
            self._select_first()
            return
        self._show(self._current_id)
        self._show_status("Changes undone.", "plain")

    def on_remove_clicked(self) -> None:
        profile = self.registry.get(self._current_id or "")
        if profile is None:
            return
        self.confirm_label.setText(f"Remove \u201c{profile.name}\u201d and its saved key?")
        self.confirm_bar.setVisible(True)
        self.cancel_remove_button.setFocus()

    def on_confirm_remove_clicked(self) -> None:
        self.confirm_bar.setVisible(False)
        provider_id = self._current_id
        if provider_id is None:
            return
        with self._own_change():
            removed = self.registry.remove(provider_id)
        if removed is None:
            return
        if self.models_cache is not None:
            self.models_cache.remove(provider_id)
        self.key_tasks.start(f"delete-key:{provider_id}", self._delete_key(provider_id))
        self._set_dirty(False)
        self._current_id = None
        self._refresh_list()
        self._select_first()
        self._show_status(f"Removed {removed.name}.", "plain")
        self.provider_removed.emit(provider_id)

    def on_cancel_remove_clicked(self) -> None:
        self.confirm_bar.setVisible(False)

    def on_test_clicked(self) -> None:
        try:
            profile = self.editor.profile()
        except EditorError as error:
            self.editor.show_test_result(str(error), "error", [])
            return
        self.editor.show_test_result("Testing…", "plain", [])
        self.editor.test_button.setEnabled(False)
        self.tasks.start("test-connection", self._test_connection(profile, self.editor.key_text))

    def on_copy_prices_clicked(self) -> None:
        changed = self.editor.merge_prices(self._listed_prices)
        self._show_status(
            f"Filled {changed} price{'s' if changed != 1 else ''} from the model list; Save to keep them."
            if changed
            else "No new prices in the model list.",
            "plain",
        )

    def on_task_failed(self, error: BaseException) -> None:
        _log.error("providers dialog task failed", exc_info=error)
        if not shiboken6.isValid(self):
            return
        self.editor.test_button.setEnabled(True)
        self._show_status(failure_text(error), "error")

    # -- async work ---------------------------------------------------------------------

    async def _check_keyring(self) -> None:
        status = await self.keys.status()
        self.keyring_banner.setText(status.message)
        set_tone(self.keyring_banner, "plain" if status.real else "warning")
        self.keyring_banner.setVisible(True)
        self.keyring_checked.emit(status.real)

    async def _load_key(self, profile: ProviderProfile) -> None:
        try:
            resolved = await self.keys.get(profile.id, profile.key_env)
        except KeyStoreError as error:
            self.editor.set_key("", error.user_message)
            return
        if self._editing_id() != profile.id:
            return  # the user moved on meanwhile
        if self.editor.key_edited:
            # The user typed a key while the keyring was answering: keep what they typed.
            self.editor.key_source_label.setText(describe_key(resolved, profile))
            return
        self.editor.set_key(visible_key(resolved), describe_key(resolved, profile))

    async def _save_key(self, provider_id: str, key: str) -> None:
        try:
            where = await self.keys.set(provider_id, key)
            message = saved_message(where, bool(key), self._name_of(provider_id))
            tone = "ok" if where is KeySource.KEYRING or not key else "warning"
        except KeyStoreError as error:
            self.keys.remember(provider_id, key)
            where = KeySource.MEMORY
            message = (
                f"{error.user_message} The key for {self._name_of(provider_id)} is kept in memory "
                "until Palaver quits."
            )
            tone = "warning"
        if not shiboken6.isValid(self):
            return  # the dialog is gone; the key is stored all the same
        if self._editing_id() == provider_id:
            self.editor.mark_key_saved(KEY_HOME[where] if key else "No key saved.")
        self._show_status(message, tone)
        self.key_saved.emit(provider_id, where.value)

    async def _delete_key(self, provider_id: str) -> None:
        try:
            await self.keys.delete(provider_id)
        except KeyStoreError as error:
            if shiboken6.isValid(self):
                self._show_status(error.user_message, "warning")

    async def _test_connection(self, profile: ProviderProfile, typed_key: str) -> None:
        owner = self._editing_id() or profile.id
        try:
            # Without a model list the button says it sends one token (it may cost one).
            result = await check_with_saved_key(
                profile, typed_key, self.keys, owner, self.make_client, probe=True
            )
            if result.checked and self.on_call is not None:
                self.on_call(owner, result.listing, result.error)
        finally:
            self.editor.test_button.setEnabled(True)
        if not result.ok and not result.checked:
            self.editor.show_test_result(result.headline, "error", [])
        elif result.ok and not result.checked:
            self.editor.show_test_result(
                f"{result.headline}\n{result.detail}", "plain", result.model_ids
            )
        elif result.ok:
            ids = result.model_ids
            self.editor.show_test_result(f"{result.headline} {result.detail}", "ok", ids)
            self._remember_models(profile, result.models)
        else:
            self.editor.show_test_result(f"{result.headline}\n{result.detail}".strip(), "error", [])
        self.connection_tested.emit(profile.id, result.ok, result.headline)

    def _remember_models(self, profile: ProviderProfile, models: list[Any]) -> None:
        self._listed_prices = {}
        for model in models:
            entry = model.model_dump(mode="json") if hasattr(model, "model_dump") else model
            if isinstance(entry, dict):
                price = price_from_listing(entry)
                if price is not None:
                    self._listed_prices[str(entry.get("id"))] = price
        self.editor.copy_prices_button.setEnabled(bool(self._listed_prices))
        # Only a saved provider's list is cached: an unsaved form has no stable id yet.
        if self.models_cache is not None and self._editing_id() in self.registry:
            self.models_cache.put(profile.id, models)

    # -- internals -----------------------------------------------------------------------

    def _name_of(self, provider_id: str) -> str:
        profile = self.registry.get(provider_id)
        return profile.name if profile is not None else provider_id

    def _editing_id(self) -> str | None:
        return self._pending_new.id if self._pending_new is not None else self._current_id

    def _commit_if_dirty(self) -> bool:
        return self._commit() if self._dirty else True

    def _commit(self) -> bool:
        """Save the form (and the key if it changed); False with a message when invalid."""
        try:
            profile = self.editor.profile()
        except EditorError as error:
            self._show_status(str(error), "error")
            return False
        try:
            with self._own_change():
                if self._pending_new is not None:
                    profile = self.registry.add(profile)
                    self._pending_new = None
                else:
                    profile = self.registry.replace(profile)
        except (ValueError, KeyError) as error:
            self._show_status(str(error), "error")
            return False
        if self.editor.key_edited:
            self.key_tasks.start(
                f"save-key:{profile.id}", self._save_key(profile.id, self.editor.key_text)
            )
        self._current_id = profile.id
        self._set_dirty(False)
        self._refresh_list()
        self._select(profile.id)
        self._show_status(f"Saved {profile.name}.", "ok")
        self.provider_saved.emit(profile.id)
        return True

    def _show(self, provider_id: str | None) -> None:
        profile = self.registry.get(provider_id) if provider_id else None
        self._current_id = profile.id if profile else None
        self.confirm_bar.setVisible(False)
        self._listed_prices = {}
        if profile is None:
            self.pages.setCurrentWidget(self.empty_page)
            self.remove_button.setEnabled(False)
            self._set_dirty(False)
            return
        self.pages.setCurrentWidget(self.editor)
        self.remove_button.setEnabled(True)
        self.editor.load(profile)
        self._set_dirty(False)
        self._load_key_status_for(profile)

    def _load_key_status_for(self, profile: ProviderProfile) -> None:
        self.editor.set_key("", "")
        self.tasks.start("load-key", self._load_key(profile))

    def _refresh_list(self) -> None:
        self._selecting = True
        try:
            self.provider_list.clear()
            for profile in self.registry:
                item = QListWidgetItem(profile.name)
                item.setData(Qt.ItemDataRole.UserRole, profile.id)
                item.setToolTip(profile.base_url)
                self.provider_list.addItem(item)
        finally:
            self._selecting = False

    def _select(self, provider_id: str) -> None:
        for row in range(self.provider_list.count()):
            item = self.provider_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == provider_id:
                self._selecting = True
                self.provider_list.setCurrentItem(item)
                self._selecting = False
                if self._current_id != provider_id or self.pages.currentWidget() is not self.editor:
                    self._show(provider_id)
                return

    def _select_first(self) -> None:
        first = self.provider_list.item(0)
        if first is None:
            self._show(None)
        else:
            self._select(first.data(Qt.ItemDataRole.UserRole))

    def _set_dirty(self, dirty: bool) -> None:
        self._dirty = dirty
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)

    def _show_status(self, text: str, tone: str) -> None:
        self.status_label.setText(text)
        set_tone(self.status_label, tone)

    def showEvent(self, event: QShowEvent) -> None:
        # The app may keep one dialog and show it again: show the registry as it is now.
        if self._reshown and not self._dirty and self._pending_new is None:
            self._refresh_list()
            if self._current_id is not None and self._current_id in self.registry:
                self._select(self._current_id)
                self._show(self._current_id)  # reload the form and the key's status
            else:
                self._current_id = None
                self._select_first()
        self._reshown = True
        super().showEvent(event)

    def done(self, result: int) -> None:
        """Every way out (Close, Escape, the window's X) ends here, once per showing."""
        if self._dirty and not self._commit():
            # Invalid edits are dropped rather than trapping the user in the dialog.
            _log.info("providers dialog closed with invalid unsaved edits")
        self.tasks.cancel_all()
        super().done(result)

    def _on_registry_changed(self, _registry: ProviderRegistry) -> None:
        """Follow changes made elsewhere (the welcome panel, the model picker)."""
        if not shiboken6.isValid(self):
            self._detach_registry()
            return
        if self._committing:
            return  # our own change: the list is rebuilt by the caller
        self._refresh_list()
        if self._current_id is not None and self._current_id in self.registry:
            self._select(self._current_id)
        elif self._pending_new is None:
            self._current_id = None
            self._select_first()

    @contextlib.contextmanager
    def _own_change(self) -> Iterator[None]:
        self._committing = True
        try:
            yield
        finally:
            self._committing = False

    def _detach_registry(self) -> None:
        if self._unsubscribe_registry is not None:
            self._unsubscribe_registry()
            self._unsubscribe_registry = None
