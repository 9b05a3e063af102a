"""The chat's prompt library: the Prompts menu and the composer's "/" menu.

A saved prompt goes into the composer; an assistant sets the conversation's system prompt,
parameters and model (``apply``), in this chat or a new one. The library lives in the
history database (``ctx.prompts``); this module only asks and shows.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog, QMenu, QToolButton, QWidget

from app.core.context import AppContext
from app.core.prompts import AssistantSetup, Prompt, PromptLibrary
from app.ui.composer import Composer
from app.ui.dialogs.common import named
from app.ui.tasks import TaskOwner


class ChatPrompts(QObject):
    said = Signal(str)  # a line for the status bar

    def __init__(
        self,
        ctx: AppContext,
        tasks: TaskOwner,
        composer: Composer,
        *,
        current: Callable[[], AssistantSetup],
        apply: Callable[[AssistantSetup], None],
        new_chat: Callable[[], None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._ctx, self._tasks, self._composer = ctx, tasks, composer
        self._current, self._apply, self._new_chat = current, apply, new_chat
        self._parent = parent
        self.button = named(
            QToolButton(parent),
            "promptsButton",
            "Prompts",
            "Saved prompts and assistants (or type / in the message box)",
        )
        self.button.setText("Prompts")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = named(QMenu(self.button), "promptsMenu", "Prompts")
        self.menu.aboutToShow.connect(self.on_menu_about_to_show)
        self.button.setMenu(self.menu)
        composer.prompt_menu.set_source(lambda: self.library.items)
        composer.prompt_menu.chosen.connect(self.on_prompt_chosen)
        tasks.start("prompts-load", self.library.load())

    @property
    def library(self) -> PromptLibrary:
        return self._ctx.prompts

    # -- using

    def on_prompt_chosen(self, prompt: Prompt) -> None:
        if prompt.is_assistant:
            self._composer.set_text("")
            self.use_assistant(prompt)
        else:
            self._composer.set_text(prompt.body)

    def use_assistant(self, assistant: Prompt, *, new_chat: bool = False) -> None:
        if new_chat:
            self._new_chat()
        self._apply(PromptLibrary.setup(assistant))
        self.said.emit(f"Assistant “{assistant.name}”: its instructions and settings are on.")

    # -- the menu

    def on_menu_about_to_show(self) -> None:
        menu = self.menu
        menu.clear()
        prompts = [p for p in self.library.items if not p.is_assistant]
        assistants = [p for p in self.library.items if p.is_assistant]
        insert = menu.addMenu("Insert prompt")
        for p in prompts:
            insert.addAction(p.name, partial(self._composer.set_text, p.body))
        insert.setEnabled(bool(prompts))
        start = menu.addMenu("New chat with assistant")
        for a in assistants:
            start.addAction(a.name, partial(self.use_assistant, a, new_chat=True))
        start.setEnabled(bool(assistants))
        menu.addSeparator()
        save_text = menu.addAction("Save message as prompt…", self.on_save_prompt)
        save_text.setEnabled(bool(self._composer.text().strip()))
        menu.addAction("Save this chat's settings as assistant…", self.on_save_assistant)
        delete = menu.addMenu("Delete")
        for p in self.library.items:
            delete.addAction(p.name, partial(self._delete, p))
        delete.setEnabled(bool(self.library.items))

    def on_save_prompt(self) -> None:
        text = self._composer.text().strip()
        name = self._ask_name("Save prompt", text.split("\n", 1)[0][:40])
        if name:
            self._tasks.start("prompts-save", self._save(self.library.save_prompt(name, text)))

    def on_save_assistant(self) -> None:
        name = self._ask_name("Save assistant", "")
        if name:
            saved = self.library.save_assistant(name, self._current())
            self._tasks.start("prompts-save", self._save(saved))

    def _ask_name(self, title: str, suggestion: str) -> str:
        name, ok = QInputDialog.getText(self._parent, title, "Name:", text=suggestion)
        return name.strip() if ok else ""

    async def _save(self, saving: object) -> None:
        prompt: Prompt = await saving  # type: ignore[misc]
        kind = "Assistant" if prompt.is_assistant else "Prompt"
        self.said.emit(f"{kind} “{prompt.name}” saved. Type / in the message box to use it.")

    def _delete(self, prompt: Prompt) -> None:
        async def delete() -> None:
            await self.library.delete(prompt.id)
            self.said.emit(f"“{prompt.name}” deleted.")

        self._tasks.start("prompts-delete", delete())
