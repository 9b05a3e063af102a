"""A searchable model picker spanning every provider, with manual entry.

Rows are grouped: favourites, recently used, then each provider's models, each with its
capability tags (chat, vision, tools, reasoning, embeddings, image, audio) and its price per
1M tokens where known. A panel names the kinds it can use (chat shows chat models, images
image models); "All models" lifts that. Typing filters across every group. Ctrl+D (or the
context menu) makes the current model a favourite.

Lists come from each profile's own models (presets, typed-in ones) and the cached model
lists (``app.core.models_cache``), so the picker works offline. Providers that list
nothing (stapi has no model list) get a model typed by hand; it is remembered in the
profile so it shows up next time.

Usage::

    picker = ModelPicker(registry, models_cache)
    picker.model_chosen.connect(on_model_chosen)   # (provider_id, model)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QKeyEvent,
    QKeySequence,
    QShowEvent,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.models_cache import (
    ModelChoice,
    ModelsCache,
    format_price,
    model_choices,
    model_key,
)
from app.core.providers import ProviderRegistry
from app.ui.dialogs.common import named
from app.ui.widgets.model_rows import (
    FAVOURITE_ROLE,
    HEADER_ROLE,
    MODEL_ROLE,
    PRICE_ROLE,
    PROVIDER_ROLE,
    SEARCH_ROLE,
    SECTION_ROLE,
    TAGS_ROLE,
    ModelRowDelegate,
)

if TYPE_CHECKING:
    from app.settings import SettingsStore

__all__ = ["MODEL_ROLE", "PROVIDER_ROLE", "ModelPicker", "ModelPickerPopup"]


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
        if index.data(HEADER_ROLE) or index.data(SECTION_ROLE) != "provider":
            return False  # while filtering: one flat list, each model once
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
        settings: SettingsStore | None = None,
        kinds: Sequence[str] = (),
    ) -> None:
        super().__init__(parent)
        self.registry = registry
        self.models_cache = models_cache
        self.remember_manual = remember_manual
        self.settings = settings  # favourites and recent models live there
        self.kinds = tuple(kinds)  # what the panel can use; empty: every kind
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
        self.list_view.setUniformItemSizes(False)  # headers are taller than model rows
        self.list_view.setItemDelegate(ModelRowDelegate(self.list_view))
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.installEventFilter(self)  # Ctrl+D: favourite (works in any popup)
        self.all_models = named(
            QCheckBox("All models"),
            "allModelsCheck",
            "Show every kind of model",
            "Also list models this panel may not be able to use",
        )
        self.all_models.setVisible(bool(self.kinds))
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
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.all_models)
        layout.addLayout(top)
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
        self.all_models.toggled.connect(lambda _on: self.refresh())
        self.list_view.customContextMenuRequested.connect(self.on_list_context_menu)

    # -- public ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Rebuild from the registry and the cache (also done each time the picker is shown)."""
        every = model_choices(self.registry, self.models_cache)
        wanted = self.kinds if self.kinds and not self.all_models.isChecked() else ()
        self._choices = [c for c in every if not wanted or c.kind in wanted]
        by_key = {c.key: c for c in self._choices}
        settings = self.settings.get() if self.settings is not None else None
        favourites = (
            [by_key[k] for k in settings.favourite_models if k in by_key] if settings else []
        )
        recent = [by_key[k] for k in settings.recent_models if k in by_key] if settings else []
        starred = {c.key for c in favourites}
        self.model.clear()
        if favourites:
            self._add_section("Favourites", favourites, "favourites", starred)
        recent = [c for c in recent if c.key not in starred]
        if recent:
            self._add_section("Recently used", recent, "recent", starred)
        for profile in self.registry:
            own = [c for c in self._choices if c.provider_id == profile.id]
            if own:
                self._add_section(profile.name, own, "provider", starred)
        current = self.manual_provider.currentData()
        self.manual_provider.clear()
        for profile in self.registry:
            self.manual_provider.addItem(profile.name, profile.id)
        index = self.manual_provider.findData(current)
        if index >= 0:
            self.manual_provider.setCurrentIndex(index)
        self.on_manual_text_changed(self.manual_model.text())
        self._update_empty()

    def _add_section(
        self, title: str, choices: list[ModelChoice], section: str, starred: set[str]
    ) -> None:
        header = QStandardItem(title)
        header.setData(True, HEADER_ROLE)
        header.setData(section, SECTION_ROLE)
        header.setFlags(Qt.ItemFlag.ItemIsEnabled)  # not selectable, not choosable
        header.setAccessibleText(f"{title}: {len(choices)} models")
        self.model.appendRow(header)
        for choice in choices:
            price = format_price(choice.price)
            tags = choice.tags
            item = QStandardItem(f"{choice.label}    {price}" if price else choice.label)
            item.setData(choice.provider_id, PROVIDER_ROLE)
            item.setData(choice.model, MODEL_ROLE)
            item.setData(tags, TAGS_ROLE)
            item.setData(price, PRICE_ROLE)
            item.setData(section, SECTION_ROLE)
            item.setData(choice.key in starred, FAVOURITE_ROLE)
            item.setData(
                f"{choice.provider_name} / {choice.model} {choice.provider_id} {' '.join(tags)}".lower(),
                SEARCH_ROLE,
            )
            words = ", ".join(tags)
            item.setToolTip(f"{choice.label}\n{words}\n{price or 'price unknown'}")
            item.setAccessibleText(f"{choice.label}, {words}, {price or 'price unknown'}")
            item.setEditable(False)
            self.model.appendRow(item)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.list_view
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_D
            and event.modifiers() == Qt.KeyboardModifier.ControlModifier
        ):
            self.toggle_favourite()
            return True
        return super().eventFilter(watched, event)

    def toggle_favourite(self) -> None:
        """Ctrl+D: the current model becomes a favourite, or stops being one."""
        current = self.current()
        if current is None or self.settings is None:
            return
        key = model_key(*current)
        favourites = list(self.settings.get().favourite_models)
        favourites = (
            [k for k in favourites if k != key] if key in favourites else [key, *favourites]
        )
        self.settings.update(favourite_models=tuple(favourites))
        self.refresh()
        self.set_current(*current)

    def on_list_context_menu(self, pos: QPoint) -> None:
        index = self.list_view.indexAt(pos)
        if not index.isValid() or index.data(HEADER_ROLE) or self.settings is None:
            return
        self.list_view.setCurrentIndex(index)
        menu = QMenu(self)
        menu.setObjectName("modelPickerMenu")
        starred = bool(index.data(FAVOURITE_ROLE))
        action = menu.addAction("Remove from favourites" if starred else "Add to favourites")
        action.setShortcut(QKeySequence("Ctrl+D"))
        action.triggered.connect(self.toggle_favourite)
        menu.popup(self.list_view.viewport().mapToGlobal(pos))

    def _remember_recent(self, provider_id: str, model: str) -> None:
        if self.settings is None:
            return
        key = model_key(provider_id, model)
        recent = [k for k in self.settings.get().recent_models if k != key]
        self.settings.update(recent_models=(key, *recent))

    def choices(self) -> list[ModelChoice]:
        return list(self._choices)

    def visible_labels(self) -> list[str]:
        """``provider / model`` of every choosable row shown, top to bottom."""
        return [
            str(self.proxy.index(row, 0).data(Qt.ItemDataRole.DisplayRole)).split("    ")[0]
            for row in range(self.proxy.rowCount())
            if not self.proxy.index(row, 0).data(HEADER_ROLE)
        ]

    def sections(self) -> list[str]:
        """The section titles shown (favourites, recent, then each provider)."""
        return [
            str(self.proxy.index(row, 0).data(Qt.ItemDataRole.DisplayRole))
            for row in range(self.proxy.rowCount())
            if self.proxy.index(row, 0).data(HEADER_ROLE)
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

    def _first_choice(self) -> QModelIndex | None:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if not index.data(HEADER_ROLE):
                return index
        return None

    def on_search_text_changed(self, text: str) -> None:
        self.proxy.set_words(text)
        first = self._first_choice()
        if first is not None:
            self.list_view.setCurrentIndex(first)
        self._update_empty()

    def on_search_return_pressed(self) -> None:
        index: QModelIndex | None = self.list_view.currentIndex()
        if index is None or not index.isValid() or index.data(HEADER_ROLE):
            index = self._first_choice()
        if index is not None:
            self.on_list_activated(index)

    def on_search_down_pressed(self) -> None:
        self.list_view.setFocus()
        first = self._first_choice()
        if not self.list_view.currentIndex().isValid() and first is not None:
            self.list_view.setCurrentIndex(first)

    def on_list_activated(self, index: QModelIndex) -> None:
        if index.data(HEADER_ROLE):
            return
        provider_id, model = str(index.data(PROVIDER_ROLE)), str(index.data(MODEL_ROLE))
        self._remember_recent(provider_id, model)
        self.model_chosen.emit(provider_id, model)

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
        self._remember_recent(provider_id, model)
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
        *,
        settings: SettingsStore | None = None,
        kinds: Sequence[str] = (),
    ) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName(object_name)
        self.picker = ModelPicker(registry, models_cache, self, settings=settings, kinds=kinds)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.picker)

    def show_below(self, anchor: QWidget, current: tuple[str, str] | None) -> None:
        """Open right-aligned under ``anchor`` with ``current`` (provider, model) selected."""
        self.picker.refresh()
        if current is not None:
            self.picker.set_current(*current)
        self.resize(max(520, anchor.width()), 460)
        corner = anchor.mapToGlobal(anchor.rect().bottomRight())
        self.move(max(0, corner.x() - self.width()), corner.y())
        self.show()
        self.picker.search.setFocus()
