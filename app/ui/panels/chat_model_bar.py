"""The bar above a conversation: which model answers, the picker, "Ask another model" and
the parameters toggle.

The model of the open conversation wins; a new chat uses the default (the settings' choice,
else the first chat model of the first provider, see :func:`app.core.targets.default_target`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.core.chat import Target
from app.core.context import AppContext
from app.core.targets import default_target
from app.ui.dialogs.common import named
from app.ui.tasks import TaskOwner

if TYPE_CHECKING:
    from app.ui.widgets.model_picker import ModelPicker, ModelPickerPopup


class ModelBar(QWidget):
    """``target_chosen`` when the person picks this chat's model; ``another_chosen(provider,
    model)`` when they pick one to answer the last prompt beside it."""

    target_chosen = Signal(object)  # Target
    another_chosen = Signal(str, str)
    said = Signal(str)  # a line for the status bar

    def __init__(self, ctx: AppContext, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "modelBar", "Model of this conversation")
        self.ctx = ctx
        self.tasks = tasks
        # (provider, model) of the open conversation; None for a new chat (uses the default).
        self.conversation_target: tuple[str | None, str | None] | None = None
        self.target_label = named(QLabel(), "targetLabel", "Current model")
        self.model_button = named(
            QPushButton("Choose model…"),
            "modelPickerButton",
            "Choose model",
            "Choose the model (any provider)",
        )
        self.another_button = named(
            QPushButton("Ask another model…"),
            "askAnotherModelButton",
            "Ask another model",
            "Run the last prompt on a second model and compare both answers side by side",
        )
        self.params_button = named(
            QPushButton("Parameters"),
            "paramsButton",
            "Conversation parameters",
            "System prompt and sampling parameters",
        )
        self.params_button.setCheckable(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 0)
        layout.addWidget(self.target_label, 1)
        layout.addWidget(self.model_button)
        layout.addWidget(self.another_button)
        layout.addWidget(self.params_button)
        self._layout = layout
        self._picker_popup: ModelPickerPopup | None = None  # made on first use
        self._picking_another = False  # the open picker is for "ask another model"
        self.has_answer: Callable[[], bool] = lambda: False  # set by the panel
        self.model_button.clicked.connect(self.on_model_button_clicked)
        self.another_button.clicked.connect(self.on_another_button_clicked)

    @property
    def picker_popup(self) -> ModelPickerPopup:
        """The model picker (every provider's models), made the first time it is needed."""
        if self._picker_popup is None:
            from app.ui.widgets.model_picker import ModelPickerPopup

            self._picker_popup = ModelPickerPopup(
                self.ctx.registry,
                self.ctx.models,
                self,
                settings=self.ctx.settings,
                kinds=("chat",),
            )
            self._picker_popup.picker.model_chosen.connect(self.on_picker_model_chosen)
        return self._picker_popup

    @property
    def picker(self) -> ModelPicker:
        return self.picker_popup.picker

    def target(self) -> Target | None:
        """The open conversation's model, else the default one; None when there is none."""
        if self.conversation_target is not None:
            provider, model = self.conversation_target
            if provider and model and self.ctx.registry.get(provider) is not None:
                return Target(provider, model)
        return default_target(self.ctx.settings.get(), self.ctx.registry, self.ctx.models)

    def add_button(self, button: QWidget) -> None:
        """Another button of the bar (before Parameters)."""
        self._layout.insertWidget(self._layout.indexOf(self.params_button), button)

    def choose(self, target: Target) -> None:
        """This conversation's model (and the default for new ones)."""
        self.conversation_target = (target.provider_id, target.model)
        self.ctx.settings.update(default_provider=target.provider_id, default_model=target.model)
        self.show_target(target)

    def show_target(self, target: Target | None = None) -> None:
        if not self.ctx.registry.loaded:
            return  # the profiles are read after the first paint; refresh() then
        target = target or self.target()
        if target is None:
            self.target_label.setText("No model chosen — add a provider and pick a model.")
            return
        profile = self.ctx.registry.get(target.provider_id)
        name = profile.name if profile else target.provider_id
        self.target_label.setText(f"{name} / <b>{target.model}</b>")

    def refresh(self) -> None:
        """After providers change: the picker's lists and the label."""
        if self._picker_popup is not None:  # else it is filled when made
            self._picker_popup.picker.refresh()
        self.show_target()

    def on_model_button_clicked(self) -> None:
        self._picking_another = False
        target = self.target()
        current = (target.provider_id, target.model) if target is not None else None
        self.picker_popup.show_below(self.model_button, current)
        self.tasks.start("models", self._fetch_missing_models())

    def on_another_button_clicked(self) -> None:
        if not self.has_answer():
            self.said.emit("There is no answer yet to compare with another model.")
            return
        self.on_model_button_clicked()
        self._picking_another = True  # after: opening the picker resets it

    async def _fetch_missing_models(self) -> None:
        """Fill the picker with the lists of providers never fetched (offline: cache only)."""
        if await self.ctx.fetch_model_lists():
            self.picker.refresh()

    def on_picker_model_chosen(self, provider_id: str, model: str) -> None:
        self.picker_popup.hide()
        another, self._picking_another = self._picking_another, False
        if another:
            self.another_chosen.emit(provider_id, model)
        else:
            target = Target(provider_id, model)
            self.choose(target)
            self.target_chosen.emit(target)
