"""A searchable model picker spanning every provider: ``provider / model``, with manual entry.

Lists come from each profile's own models (presets, typed-in ones) and the cached model
lists (``app.core.models_cache``), so the picker works offline. Providers that list
nothing (stapi has no model list) get a model typed by hand; it is remembered in the
profile so it shows up next time.

Usage::

    picker = ModelPicker(registry, models_cache)
    picker.model_chosen.connect(on_model_chosen)   # (provider_id, model)
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.models_cache import ModelChoice, ModelsCache, format_price, model_choices
from app.core.providers import ProviderRegistry
from app.ui.dialogs.common import named

PROVIDER_ROLE = Qt.ItemDataRole.UserRole + 1
MODEL_ROLE = Qt.ItemDataRole.UserRole + 2
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 3


class _WordsFilter(QSortFilterProxyModel):
    """Keeps rows containing every typed word (``groq llama`` finds ``Groq / llama-3.1``)."""

    def __init__(self) -> None:
        super().__init__()
        self._words: list[str] = []

    def set_words(self, text: str) -> None:
        self.beginFilterChange()
        self._words = text.lower().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        if not self._words:
            return True
        index = self.sourceModel().index(source_row, 0, source_parent)
        haystack = str(index.data(SEARCH_ROLE) or "")
        return all(word in haystack for word in self._words)


class _SearchEdit(QLineEdit):
    """Arrow down moves into the list; the picker handles Enter."""

    down_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Down:
            self.down_pressed.emit()
            return
        super().keyPressEvent(event)


class ModelPicker(QWidget):
    """Search every provider's models; choose one, or type one for a provider."""

    model_chosen = Signal(str, str)  # provider id, model

    def __init__(
        self,
        registry: ProviderRegistry,
        models_cache: ModelsCache | None = None,
        parent: QWidget | None = None,
        *,
        remember_manual: bool = True,
    ) -> None:
        super().__init__(parent)
        self.registry = registry
        self.models_cache = models_cache
        self.remember_manual = remember_manual
        self._choices: list[ModelChoice] = []
        named(self, "modelPicker", "Model picker")

        self.search = named(
            _SearchEdit(
                placeholderText="Search models of every provider, e.g. \u201cgroq llama\u201d"
            ),
            "modelSearchEdit",
            "Search models",
        )
        self.search.setClearButtonEnabled(True)
        self.model = QStandardItemModel(self)
        self.proxy = _WordsFilter()
        self.proxy.setSourceModel(self.model)
        self.list_view = named(QListView(), "modelList", "Models")
        self.list_view.setModel(self.proxy)
        self.list_view.setUniformItemSizes(True)
        self.list_view.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.empty_label = QLabel(
            "No models yet. Add a provider, then use Test connection to fetch its list, or type a model below."
        )
        self.empty_label.setObjectName("modelPickerEmptyLabel")
        self.empty_label.setWordWrap(True)

        self.manual_provider = named(
            QComboBox(), "manualProviderCombo", "Provider for a typed model"
        )
        self.manual_model = named(
            QLineEdit(placeholderText="Not listed? Type a model name"),
            "manualModelEdit",
            "Model name",
        )
        self.manual_button = named(
            QPushButton("Use"), "useManualModelButton", "Use the typed model"
        )
        manual = QHBoxLayout()
        manual.addWidget(self.manual_provider)
        manual.addWidget(self.manual_model, 1)
        manual.addWidget(self.manual_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.list_view, 1)
        layout.addWidget(self.empty_label)
        layout.addLayout(manual)
        self._connect_signals()
        self.refresh()

    def _connect_signals(self) -> None:
        self.search.textChanged.connect(self.on_search_text_changed)
        self.search.returnPressed.connect(self.on_search_return_pressed)
        self.search.down_pressed.connect(self.on_search_down_pressed)
        self.list_view.activated.connect(self.on_list_activated)
        self.manual_button.clicked.connect(self.on_manual_chosen)
        self.manual_model.returnPressed.connect(self.on_manual_chosen)
        self.manual_model.textChanged.connect(self.on_manual_text_changed)

    # -- public ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Rebuild from the registry and the cache (also done each time the picker is shown)."""
        self._choices = model_choices(self.registry, self.models_cache)
        self.model.clear()
        for choice in self._choices:
            price = format_price(choice.price)
            item = QStandardItem(f"{choice.label}    {price}" if price else choice.label)
            item.setData(choice.provider_id, PROVIDER_ROLE)
            item.setData(choice.model, MODEL_ROLE)
            item.setData(
                f"{choice.provider_name} / {choice.model} {choice.provider_id}".lower(), SEARCH_ROLE
            )
            item.setToolTip(f"{choice.label}\n{price or 'price unknown'}")
            item.setEditable(False)
            self.model.appendRow(item)
        current = self.manual_provider.currentData()
        self.manual_provider.clear()
        for profile in self.registry:
            self.manual_provider.addItem(profile.name, profile.id)
        index = self.manual_provider.findData(current)
        if index >= 0:
            self.manual_provider.setCurrentIndex(index)
        self.on_manual_text_changed(self.manual_model.text())
        self._update_empty()

    def choices(self) -> list[ModelChoice]:
        return list(self._choices)

    def visible_labels(self) -> list[str]:
        return [
            str(self.proxy.index(row, 0).data(Qt.ItemDataRole.DisplayRole)).split("    ")[0]
            for row in range(self.proxy.rowCount())
        ]

    def set_current(self, provider_id: str, model: str) -> bool:
        """Select ``provider / model`` if listed; True when found."""
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(PROVIDER_ROLE) == provider_id and index.data(MODEL_ROLE) == model:
                self.list_view.setCurrentIndex(index)
                return True
        return False

    def current(self) -> tuple[str, str] | None:
        index = self.list_view.currentIndex()
        if not index.isValid():
            return None
        return str(index.data(PROVIDER_ROLE)), str(index.data(MODEL_ROLE))

    # -- slots --------------------------------------------------------------------------

    def on_search_text_changed(self, text: str) -> None:
        self.proxy.set_words(text)
        if self.proxy.rowCount():
            self.list_view.setCurrentIndex(self.proxy.index(0, 0))
        self._update_empty()

    def on_search_return_pressed(self) -> None:
        index = self.list_view.currentIndex()
        if not index.isValid() and self.proxy.rowCount():
            index = self.proxy.index(0, 0)
        if index.isValid():
            self.on_list_activated(index)

    def on_search_down_pressed(self) -> None:
        self.list_view.setFocus()
        if not self.list_view.currentIndex().isValid() and self.proxy.rowCount():
            self.list_view.setCurrentIndex(self.proxy.index(0, 0))

    def on_list_activated(self, index: QModelIndex) -> None:
        self.model_chosen.emit(str(index.data(PROVIDER_ROLE)), str(index.data(MODEL_ROLE)))

    def on_manual_text_changed(self, text: str) -> None:
        self.manual_button.setEnabled(bool(text.strip()) and self.manual_provider.count() > 0)

    def on_manual_chosen(self) -> None:
        provider_id = self.manual_provider.currentData()
        model = self.manual_model.text().strip()
        if not model or not isinstance(provider_id, str):
            return
        profile = self.registry.get(provider_id)
        if profile is not None and self.remember_manual and model not in profile.models:
            self.registry.replace(profile.model_copy(update={"models": [*profile.models, model]}))
            self.refresh()
        self.manual_model.clear()
        self.model_chosen.emit(provider_id, model)

    def showEvent(self, event: QShowEvent) -> None:
        self.refresh()
        super().showEvent(event)

    def _update_empty(self) -> None:
        empty = self.model.rowCount() == 0
        self.empty_label.setVisible(empty)
        if not empty and self.proxy.rowCount() == 0:
            self.empty_label.setText(
                "No model matches. Type it below if the provider does not list it."
            )
            self.empty_label.setVisible(True)
        elif empty:
            self.empty_label.setText(
                "No models yet. Add a provider, then use Test connection to fetch its list, or type a model below."
            )


class ModelPickerPopup(QFrame):
    """The picker in a popup under the button that opened it."""

    def __init__(
        self,
        registry: ProviderRegistry,
        models_cache: ModelsCache | None,
        parent: QWidget,
        object_name: str = "modelPickerPopup",
    ) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName(object_name)
        self.picker = ModelPicker(registry, models_cache, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.picker)

    def show_below(self, anchor: QWidget, current: tuple[str, str] | None) -> None:
        """Open right-aligned under ``anchor`` with ``current`` (provider, model) selected."""
        self.picker.refresh()
        if current is not None:
            self.picker.set_current(*current)
        self.resize(max(420, anchor.width()), 420)
        corner = anchor.mapToGlobal(anchor.rect().bottomRight())
        self.move(max(0, corner.x() - self.width()), corner.y())
        self.show()
        self.picker.search.setFocus()
