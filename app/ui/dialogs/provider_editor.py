"""The form that edits one provider profile: connection, key, paths, headers, capabilities, prices.

It only edits widgets: :meth:`ProviderEditor.load` fills them from a profile and
:meth:`ProviderEditor.profile` builds a validated profile back (raising
:class:`EditorError` with a plain message). Saving, keys and network belong to the dialog.
"""

from __future__ import annotations

import html
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.api import DEFAULT_PATHS, Capabilities, Endpoint, ModelPrice, ProviderProfile
from app.core.providers import SecretInProfileError, check_no_secrets
from app.ui.dialogs.common import named, note, object_named, set_tone

ENDPOINT_LABELS: dict[Endpoint, str] = {
    Endpoint.MODELS: "Model list",
    Endpoint.MODEL: "One model",
    Endpoint.CHAT: "Chat",
    Endpoint.COMPLETIONS: "Completions",
    Endpoint.EMBEDDINGS: "Embeddings",
    Endpoint.IMAGES: "Images",
    Endpoint.SPEECH: "Speech",
    Endpoint.TRANSCRIPTIONS: "Transcriptions",
    Endpoint.MODERATIONS: "Moderations",
}

CAPABILITY_LABELS: dict[str, str] = {
    "chat": "Chat",
    "streaming": "Streamed answers",
    "completions": "Completions (legacy)",
    "embeddings": "Embeddings",
    "images": "Image generation",
    "speech": "Text-to-speech",
    "transcription": "Transcription",
    "moderation": "Moderation",
    "vision": "Images in chat (vision)",
    "tools": "Tool calls",
    "model_list": "Lists its models",
}

KINDS = (
    ("hosted", "Hosted service"),
    ("local", "Local server"),
    ("custom", "Custom / self-hosted"),
)


class EditorError(ValueError):
    """The form holds something that is not a valid profile; the message says what."""


