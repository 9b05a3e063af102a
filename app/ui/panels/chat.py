"""The chat panel: the message view, the composer, and the model / prompt / parameter bar.

It runs one :class:`~app.core.chat.ChatSession` per open conversation and owns the answer
task (Stop cancels it; the stopped answer is kept); the answer reaches the view through a
:class:`~app.ui.stream_presenter.StreamPresenter`. Per-message requests (delete, branch,
read aloud, images, links) are ``chat_actions``'; the moderation pieces ``chat_moderation``'s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import log
from app.api import Waiting, reporting_waits, wait_words
from app.core import moderation
from app.core.chat import AnswerFinished, ChatEvent, ChatSession, MessageSaved, Target
from app.core.context import AppContext
from app.core.prompts import AssistantSetup
from app.core.remote_images import cached_images
from app.store import Message, StoreWriteError
from app.ui.chat.messages import DisplayMessage, Role, Status
from app.ui.composer import Composer
from app.ui.errors import failure_text
from app.ui.panels import chat_moderation
from app.ui.panels.chat_actions import MessageActions
from app.ui.panels.chat_model_bar import ModelBar
from app.ui.panels.chat_prompts import ChatPrompts
from app.ui.panels.edit_bar import EditBar
from app.ui.settings_notifier import SettingsNotifier
from app.ui.stream_presenter import StreamPresenter, display_message
from app.ui.tasks import TaskOwner
from app.ui.widgets.mic_button import MicButton, attach_to_composer
from app.ui.widgets.wait_notice import WaitNotice

if TYPE_CHECKING:  # each made on first use (their modules load pydantic or the audio stack)
    from app.core.speech import Speaker
    from app.ui.chat.message_view import ConversationView
    from app.ui.dialogs.welcome import WelcomePanel
    from app.ui.params import ParamsDrawer
    from app.ui.widgets.model_picker import ModelPicker, ModelPickerPopup

_log = log.get("ui.chat")

PAGE = 200


class ChatPanel(QWidget):
    """One conversation at a time; ``conversation_changed`` tells the sidebar to refresh."""

    conversation_changed = Signal(int)
    status_changed = Signal(str)
    providers_requested = Signal()
    settings_requested = Signal()
    another_model_requested = Signal(int, str, str)  # answer id, provider id, model

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatPanel")
        self.setAccessibleName("Chat panel")
        self.ctx = ctx
        self.tasks = TaskOwner(self.on_task_failed)
        self.session = ChatSession(ctx.store, ctx.clients)
        self._older_cursor: int | None = None
        # The moderation check of the prompt being sent, kept on its row once saved.
        self._prompt_verdict: Awaitable[moderation.Verdict] | None = None
        self.model_bar = ModelBar(ctx, self.tasks)
        self.model_bar.has_answer = lambda: self._last_answer_id() is not None
        # The bar's parts, by the names users (and tests) know them.
        self.target_label = self.model_bar.target_label
        self.model_button = self.model_bar.model_button
        self.params_button = self.model_bar.params_button
        self.another_button = self.model_bar.another_button
        # The conversation view (and Markdown's renderer behind it) is made when there is a
        # conversation to show, or right after the first paint; until then an empty page
        # that paints as the empty view does.
        self._view: ConversationView | None = None
        self._presenter: StreamPresenter | None = None  # streams answers into the view
        self._empty_page = QWidget()
        self._empty_page.setBackgroundRole(QPalette.ColorRole.Base)
        self._empty_page.setAutoFillBackground(True)
        self.composer = Composer()
        self.composer.set_send_on_enter(ctx.settings.get().send_key == "enter")
        self.mic = MicButton(ctx)  # voice input: records, transcribes, inserts
        attach_to_composer(self.mic, self.composer.attach_button)
        # Delete, branch, read aloud, images, links: made with the view.
        self._message_actions: MessageActions | None = None
        self._drawer: ParamsDrawer | None = None  # made when first opened
        self.prompts = ChatPrompts(
            ctx, self.tasks, self.composer, current=self._assistant_setup,
            apply=self.apply_assistant, new_chat=self.new_chat, parent=self,
        )  # fmt: skip
        self.model_bar.add_button(self.prompts.button)

        main = QWidget()
        column = QVBoxLayout(main)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.model_bar)
        self._welcome: WelcomePanel | None = None  # made when there is no provider to use
        self.pages = QStackedWidget()
        self.pages.addWidget(self._empty_page)
        column.addWidget(self.pages, 1)
        self.wait_notice = WaitNotice("answerWait")  # under the answer it holds up
        column.addWidget(self.wait_notice)
        self.edit_bar = EditBar()
        column.addWidget(self.edit_bar)
        column.addWidget(self.composer)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(main)
        splitter.setStretchFactor(0, 1)
        splitter.setChildrenCollapsible(False)
        self._splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        # Parameter edits are saved to the conversation once typing settles.
        self._save_params_timer = QTimer(self, singleShot=True, interval=400)
        self._connect_signals()
        if ctx.registry.loaded:  # else once the engine has loaded (MainWindow.finish_start)
            self.refresh_providers()

    def _connect_signals(self) -> None:
        self.composer.send_requested.connect(self.on_composer_send_requested)
        self.composer.stop_requested.connect(self.stop)
        self.edit_bar.cancelled.connect(self.composer.clear)
        self.edit_bar.marked.connect(self.on_edit_bar_marked)
        self.wait_notice.stop_requested.connect(self.stop)
        self.wait_notice.ended.connect(lambda: self.status_changed.emit(""))  # "Waiting…" is over
        self.composer.error_occurred.connect(self.status_changed)
        self.mic.transcribed.connect(self.composer.insert_text)
        self.mic.status_changed.connect(self.status_changed)
        self.prompts.said.connect(self.status_changed)
        self.settings_notifier = SettingsNotifier(self.ctx.settings, self)
        self.settings_notifier.changed.connect(self._on_settings_changed)
        self.model_bar.target_chosen.connect(self.set_target)
        self.model_bar.another_chosen.connect(self.on_another_model_chosen)
        self.model_bar.said.connect(self.status_changed)
        self.params_button.toggled.connect(lambda shown: self.drawer.setVisible(shown))
        self._save_params_timer.timeout.connect(self.on_save_params_timer_fired)

    @property
    def view(self) -> ConversationView:
        """The message list, made on first use (see ``__init__``)."""
        if self._view is None:
            from app.ui.chat.message_view import ConversationView

            view = self._view = ConversationView()
            self._presenter = StreamPresenter(view, self._display_one)
            self._message_actions = MessageActions(self.ctx, self.tasks, view, self)
            self._message_actions.rows_changed.connect(self.on_actions_rows_changed)
            self._message_actions.status_changed.connect(self.status_changed)
            showing_empty = self.pages.currentWidget() is self._empty_page
            self.pages.insertWidget(0, view)
            if showing_empty:
                self.pages.setCurrentWidget(view)
            self.pages.removeWidget(self._empty_page)
            self._empty_page.deleteLater()
            view.regenerate_requested.connect(self.on_view_regenerate_requested)
            view.retry_requested.connect(self.on_view_regenerate_requested)
            view.edit_requested.connect(self.on_view_edit_requested)
            view.older_requested.connect(self.on_view_older_requested)
            view.message_copied.connect(lambda _id: self.status_changed.emit("Message copied."))
            view.code_copied.connect(lambda _id, _n: self.status_changed.emit("Code copied."))
        return self._view

    @property
    def presenter(self) -> StreamPresenter:
        """Streams the answers into the view (made with it)."""
        if self._presenter is None:
            _ = self.view
        assert self._presenter is not None
        return self._presenter

    @property
    def speaker(self) -> Speaker | None:
        """What reads answers aloud, once a first one was."""
        return self._message_actions.speaker if self._message_actions is not None else None

    @property
    def drawer(self) -> ParamsDrawer:
        """System prompt and sampling parameters, made the first time they are opened."""
        if self._drawer is None:
            from app.ui.params import ParamsDrawer, ParamsPresets

            presets = ParamsPresets(self.ctx.paths.config / "parameter-presets.json")
            self._drawer = ParamsDrawer(presets)
            self._drawer.hide()
            self._splitter.addWidget(self._drawer)
            self._drawer.set_values(self.session.params, self.session.system_prompt)
            self._drawer.changed.connect(self.on_drawer_changed)
        return self._drawer

    @property
    def picker_popup(self) -> ModelPickerPopup:
        return self.model_bar.picker_popup

    @property
    def picker(self) -> ModelPicker:
        return self.model_bar.picker

    @property
    def welcome(self) -> WelcomePanel:
        """The first-run page (presets, local servers found), made the first time it shows."""
        if self._welcome is None:
            from app.ui.dialogs.welcome import WelcomePanel

            self._welcome = WelcomePanel(self.ctx.registry)
            self.pages.addWidget(self._welcome)
            self._welcome.providers_requested.connect(self.providers_requested)
            self._welcome.settings_requested.connect(self.settings_requested)
            self._welcome.provider_added.connect(self.on_welcome_provider_added)
        return self._welcome

    # --- target ------------------------------------------------------------------------------
    def target(self) -> Target | None:
        """The open conversation's model, else the default one; None when there is none."""
        return self.model_bar.target()

    def set_target(self, target: Target) -> None:
        """Model for this conversation (and the default for new ones)."""
        self.model_bar.choose(target)
        if self.session.conversation_id is not None:
            self.tasks.start(
                "target",
                self.ctx.store.update_conversation(
                    self.session.conversation_id, provider=target.provider_id, model=target.model
                ),
            )

    def refresh_providers(self) -> None:
        """After providers change: the welcome page only while none exists; the target label."""
        has_providers = bool(self.ctx.registry.all())
        welcoming = not has_providers and not self.view.message_ids()
        self.pages.setCurrentWidget(self.welcome if welcoming else self.view)
        # Nothing can be sent before a provider exists: the composer waits with the page.
        self.composer.setEnabled(not welcoming)
        self.model_bar.refresh()

    def on_welcome_provider_added(self, provider_id: str) -> None:
        profile = self.ctx.registry.get(provider_id)
        if profile is not None and profile.models and self.target() is None:
            self.set_target(Target(provider_id, profile.models[0]))
        self.refresh_providers()
        if self.target() is None:
            self.model_bar.on_model_button_clicked()

    def on_another_model_chosen(self, provider_id: str, model: str) -> None:
        answer = self._last_answer_id()
        if answer is not None:
            self.another_model_requested.emit(answer, provider_id, model)

    def _last_answer_id(self) -> int | None:
        for message_id in reversed(self.view.message_ids()):
            message = self.view.message(message_id)
            if message is not None and message.role is Role.ASSISTANT and message.text:
                return message_id
        return None

    def on_drawer_changed(self) -> None:
        try:
            self.session.params = self.drawer.params()
        except ValueError:
            return  # the drawer shows the problem; the last valid parameters stay in use
        self.session.system_prompt = self.drawer.system_prompt.toPlainText()
        self._save_params_timer.start()

    def on_save_params_timer_fired(self) -> None:
        if self.session.conversation_id is None:
            return
        self.tasks.start(
            "params",
            self.ctx.store.update_conversation(
                self.session.conversation_id,
                params=self.session.params,
                system_prompt=self.session.system_prompt,
            ),
        )

    def _assistant_setup(self) -> AssistantSetup:
        """This chat's instructions, parameters and model, to save as an assistant."""
        target = self.target()
        return AssistantSetup(
            self.session.system_prompt,
            dict(self.session.params),
            target.provider_id if target else None,
            target.model if target else None,
        )

    def apply_assistant(self, setup: AssistantSetup) -> None:
        """An assistant's system prompt and parameters, and its model while it is set up."""
        self.session.system_prompt = setup.system_prompt
        self.session.params = dict(setup.params)
        if self._drawer is not None:
            self._drawer.set_values(self.session.params, self.session.system_prompt)
        if setup.provider and setup.model and self.ctx.registry.get(setup.provider):
            self.set_target(Target(setup.provider, setup.model))
        self.on_save_params_timer_fired()

    def _on_settings_changed(self, settings: Any, changed: frozenset[str]) -> None:
        if "send_key" in changed:
            self.composer.set_send_on_enter(settings.send_key == "enter")

    # --- conversations -----------------------------------------------------------------------
    def new_chat(self) -> None:
        self.stop()
        self.edit_bar.end()
        self.model_bar.conversation_target = None
        self.session = ChatSession(
            self.ctx.store,
            self.ctx.clients,
            params=self.session.params,
            system_prompt=self.session.system_prompt,
        )
        if self._view is not None:
            self._view.set_messages([])
        self._older_cursor = None
        self.model_bar.show_target()
        self.composer.input.setFocus()

    def open_conversation(self, conversation_id: int, at_message: int | None = None) -> None:
        """Show the newest page of the conversation's active branch (older pages on demand);
        with ``at_message`` (a search hit), that message, on whichever branch it is."""
        if self.session.conversation_id == conversation_id and self.tasks.running("answer"):
            if at_message is not None:
                self.show_message(at_message)
            return
        self.stop()
        conversation = self.ctx.store.get_conversation(conversation_id)
        self.session = ChatSession(
            self.ctx.store,
            self.ctx.clients,
            conversation_id,
            params=conversation.params,
            system_prompt=conversation.system_prompt,
        )
        if self._drawer is not None:  # else it starts from the session's values when made
            self._drawer.set_values(conversation.params, conversation.system_prompt)
        self.model_bar.conversation_target = (
            (conversation.provider, conversation.model) if conversation.model else None
        )
        page = self.ctx.store.page(conversation_id, PAGE)
        self.pages.setCurrentWidget(self.view)
        self._older_cursor = page.older_cursor
        self.view.set_messages(self._display(page.messages))
        self.model_bar.show_target()
        if at_message is not None:
            self.show_message(at_message)

    def show_message(self, message_id: int) -> None:
        """Bring a message of the open conversation into view, loading older pages or
        switching to its branch as needed."""
        self._load_until(message_id)
        if not self.view.reveal_message(message_id):
            self.tasks.start("branch", self._show_on_its_branch(message_id))

    async def _show_on_its_branch(self, message_id: int) -> None:
        message = self.ctx.store.get_message(message_id)
        await self.ctx.store.select_branch(message_id)
        self.open_conversation(message.conversation_id)
        self._load_until(message_id)
        self.view.reveal_message(message_id)

    def _load_until(self, message_id: int) -> None:
        """Older pages of the branch shown, until ``message_id`` is among them (or none are left)."""
        while message_id not in self.view.message_ids() and self._older_cursor is not None:
            self.on_view_older_requested()

    def _display(self, messages: list[Message]) -> list[DisplayMessage]:
        positions = self.ctx.store.branch_positions([m.id for m in messages])
        displayed = []
        for message in messages:
            display = display_message(message, positions.get(message.id, (0, 1)))
            if message.parts:
                display.images = cached_images(self.ctx.store, message)
            displayed.append(display)
        return displayed

    def _display_one(self, message: Message) -> DisplayMessage:
        return self._display([message])[0]

    def on_actions_rows_changed(self) -> None:
        if self.session.conversation_id is not None:
            self.open_conversation(self.session.conversation_id)

    def on_view_older_requested(self) -> None:
        if self._older_cursor is None or self.session.conversation_id is None:
            return
        page = self.ctx.store.page(self.session.conversation_id, PAGE, before=self._older_cursor)
        self._older_cursor = page.older_cursor
        self.view.prepend_messages(self._display(page.messages))

    # --- sending -----------------------------------------------------------------------------
    def on_composer_send_requested(self, text: str, attachments: list[Any]) -> None:
        target = self.target()
        if target is None:
            self.status_changed.emit("Choose a provider and model first (Providers… in the menu).")
            return
        self.composer.clear()
        editing = self.edit_bar.message_id
        self.edit_bar.end()
        if self.ctx.settings.get().moderation:
            self.composer.set_busy(True)
            self.tasks.start(
                "moderate", self._moderate_then_send(text, attachments, target, editing)
            )
            return
        self._send(text, attachments, target, editing)

    def _send(self, text: str, attachments: list[Any], target: Target, editing: int | None) -> None:
        # Sending means wanting to see it: follow the end even when scrolled up to read.
        self.view.scroll_to_bottom()
        if editing is not None:
            self._run(self.session.edit(editing, text, target), restore=(text, attachments))
        else:
            self._run(self.session.send(text, target, attachments), restore=(text, attachments))

    async def _moderate_then_send(
        self, text: str, attachments: list[Any], target: Target, editing: int | None
    ) -> None:
        """Check the prompt (a failed check is "not checked", never a reason not to send);
        with the warning on, a flagged prompt waits for the user's word."""
        settings = self.ctx.settings.get()
        check = self.tasks.start(
            "moderation-prompt", chat_moderation.check(self.ctx, text, target.provider_id)
        )
        try:
            if settings.moderation_warn:
                verdict = await check
                if verdict.flagged and not await chat_moderation.confirm_flagged(self, verdict):
                    self.composer.set_busy(False)
                    self._give_back(text, editing)
                    self.status_changed.emit(f"Not sent. {verdict.summary()}")
                    return
        except asyncio.CancelledError:  # stopped while checking: nothing was sent
            self.composer.set_busy(False)
            self._give_back(text, editing)
            raise
        self._prompt_verdict = check
        self._send(text, attachments, target, editing)

    async def _keep_verdict(
        self, message_id: int, pending: Awaitable[moderation.Verdict], what: str
    ) -> None:
        verdict = await pending
        await moderation.attach(self.ctx.store, message_id, verdict)
        self.status_changed.emit(f"{what}: {verdict.summary()}")
        shown = self.view.message(message_id)
        if shown is not None and shown.status is not Status.STREAMING:  # show it on the row
            self.view.update_message(self._display([self.ctx.store.get_message(message_id)])[0])

    def on_view_regenerate_requested(self, message_id: int) -> None:
        target = self.target()
        if target is not None and not self.tasks.running("answer"):
            self._run(self.session.regenerate(message_id, target))

    def on_view_edit_requested(self, message_id: int) -> None:
        message = self.view.message(message_id)
        if message is None or self.tasks.running("answer"):
            return
        self.composer.set_text(message.text)
        self.composer.input.setFocus()
        self.edit_bar.start(message_id, message.text)

    def stop(self) -> None:
        """Esc: stop the answer, or else give up an edit."""
        if not self.tasks.running("answer") and self.edit_bar.isVisible():
            self.edit_bar.on_cancel_clicked()
        self.tasks.cancel("moderate")
        self.tasks.cancel("answer")

    def on_edit_bar_marked(self, message_id: int | None) -> None:
        if self._view is not None:
            self._view.mark_message(message_id)

    def _give_back(self, text: str, editing: int | None) -> None:
        """Not sent after all: the text goes back, and so does the edit it was."""
        self.composer.set_text(text)
        if editing is not None:
            self.edit_bar.start(editing, text)

    def on_answer_waiting(self, waiting: Waiting) -> None:
        """The client waits before trying again: count it down, offer Retry now and Stop."""
        self.wait_notice.show_wait(waiting)
        self.status_changed.emit(
            f"Waiting {wait_words(waiting.seconds)}: {waiting.reason}. Esc stops the answer."
        )

    def _moderate_answer(self, message: Message) -> None:
        check = chat_moderation.answer_check(self.ctx, message)
        if check is not None:
            self.tasks.start("moderation-answer", self._keep_verdict(message.id, check, "Answer"))

    def _run(
        self, events: AsyncIterator[ChatEvent], restore: tuple[str, list[Any]] | None = None
    ) -> None:
        self.composer.set_busy(True)
        self.tasks.start("answer", self._consume(events, restore))

    async def _consume(
        self, events: AsyncIterator[ChatEvent], restore: tuple[str, list[Any]] | None
    ) -> None:
        started = time.perf_counter()
        new_conversation = self.session.conversation_id is None
        try:
            with reporting_waits(self.on_answer_waiting):
                async for event in events:
                    if self.wait_notice.waiting is not None:
                        self.wait_notice.end()  # the retried request is answering
                    # _display adds what a row may have gained: branches (n > 1), images.
                    self.presenter.on_chat_event(event)
                    if isinstance(event, MessageSaved):
                        if event.message.role == "user" and self._prompt_verdict is not None:
                            pending, self._prompt_verdict = self._prompt_verdict, None
                            self.tasks.start(
                                "moderation-keep",
                                self._keep_verdict(event.message.id, pending, "Prompt"),
                            )
                        if new_conversation and self.session.conversation_id is not None:
                            new_conversation = False
                            self.conversation_changed.emit(self.session.conversation_id)
                    elif isinstance(event, AnswerFinished):
                        if event.error is not None:
                            self.status_changed.emit(event.error.message)
                        else:
                            self._moderate_answer(event.message)
        except asyncio.CancelledError:
            # Stopped: the session saved the partial answer as "stopped"; show that row.
            stopped = self.presenter.message_id
            if stopped is not None:
                self.presenter.finished(self.ctx.store.get_message(stopped))
            raise
        except StoreWriteError as exc:
            # Nothing was lost: the text goes back into the composer for a retry.
            if restore is not None and not self.composer.text():
                self.composer.set_text(restore[0])
            self.status_changed.emit(
                f"Could not save: {exc}. Your message is back in the composer."
            )
        finally:
            self._prompt_verdict = None  # a prompt that never got saved keeps no verdict
            self.wait_notice.end()
            self.composer.set_busy(False)
            if self.session.conversation_id is not None:
                self.conversation_changed.emit(self.session.conversation_id)
            _log.debug("answer task ended after %.2f s", time.perf_counter() - started)

    # --- other actions -----------------------------------------------------------------------
    def copy_last_answer(self) -> None:
        for message_id in reversed(self.view.message_ids()):
            message = self.view.message(message_id)
            if message is not None and message.role is Role.ASSISTANT:
                QGuiApplication.clipboard().setText(message.text)
                self.status_changed.emit("Last answer copied.")
                return

    def on_task_failed(self, error: BaseException) -> None:
        _log.error("chat task failed", exc_info=error)
        self.composer.set_busy(False)
        self.status_changed.emit(failure_text(error))

    async def shutdown(self) -> None:
        await self.tasks.wait_all()
        await self.mic.shutdown()
