"""The settings dialog, ``SettingsDialog(store, registry, models_cache, parent=window)``:
changes apply as they are made."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app import log
from app.core.models_cache import ModelsCache, model_choices
from app.core.providers import ProviderRegistry
from app.settings import PROXY_NONE, PROXY_SYSTEM, Settings, SettingsError, SettingsStore
from app.ui.dialogs.common import named, note, set_tone
from app.ui.settings_notifier import SettingsNotifier

_log = log.get("ui.settings")

SEND_KEYS = (
    ("enter", "Enter sends, Shift+Enter adds a line"),
    ("ctrl+enter", "Ctrl+Enter sends, Enter adds a line"),
)
THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))
PROXY_MODES = ((PROXY_SYSTEM, "System settings"), (PROXY_NONE, "No proxy"), ("url", "This proxy:"))
FONT_SYSTEM = 5  # the spin box's lowest value stands for "system size"


class SettingsDialog(QDialog):
    """Every user setting; each change is validated, saved and applied at once."""

    setting_failed = Signal(str)  # a plain-words message when a value was refused
    providers_requested = Signal()  # the user asked for the providers dialog

    def __init__(
        self,
        store: SettingsStore,
        registry: ProviderRegistry | None = None,
        models_cache: ModelsCache | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.registry = registry
        self.models_cache = models_cache
        self._loading = False
        named(self, "settingsDialog", "Settings")
        self.setWindowTitle("Settings")
        self.setMinimumWidth(580)
        self._build()
        self.notifier = SettingsNotifier(store, self)
        self._connect_signals()
        self.load(store.get())

    def _build(self) -> None:
        self.provider_combo = named(QComboBox(), "defaultProviderCombo", "Default provider")
        self.model_combo = named(QComboBox(), "defaultModelCombo", "Default model")
        self.model_combo.setEditable(True)
        self.model_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        model_edit = self.model_combo.lineEdit()
        if model_edit is not None:
            named(model_edit, "defaultModelEdit", "Default model name")
            model_edit.setPlaceholderText("Pick or type a model")
        self.send_key_combo = named(QComboBox(), "sendKeyCombo", "Send key")
        for value, label in SEND_KEYS:
            self.send_key_combo.addItem(label, value)
        self.theme_combo = named(QComboBox(), "themeCombo", "Theme")
        for value, label in THEMES:
            self.theme_combo.addItem(label, value)
        self.proxy_combo = named(QComboBox(), "proxyModeCombo", "Proxy")
        for value, label in PROXY_MODES:
            self.proxy_combo.addItem(label, value)
        self.proxy_edit = named(
            QLineEdit(placeholderText="http://proxy.example:3128 or socks5://host:1080"),
            "proxyUrlEdit",
            "Proxy URL",
        )
        proxy_row = QHBoxLayout()
        proxy_row.addWidget(self.proxy_combo)
        proxy_row.addWidget(self.proxy_edit, 1)
        self.timeout_spin = named(QSpinBox(), "requestTimeoutSpin", "Request timeout in seconds")
        self.timeout_spin.setRange(5, 3600)
        self.timeout_spin.setSuffix(" s")
        self.font_spin = named(QSpinBox(), "fontSizeSpin", "Font size in points")
        self.font_spin.setRange(FONT_SYSTEM, 48)
        self.font_spin.setSpecialValueText("System size")
        self.font_spin.setSuffix(" pt")

        form = QFormLayout()
        form.addRow("Default provider", self.provider_combo)
        form.addRow("Default model", self.model_combo)
        form.addRow("Sending", self.send_key_combo)
        form.addRow("Theme", self.theme_combo)
        form.addRow("Proxy", proxy_row)
        form.addRow("Request timeout", self.timeout_spin)
        self.retry_budget_spin = named(
            QSpinBox(), "retryBudgetSpin", "Retry budget in seconds",
            "How long one request may keep retrying (429 waits, 5xx, dropped connections)",
        )  # fmt: skip
        self.retry_budget_spin.setRange(0, 3600)
        self.retry_budget_spin.setSuffix(" s")
        form.addRow("Give up retrying after", self.retry_budget_spin)
        form.addRow("Font size", self.font_spin)

        self.message_label = note("", "settingsMessageLabel")
        self.message_label.setAccessibleName("Settings message")
        if self.store.problem:
            self.message_label.setText(self.store.problem)
            set_tone(self.message_label, "warning")
        self.reset_button = named(
            QPushButton("Reset to defaults"), "resetSettingsButton", "Reset to defaults"
        )
        self.providers_button = named(
            QPushButton("Providers and keys…"), "openProvidersButton", "Open providers and keys"
        )
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        named(self.buttons, "settingsButtons", "Close")
        close = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        named(close, "settingsCloseButton", "Close settings")
        bottom = QHBoxLayout()
        bottom.addWidget(self.reset_button)
        bottom.addWidget(self.providers_button)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note("Changes apply immediately.", "settingsHint"))
        layout.addWidget(self.message_label)
        layout.addLayout(bottom)

    def _connect_signals(self) -> None:
        self.provider_combo.activated.connect(self.on_provider_activated)
        self.model_combo.activated.connect(self.on_model_committed)
        model_edit = self.model_combo.lineEdit()
        if model_edit is not None:
            model_edit.editingFinished.connect(self.on_model_committed)
        self.send_key_combo.activated.connect(self.on_send_key_activated)
        self.theme_combo.activated.connect(self.on_theme_activated)
        self.proxy_combo.activated.connect(self.on_proxy_mode_activated)
        self.proxy_edit.editingFinished.connect(self.on_proxy_url_finished)
        self.timeout_spin.valueChanged.connect(self.on_timeout_changed)
        self.retry_budget_spin.valueChanged.connect(
            lambda value: self._apply(retry_budget=float(value))
        )
        self.font_spin.valueChanged.connect(self.on_font_size_changed)
        self.reset_button.clicked.connect(self.on_reset_clicked)
        self.providers_button.clicked.connect(self.providers_requested)
        self.buttons.rejected.connect(self.reject)
        self.notifier.changed.connect(self.on_settings_changed)

    # -- showing -------------------------------------------------------------------------

    def load(self, settings: Settings) -> None:
        """Show ``settings`` in the widgets without writing anything back."""
        self._loading = True
        try:
            self.provider_combo.clear()
            self.provider_combo.addItem("None", None)
            for profile in self.registry or ():
                self.provider_combo.addItem(profile.name, profile.id)
            if (
                settings.default_provider
                and self.provider_combo.findData(settings.default_provider) < 0
            ):
                self.provider_combo.addItem(
                    f"{settings.default_provider} (removed)", settings.default_provider
                )
            self.provider_combo.setCurrentIndex(
                max(0, self.provider_combo.findData(settings.default_provider))
            )
            self._fill_models(settings.default_provider)
            self.model_combo.setEditText(settings.default_model or "")
            self.send_key_combo.setCurrentIndex(
                max(0, self.send_key_combo.findData(settings.send_key))
            )
            self.theme_combo.setCurrentIndex(max(0, self.theme_combo.findData(settings.theme)))
            mode = settings.proxy if settings.proxy in (PROXY_SYSTEM, PROXY_NONE) else "url"
            self.proxy_combo.setCurrentIndex(self.proxy_combo.findData(mode))
            if mode == "url":
                self.proxy_edit.setText(settings.proxy)
            self.proxy_edit.setEnabled(mode == "url")
            self.timeout_spin.setValue(round(settings.request_timeout))
            self.retry_budget_spin.setValue(round(settings.retry_budget))
            self.font_spin.setValue(settings.font_size or FONT_SYSTEM)
        finally:
            self._loading = False

    def _fill_models(self, provider_id: str | None) -> None:
        text = self.model_combo.currentText()
        self.model_combo.clear()
        if self.registry is not None and provider_id:
            profile = self.registry.get(provider_id)
            if profile is not None:
                for choice in model_choices([profile], self.models_cache):
                    self.model_combo.addItem(choice.model)
        self.model_combo.setEditText(text)

    # -- slots ---------------------------------------------------------------------------

    def on_provider_activated(self, _index: int) -> None:
        provider_id = self.provider_combo.currentData()
        was_loading, self._loading = self._loading, True
        self._fill_models(provider_id)
        self._loading = was_loading
        self._apply(default_provider=provider_id)

    def on_model_committed(self, *_: Any) -> None:
        self._apply(default_model=self.model_combo.currentText().strip() or None)

    def on_send_key_activated(self, _index: int) -> None:
        self._apply(send_key=self.send_key_combo.currentData())

    def on_theme_activated(self, _index: int) -> None:
        self._apply(theme=self.theme_combo.currentData())

    def on_proxy_mode_activated(self, _index: int) -> None:
        mode = self.proxy_combo.currentData()
        self.proxy_edit.setEnabled(mode == "url")
        if mode == "url":
            self.proxy_edit.setFocus()
            if self.proxy_edit.text().strip():
                self.on_proxy_url_finished()
        else:
            self._apply(proxy=mode)

    def on_proxy_url_finished(self) -> None:
        url = self.proxy_edit.text().strip()
        if self.proxy_combo.currentData() == "url" and url:
            self._apply(proxy=url)

    def on_timeout_changed(self, value: int) -> None:
        self._apply(request_timeout=float(value))

    def on_font_size_changed(self, value: int) -> None:
        self._apply(font_size=None if value == FONT_SYSTEM else value)

    def on_reset_clicked(self) -> None:
        self.store.reset()
        self._say("Defaults restored.", "ok")

    def on_settings_changed(self, settings: Settings, _changed: frozenset[str]) -> None:
        self.load(settings)

    # -- internals -------------------------------------------------------------------

    def _apply(self, **changes: Any) -> None:
        if self._loading:
            return
        try:
            self.store.update(**changes)
        except SettingsError as error:
            message = str(error)
            self._say(message[:1].upper() + message[1:] + ".", "error")
            self.setting_failed.emit(message)
            return
        except OSError as error:
            self._say(f"The settings could not be saved: {error.strerror or error}.", "error")
            return
        self._say("", "plain")

    def _say(self, text: str, tone: str) -> None:
        self.message_label.setText(text)
        set_tone(self.message_label, tone)

    def showEvent(self, event: QShowEvent) -> None:
        # The app may keep one dialog and show it again: start from the current settings.
        self.notifier.attach()
        self.load(self.store.get())
        super().showEvent(event)

    def done(self, result: int) -> None:
        # A hidden dialog stops following the store until it is shown again.
        self.notifier.detach()
        super().done(result)