class ProviderEditor(QTabWidget):
    """Tabs editing one profile. ``edited`` fires on any change a user makes."""

    edited = Signal()
    reveal_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "providerEditorTabs", "Provider settings")
        self._original: ProviderProfile | None = None
        self._loaded_key = ""
        self._loading = False
        self.addTab(self._build_connection_tab(), "Connection")
        self.addTab(self._build_paths_tab(), "Paths && headers")
        self.addTab(self._build_capabilities_tab(), "Capabilities")
        self.addTab(self._build_models_tab(), "Models && prices")
        self._connect_signals()

    # -- building ----------------------------------------------------------------

    def _build_connection_tab(self) -> QWidget:
        page = object_named(QWidget(), "connectionPage")
        outer = QVBoxLayout(page)
        form = QFormLayout()
        outer.addLayout(form)
        outer.addStretch(1)  # rows stay together at the top whatever the tab's height
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = named(QLineEdit(), "providerNameEdit", "Provider name")
        self.id_label = named(QLabel(), "providerIdLabel", "Provider id")
        self.id_label.setToolTip(
            "The id names this provider in files and the keyring; it never changes."
        )
        self.base_url_edit = named(
            QLineEdit(placeholderText="https://api.example.com/v1"), "baseUrlEdit", "Base URL"
        )
        self.kind_combo = named(QComboBox(), "kindCombo", "Kind of provider")
        for value, label in KINDS:
            self.kind_combo.addItem(label, value)
        self.key_required_check = named(
            QCheckBox("Needs an API key"), "keyRequiredCheck", "Needs an API key"
        )

        self.key_edit = named(
            QLineEdit(placeholderText="Paste the API key"),
            "apiKeyEdit",
            "API key",
            "Stored in the system keyring, never in a file.",
        )
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setClearButtonEnabled(True)
        self.reveal_button = named(QPushButton("Show"), "revealKeyButton", "Show the API key")
        self.reveal_button.setCheckable(True)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.reveal_button)
        self.key_source_label = note("", "keySourceLabel")
        self.dashboard_label = named(QLabel(), "dashboardLink", "Provider dashboard link")
        self.dashboard_label.setTextFormat(Qt.TextFormat.RichText)
        self.dashboard_label.setOpenExternalLinks(True)
        self.dashboard_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.key_env_edit = named(
            QLineEdit(placeholderText="e.g. GROQ_API_KEY (optional)"),
            "keyEnvEdit",
            "Environment variable holding the key",
            "Used when no key is saved here: the key is read from this variable at run time.",
        )

        self.test_button = named(
            QPushButton("Test connection"), "testConnectionButton", "Test connection"
        )
        self.test_result = note("", "testResultLabel")
        self.test_result.setAccessibleName("Test connection result")
        self.test_models = named(QListWidget(), "testModelList", "Models the provider lists")
        self.test_models.setVisible(False)
        self.test_models.setMaximumHeight(120)

        form.addRow("Name", self.name_edit)
        form.addRow("Id", self.id_label)
        form.addRow("Base URL", self.base_url_edit)
        form.addRow("Kind", self.kind_combo)
        form.addRow("", self.key_required_check)
        form.addRow("API key", key_row)
        form.addRow("", self.key_source_label)
        form.addRow("Key variable", self.key_env_edit)
        form.addRow("", self.dashboard_label)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        form.addRow("", test_row)
        form.addRow("", self.test_result)
        form.addRow("", self.test_models)
        return page

    def _build_paths_tab(self) -> QWidget:
        page = object_named(QWidget(), "pathsPage")
        layout = QVBoxLayout(page)
        layout.addWidget(
            note(
                "Paths are relative to the base URL. Start one with / to count from the host instead "
                "(e.g. /api/v1/chat/completions). Leave empty for the usual path.",
                "pathsHint",
            )
        )
        grid = QFormLayout()
        self.path_edits: dict[Endpoint, QLineEdit] = {}
        for endpoint, label in ENDPOINT_LABELS.items():
            edit = named(
                QLineEdit(placeholderText=DEFAULT_PATHS[endpoint]),
                f"pathEdit_{endpoint.value}",
                f"{label} path",
            )
            self.path_edits[endpoint] = edit
            grid.addRow(label, edit)
        layout.addLayout(grid)
        self.url_preview = note("", "urlPreviewLabel")
        layout.addWidget(self.url_preview)

        auth_row = QHBoxLayout()
        self.auth_header_edit = named(QLineEdit(), "authHeaderEdit", "Header carrying the key")
        self.auth_scheme_edit = named(QLineEdit(), "authSchemeEdit", "Key prefix (scheme)")
        self.auth_scheme_edit.setPlaceholderText("none")
        auth_row.addWidget(QLabel("Key header"))
        auth_row.addWidget(self.auth_header_edit, 2)
        auth_row.addWidget(QLabel("Prefix"))
        auth_row.addWidget(self.auth_scheme_edit, 1)
        layout.addLayout(auth_row)

        layout.addWidget(
            QLabel("Extra headers sent with every request (never a key: use the key field)")
        )
        self.headers_table = named(QTableWidget(0, 2), "headersTable", "Extra headers")
        self.headers_table.setHorizontalHeaderLabels(["Header", "Value"])
        self.headers_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.headers_table.verticalHeader().setVisible(False)
        self.headers_table.setMinimumHeight(90)
        layout.addWidget(self.headers_table, 1)
        buttons = QHBoxLayout()
        self.add_header_button = named(QPushButton("Add header"), "addHeaderButton", "Add header")
        self.remove_header_button = named(
            QPushButton("Remove header"), "removeHeaderButton", "Remove header"
        )
        buttons.addWidget(self.add_header_button)
        buttons.addWidget(self.remove_header_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        return page

    def _build_capabilities_tab(self) -> QWidget:
        page = object_named(QWidget(), "capabilitiesPage")
        layout = QVBoxLayout(page)
        layout.addWidget(note("Palaver hides what a provider does not offer.", "capabilitiesHint"))
        grid = QGridLayout()
        self.capability_checks: dict[str, QCheckBox] = {}
        for index, (name, label) in enumerate(CAPABILITY_LABELS.items()):
            check = named(QCheckBox(label), f"capability_{name}", label)
            self.capability_checks[name] = check
            grid.addWidget(check, index // 2, index % 2)
        layout.addLayout(grid)
        layout.addStretch(1)
        return page

    def _build_models_tab(self) -> QWidget:
        page = object_named(QWidget(), "modelsPage")
        layout = QVBoxLayout(page)
        layout.addWidget(
            note(
                "Models named here appear in the model picker even when the provider lists none. "
                "Prices are US dollars per 1M tokens; leave empty when unknown.",
                "modelsHint",
            )
        )
        self.prices_table = named(QTableWidget(0, 3), "pricesTable", "Models and prices")
        self.prices_table.setHorizontalHeaderLabels(["Model", "Input $ / 1M", "Output $ / 1M"])
        header = self.prices_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.prices_table.verticalHeader().setVisible(False)
        self.prices_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        layout.addWidget(self.prices_table, 1)
        buttons = QHBoxLayout()
        self.add_model_button = named(QPushButton("Add model"), "addModelButton", "Add model")
        self.remove_model_button = named(
            QPushButton("Remove model"), "removeModelButton", "Remove model"
        )
        self.copy_prices_button = named(
            QPushButton("Take prices from the model list"),
            "copyListPricesButton",
            "Take prices from the model list",
            "Fill in the prices the provider's own model list carries (after Test connection).",
        )
        self.copy_prices_button.setEnabled(False)
        buttons.addWidget(self.add_model_button)
        buttons.addWidget(self.remove_model_button)
        buttons.addStretch(1)
        buttons.addWidget(self.copy_prices_button)
        layout.addLayout(buttons)
        return page

    def _connect_signals(self) -> None:
        for edit in (
            self.name_edit,
            self.base_url_edit,
            self.key_env_edit,
            self.auth_header_edit,
            self.auth_scheme_edit,
        ):
            edit.textEdited.connect(self.on_field_edited)
        for edit in self.path_edits.values():
            edit.textEdited.connect(self.on_field_edited)
        self.base_url_edit.textEdited.connect(self.on_paths_edited)
        for edit in self.path_edits.values():
            edit.textEdited.connect(self.on_paths_edited)
        self.key_edit.textChanged.connect(self.on_key_text_changed)
        self.kind_combo.activated.connect(self.on_field_edited)
        self.key_required_check.clicked.connect(self.on_field_edited)
        for check in self.capability_checks.values():
            check.clicked.connect(self.on_field_edited)
        self.headers_table.itemChanged.connect(self.on_table_item_changed)
        self.prices_table.itemChanged.connect(self.on_table_item_changed)
        self.reveal_button.toggled.connect(self.on_reveal_toggled)
        self.add_header_button.clicked.connect(self.on_add_header_clicked)
        self.remove_header_button.clicked.connect(self.on_remove_header_clicked)
        self.add_model_button.clicked.connect(self.on_add_model_clicked)
        self.remove_model_button.clicked.connect(self.on_remove_model_clicked)

    # -- slots -----------------------------------------------------------------

    def on_field_edited(self, *_: Any) -> None:
        if not self._loading:
            self.edited.emit()

    def on_key_text_changed(self, _text: str) -> None:
        self.on_field_edited()

    def on_table_item_changed(self, _item: QTableWidgetItem) -> None:
        self.on_field_edited()

    def on_paths_edited(self, *_: Any) -> None:
        self._update_url_preview()

    def on_reveal_toggled(self, shown: bool) -> None:
        self.key_edit.setEchoMode(
            QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        )
        self.reveal_button.setText("Hide" if shown else "Show")
        self.reveal_button.setAccessibleName("Hide the API key" if shown else "Show the API key")
        self.reveal_toggled.emit(shown)

    def on_add_header_clicked(self) -> None:
        row = self.headers_table.rowCount()
        self.headers_table.insertRow(row)
        self.headers_table.setItem(row, 0, QTableWidgetItem(""))
        self.headers_table.setItem(row, 1, QTableWidgetItem(""))
        self._edit_cell(self.headers_table, row)
        self.on_field_edited()

    def on_remove_header_clicked(self) -> None:
        row = self.headers_table.currentRow()
        if row >= 0:
            self.headers_table.removeRow(row)
            self.on_field_edited()

    def on_add_model_clicked(self) -> None:
        row = self.add_model_row("", None)
        self.prices_table.setCurrentCell(row, 0)
        self._edit_cell(self.prices_table, row)
        self.on_field_edited()

    def on_remove_model_clicked(self) -> None:
        row = self.prices_table.currentRow()
        if row >= 0:
            self.prices_table.removeRow(row)
            self.on_field_edited()

    # -- loading and reading ---------------------------------------------------------

    def _label_test_button(self, profile: ProviderProfile) -> None:
        """A provider without a model list is tested with a one-token message: say so."""
        first = profile.models[0] if profile.models else ""
        probe = not profile.capabilities.model_list and bool(first)
        self.test_button.setText("Test with one token" if probe else "Test connection")
        tip = f"Sends a one-token message to {first}; the provider may bill it."
        self.test_button.setToolTip(tip if probe else "Lists the provider's models with this key")

    def load(self, profile: ProviderProfile) -> None:
        """Show ``profile``; the key field is filled separately (it comes from the keyring)."""
        self._loading = True
        try:
            self._original = profile
            self._label_test_button(profile)
            self.name_edit.setText(profile.name)
            self.id_label.setText(profile.id)
            self.base_url_edit.setText(profile.base_url)
            self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(profile.kind)))
            self.key_required_check.setChecked(profile.key_required)
            self.key_env_edit.setText(profile.key_env or "")
            self._show_dashboard(profile)
            self.set_key("", "")
            self.reveal_button.setChecked(False)
            for endpoint, edit in self.path_edits.items():
                edit.setText(profile.paths.get(endpoint, ""))
            self.auth_header_edit.setText(profile.auth_header)
            self.auth_scheme_edit.setText(profile.auth_scheme)
            self.headers_table.setRowCount(0)
            for name, value in profile.headers.items():
                row = self.headers_table.rowCount()
                self.headers_table.insertRow(row)
                self.headers_table.setItem(row, 0, QTableWidgetItem(name))
                self.headers_table.setItem(row, 1, QTableWidgetItem(value))
            caps = profile.capabilities.model_dump()
            for name, check in self.capability_checks.items():
                check.setChecked(bool(caps.get(name, False)))
            self.prices_table.setRowCount(0)
            for model in dict.fromkeys([*profile.models, *profile.prices]):
                self.add_model_row(model, profile.prices.get(model))
            self.show_test_result("", "plain", [])
            self.copy_prices_button.setEnabled(False)
            self._update_url_preview()
        finally:
            self._loading = False

    def set_key(self, key: str, source_text: str) -> None:
        """Show a stored key (masked) and where it lives, without counting as an edit."""
        was_loading, self._loading = self._loading, True
        try:
            self._loaded_key = key
            self.key_edit.setText(key)
            self.key_source_label.setText(source_text)
            self.key_source_label.setVisible(bool(source_text))
        finally:
            self._loading = was_loading

    @property
    def key_text(self) -> str:
        return self.key_edit.text().strip()

    @property
    def key_edited(self) -> bool:
        return self.key_text != self._loaded_key.strip()

    def mark_key_saved(self, source_text: str) -> None:
        self.set_key(self.key_edit.text(), source_text)

    def add_model_row(self, model: str, price: ModelPrice | None) -> int:
        was_loading, self._loading = self._loading, True
        try:
            row = self.prices_table.rowCount()
            self.prices_table.insertRow(row)
            self.prices_table.setItem(row, 0, QTableWidgetItem(model))
            self.prices_table.setItem(
                row, 1, QTableWidgetItem(_money(price.input_per_m if price else None))
            )
            self.prices_table.setItem(
                row, 2, QTableWidgetItem(_money(price.output_per_m if price else None))
            )
            return row
        finally:
            self._loading = was_loading

    def merge_prices(self, prices: dict[str, ModelPrice]) -> int:
        """Fill empty price cells (and add rows) from ``prices``; returns how many changed."""
        rows = {self._text(self.prices_table, r, 0): r for r in range(self.prices_table.rowCount())}
        changed = 0
        for model, price in prices.items():
            row = rows.get(model)
            if row is None:
                self.add_model_row(model, price)
                changed += 1
                continue
            for column, value in ((1, price.input_per_m), (2, price.output_per_m)):
                if not self._text(self.prices_table, row, column) and value is not None:
                    self.prices_table.setItem(row, column, QTableWidgetItem(_money(value)))
                    changed += 1
        if changed:
            self.on_field_edited()
        return changed

    def show_test_result(self, text: str, tone: str, models: list[str]) -> None:
        self.test_result.setText(text)
        self.test_result.setVisible(bool(text))
        set_tone(self.test_result, tone)
        self.test_models.clear()
        self.test_models.addItems(models)
        self.test_models.setVisible(bool(models))

    def profile(self) -> ProviderProfile:
        """The edited profile, validated; raises :class:`EditorError` with a plain message."""
        if self._original is None:
            raise EditorError("Nothing to save.")
        data = self._original.model_dump()
        name = self.name_edit.text().strip()
        if not name:
            raise EditorError("Give the provider a name.")
        base_url = self.base_url_edit.text().strip()
        if not base_url:
            raise EditorError("Enter the base URL, e.g. https://api.example.com/v1.")
        headers: dict[str, str] = {}
        for row in range(self.headers_table.rowCount()):
            header, value = (
                self._text(self.headers_table, row, 0),
                self._text(self.headers_table, row, 1),
            )
            if header:
                headers[header] = value
            elif value:
                raise EditorError("A header has a value but no name.")
        models: list[str] = []
        prices: dict[str, ModelPrice] = {}
        for row in range(self.prices_table.rowCount()):
            model = self._text(self.prices_table, row, 0)
            if not model:
                continue
            models.append(model)
            price_in = _parse_money(self._text(self.prices_table, row, 1), model)
            price_out = _parse_money(self._text(self.prices_table, row, 2), model)
            old = self._original.prices.get(model)
            if price_in is not None or price_out is not None or old is not None:
                base = old.model_dump() if old is not None else {}
                prices[model] = ModelPrice.model_validate(
                    {**base, "input_per_m": price_in, "output_per_m": price_out}
                )
        caps = {**self._original.capabilities.model_dump()}
        caps.update({name: check.isChecked() for name, check in self.capability_checks.items()})
        data.update(
            name=name,
            base_url=base_url,
            # The host asked for when the preset was added is known once it is changed.
            needs_base_url=self._original.needs_base_url and base_url == self._original.base_url,
            kind=self.kind_combo.currentData(),
            key_required=self.key_required_check.isChecked(),
            key_env=self.key_env_edit.text().strip() or None,
            auth_header=self.auth_header_edit.text().strip() or "Authorization",
            auth_scheme=self.auth_scheme_edit.text().strip(),
            headers=headers,
            paths={
                ep: edit.text().strip()
                for ep, edit in self.path_edits.items()
                if edit.text().strip()
            },
            capabilities=Capabilities.model_validate(caps),
            models=models,
            prices=prices,
        )
        try:
            profile = ProviderProfile.model_validate(data)
        except ValidationError as error:
            raise EditorError(_plain_validation(error)) from error
        try:
            check_no_secrets(profile)
        except SecretInProfileError as error:
            raise EditorError(str(error)) from error
        return profile

    def _show_dashboard(self, profile: ProviderProfile) -> None:
        """A link to where keys, usage and credits live; only http(s) links are ever shown."""
        url = profile.dashboard_url or profile.docs_url or ""
        if not url.startswith(("https://", "http://")):
            self.dashboard_label.clear()
            self.dashboard_label.setVisible(False)
            return
        self.dashboard_label.setText(
            f'<a href="{html.escape(url, quote=True)}">Open {html.escape(profile.name)}’s dashboard</a>'
            " (keys, usage, credits)"
        )
        self.dashboard_label.setToolTip(url)
        self.dashboard_label.setVisible(True)

    @staticmethod
    def _edit_cell(table: QTableWidget, row: int) -> None:
        item = table.item(row, 0)
        if item is not None:
            table.setCurrentItem(item)
            table.editItem(item)

    @staticmethod
    def _text(table: QTableWidget, row: int, column: int) -> str:
        cell = table.item(row, column)
        return cell.text().strip() if cell is not None else ""

    def _update_url_preview(self) -> None:
        base = self.base_url_edit.text().strip().rstrip("/")
        if not base.startswith(("http://", "https://")):
            self.url_preview.setText("")
            return
        try:
            probe = ProviderProfile(
                id="preview",
                name="preview",
                base_url=base,
                paths={
                    ep: e.text().strip() for ep, e in self.path_edits.items() if e.text().strip()
                },
            )
        except ValidationError:
            self.url_preview.setText("")
            return
        self.url_preview.setText(
            f"Model list: {probe.url(Endpoint.MODELS)}\nChat: {probe.url(Endpoint.CHAT)}"
        )


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _parse_money(text: str, model: str) -> float | None:
    text = text.strip().lstrip("$").replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise EditorError(f"The price for {model} is not a number: {text!r}.") from None
    if value < 0:
        raise EditorError(f"The price for {model} cannot be negative.")
    return value


def _plain_validation(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    labels = {"base_url": "Base URL", "name": "Name", "key_env": "Key variable"}
    return f"{labels.get(where, where)}: {message}" if where else message
