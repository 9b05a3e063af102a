"""The settings dialog: every change is validated, saved and announced at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QWidget
from pytestqt.qtbot import QtBot

from app.api.profiles import ProviderProfile
from app.core.models_cache import ModelsCache
from app.core.providers import ProviderRegistry
from app.paths import AppPaths
from app.settings import Settings, SettingsStore
from app.ui.dialogs.settings import SettingsDialog
from app.ui.settings_notifier import SettingsNotifier


@pytest.fixture
def paths(data_dir: Path) -> AppPaths:
    return AppPaths.from_root(data_dir).ensure()


@pytest.fixture
def store(paths: AppPaths) -> SettingsStore:
    return SettingsStore.load(paths.settings_file)


@pytest.fixture
def dialog(qtbot: QtBot, paths: AppPaths, store: SettingsStore) -> SettingsDialog:
    registry = ProviderRegistry.load(paths.providers_file)
    registry.add(ProviderProfile(id="groq", name="Groq", base_url="https://api.groq.com/openai/v1"))
    registry.add(
        ProviderProfile(id="stapi", name="stapi", base_url="https://stapi.pw/v1", models=["gpt-4o"])
    )
    cache = ModelsCache(paths.cache / "models")
    cache.put("groq", ["llama-3.1-8b-instant"])
    widget = SettingsDialog(store, registry, cache)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def choose(combo: QComboBox, data: object) -> None:
    """Pick an entry the way a user does (``activated`` fires, unlike setCurrentIndex)."""
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_shows_the_current_settings(qtbot: QtBot, paths: AppPaths) -> None:
    store = SettingsStore.load(paths.settings_file)
    store.update(theme="dark", send_key="ctrl+enter", proxy="http://proxy.local:3128", font_size=14)
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    assert dialog.theme_combo.currentData() == "dark"
    assert dialog.send_key_combo.currentData() == "ctrl+enter"
    assert (
        dialog.proxy_combo.currentData() == "url"
        and dialog.proxy_edit.text() == "http://proxy.local:3128"
    )
    assert dialog.proxy_edit.isEnabled()
    assert dialog.font_spin.value() == 14
    assert dialog.provider_combo.count() == 1  # "None": no registry given


def test_changes_apply_live_and_are_saved(
    dialog: SettingsDialog, store: SettingsStore, paths: AppPaths
) -> None:
    heard: list[frozenset[str]] = []
    notifier = SettingsNotifier(store)
    notifier.changed.connect(lambda settings, changed: heard.append(changed))
    choose(dialog.theme_combo, "light")
    choose(dialog.send_key_combo, "ctrl+enter")
    dialog.timeout_spin.setValue(120)
    dialog.font_spin.setValue(16)
    choose(dialog.provider_combo, "groq")
    assert [dialog.model_combo.itemText(i) for i in range(dialog.model_combo.count())] == [
        "llama-3.1-8b-instant"
    ]
    dialog.model_combo.setEditText("llama-3.1-8b-instant")
    dialog.model_combo.lineEdit().editingFinished.emit()  # type: ignore[union-attr]
    assert heard == [
        frozenset({"theme"}),
        frozenset({"send_key"}),
        frozenset({"request_timeout"}),
        frozenset({"font_size"}),
        frozenset({"default_provider"}),
        frozenset({"default_model"}),
    ]
    saved = SettingsStore.load(paths.settings_file).get()
    assert (saved.theme, saved.send_key, saved.request_timeout, saved.font_size) == (
        "light",
        "ctrl+enter",
        120,
        16,
    )
    assert (saved.default_provider, saved.default_model) == ("groq", "llama-3.1-8b-instant")
    dialog.font_spin.setValue(dialog.font_spin.minimum())
    assert store.get().font_size is None
    assert dialog.font_spin.text() == "System size"
    notifier.detach()


def test_proxy_modes_and_a_bad_url_is_refused_in_words(
    dialog: SettingsDialog, store: SettingsStore
) -> None:
    choose(dialog.proxy_combo, "none")
    assert store.get().proxy == "none" and not dialog.proxy_edit.isEnabled()
    choose(dialog.proxy_combo, "url")
    assert dialog.proxy_edit.isEnabled()
    dialog.proxy_edit.setText("ftp://nope")
    dialog.proxy_edit.editingFinished.emit()
    assert store.get().proxy == "none"
    assert "proxy must be" in dialog.message_label.text().lower()
    assert dialog.message_label.property("tone") == "error"
    dialog.proxy_edit.setText("socks5://127.0.0.1:1080")
    dialog.proxy_edit.editingFinished.emit()
    assert store.get().proxy == "socks5://127.0.0.1:1080" and dialog.message_label.text() == ""
    choose(dialog.proxy_combo, "system")
    assert store.get().use_system_proxy


def test_reset_and_outside_changes_show_up(dialog: SettingsDialog, store: SettingsStore) -> None:
    choose(dialog.theme_combo, "dark")
    store.update(send_key="ctrl+enter")  # e.g. changed from a menu elsewhere
    assert dialog.send_key_combo.currentData() == "ctrl+enter"
    dialog.reset_button.click()
    assert store.get() == Settings()
    assert dialog.theme_combo.currentData() == "system"


def test_a_damaged_file_is_reported(qtbot: QtBot, paths: AppPaths) -> None:
    paths.settings_file.write_text("{broken", encoding="utf-8")
    store = SettingsStore.load(paths.settings_file)
    dialog = SettingsDialog(store)
    qtbot.addWidget(dialog)
    assert "damaged" in dialog.message_label.text()


def test_closing_stops_following_the_store(dialog: SettingsDialog, store: SettingsStore) -> None:
    dialog.buttons.rejected.emit()
    assert not dialog.isVisible()
    store.update(theme="dark")
    assert dialog.theme_combo.currentData() == "system"


def test_notifier_survives_its_qt_side_being_deleted(qtbot: QtBot, store: SettingsStore) -> None:
    parent = QWidget()
    notifier = SettingsNotifier(store, parent)
    assert notifier.parent() is parent
    parent.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(parent))
    store.update(theme="dark")  # must not raise...
    assert len(store._listeners) == 0  # ...and the dead listener is gone


def test_providers_button_asks_for_the_providers_dialog(
    qtbot: QtBot, dialog: SettingsDialog
) -> None:
    with qtbot.waitSignal(dialog.providers_requested):
        dialog.providers_button.click()


def test_widgets_are_named(dialog: SettingsDialog) -> None:
    for widget in (
        dialog.provider_combo,
        dialog.model_combo,
        dialog.send_key_combo,
        dialog.theme_combo,
        dialog.proxy_combo,
        dialog.proxy_edit,
        dialog.timeout_spin,
        dialog.font_spin,
        dialog.reset_button,
        dialog.providers_button,
    ):
        assert widget.objectName() and widget.accessibleName(), widget
    assert dialog.windowModality() == Qt.WindowModality.NonModal


def test_a_dialog_shown_again_starts_from_the_current_settings(
    dialog: SettingsDialog, store: SettingsStore
) -> None:
    dialog.buttons.rejected.emit()
    store.update(theme="dark", font_size=18)  # changed elsewhere while hidden
    dialog.show()
    assert dialog.theme_combo.currentData() == "dark"
    assert dialog.font_spin.value() == 18
    store.update(theme="light")  # and it follows the store again
    assert dialog.theme_combo.currentData() == "light"
