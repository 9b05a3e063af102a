"""The compare panel: choose 2 to 6 models, ask once, watch the answers stream side by side.

It drives a :class:`~app.core.compare.Comparison` (the run task is owned by the panel's
:class:`TaskOwner`; Stop All cancels the columns, each column's Stop only its own), maps
the run's events onto one :class:`ColumnWidget` per model, and offers the vote, blind
mode, the diff window, "continue with this answer", the run history and the leaderboard.

Per delta the panel does one thing: hand the text to that column's view, which buffers
it (the views' frame scheduler renders them staggered). Live figures are read from the
run four times a second.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import log
from app.api import ModelPrice
from app.core.chat import Attachment, Target
from app.core.compare import (
    MAX_COLUMNS,
    MIN_COLUMNS,
    ColumnDelta,
    ColumnFinished,
    ColumnSpec,
    ColumnStarted,
    ColumnStatus,
    ColumnWaiting,
    CompareEvent,
    Comparison,
    Pacer,
    delete_run,
)
from app.core.compare_history import board, load_models, recent_runs, save_models
from app.core.context import AppContext
from app.core.models_cache import effective_price
from app.ui.chat.messages import Status
from app.ui.dialogs.common import named
from app.ui.errors import failure_text
from app.ui.panels.compare.answers import AnswersArea, ColumnPool
from app.ui.panels.compare.chips import ModelChip
from app.ui.panels.compare.column import ColumnWidget
from app.ui.panels.compare.pages import DiffDialog, HistoryPage, LeaderboardPage
from app.ui.panels.compare.review import (
    answer_row,
    can_vote,
    column_title,
    figures,
    vote_hint,
)
from app.ui.panels.compare.setup import CompareSetup
from app.ui.tasks import TaskOwner
from app.ui.widgets.model_picker import ModelPicker

_log = log.get("ui.compare")

FIGURES_INTERVAL_MS = 250
HISTORY_LIMIT = 300


class ComparePanel(QWidget):
    """``conversation_opened`` carries a new conversation made from a chosen answer."""

    conversation_opened = Signal(int)
    status_changed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "comparePanel", "Compare panel")
        self.ctx = ctx
        self.tasks = TaskOwner(self.on_task_failed)
        self.pacer = Pacer()
        self.comparison: Comparison | None = None
        self.chips: list[ModelChip] = []
        self.columns: list[ColumnWidget] = []  # by index in the run
        self._chip_numbers = 0

        self.setup = CompareSetup()
        setup = self.setup
        self.chips_row, self.add_model_button = setup.chips_row, setup.add_model_button
        self.blind_check, self.layout_combo = setup.blind_check, setup.layout_combo
        self.sync_check, self.system_prompt = setup.sync_check, setup.system_prompt
        self.temperature, self.max_tokens = setup.temperature, setup.max_tokens
        self.prompt, self.attach_button = setup.prompt, setup.attach_button
        self.attachments_label = setup.attachments_label
        self.clear_attachments_button = setup.clear_attachments_button
        self.run_button, self.stop_all_button = setup.run_button, setup.stop_all_button
        self.run_label, self.tie_button = setup.run_label, setup.tie_button
        self.reveal_button, self.diff_button = setup.reveal_button, setup.diff_button
        self.hint = setup.hint

        # --- columns ---
        self.answers = AnswersArea()
        self.columns_scroll, self.columns_host = self.answers, self.answers.host
        self.grid, self.empty = self.answers.grid, self.answers.empty
        self.pool = ColumnPool(self._new_column, lambda: len(self.chips), self)

        self.picker_popup = QFrame(self, Qt.WindowType.Popup)
        self.picker_popup.setObjectName("compareModelPickerPopup")
        self.picker = ModelPicker(
            ctx.registry, ctx.models, self.picker_popup, settings=ctx.settings, kinds=("chat",)
        )
        popup_layout = QVBoxLayout(self.picker_popup)
        popup_layout.setContentsMargins(4, 4, 4, 4)
        popup_layout.addWidget(self.picker)
        self.diff_dialog = DiffDialog(self)
        self.history = HistoryPage()
        self.board = LeaderboardPage()

        self._build_layout()
        self.figures_timer = QTimer(self, interval=FIGURES_INTERVAL_MS)
        self.run_shortcut = QShortcut(QKeySequence("Ctrl+Return"), self.prompt)
        self.run_shortcut.setObjectName("runCompareShortcut")
        self._connect_signals()
        self.set_attachments([])
        self._load_models()
        self._update_buttons()

    def _build_layout(self) -> None:
        page = QWidget()
        page.setObjectName("compareRunPage")
        column = QVBoxLayout(page)
        column.setContentsMargins(8, 6, 8, 6)
        column.setSpacing(4)
        column.addWidget(self.setup)
        column.addWidget(self.columns_scroll, 1)

        self.tabs = named(QTabWidget(), "compareTabs", "Compare pages")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(page, "Compare")
        self.tabs.addTab(self.history, "History")
        self.tabs.addTab(self.board, "Leaderboard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def _connect_signals(self) -> None:
        self.add_model_button.clicked.connect(self.on_add_model_clicked)
        self.picker.model_chosen.connect(self.on_picker_model_chosen)
        self.run_button.clicked.connect(self.on_run_clicked)
        self.setup.attachment_problem.connect(self.on_attachment_problem)
        self.run_shortcut.activated.connect(self.on_run_clicked)
        self.stop_all_button.clicked.connect(self.stop)
        self.tie_button.clicked.connect(lambda: self.vote(None))
        self.reveal_button.clicked.connect(self.on_reveal_clicked)
        self.diff_button.clicked.connect(self.on_diff_clicked)
        self.layout_combo.currentIndexChanged.connect(lambda _i: self._arrange())
        self.sync_check.toggled.connect(self.on_sync_toggled)
        self.figures_timer.timeout.connect(self.on_figures_timer_timeout)
        self.tabs.currentChanged.connect(self.on_tabs_current_changed)
        self.history.run_activated.connect(self.open_run)
        self.history.delete_requested.connect(self.on_history_delete_requested)
        self.board.period_changed.connect(lambda _p: self.refresh_leaderboard())

    # --- choosing models ------------------------------------------------------------------------
    def add_model(self, target: Target, spec: ColumnSpec | None = None) -> ModelChip | None:
        if len(self.chips) >= MAX_COLUMNS:
            self.status_changed.emit(f"At most {MAX_COLUMNS} models at once.")
            return None
        profile = self.ctx.registry.get(target.provider_id)
        label = f"{target.model} · {profile.name if profile else target.provider_id}"
        self._chip_numbers += 1
        chip = ModelChip(target, label, self._chip_numbers)
        if spec is not None:
            if "temperature" in spec.params:
                chip.temperature.setValue(float(spec.params["temperature"]))
            if "max_tokens" in spec.params:
                chip.max_tokens.setValue(int(spec.params["max_tokens"]))
            chip.system_prompt.setText(spec.system_prompt or "")
        chip.remove_clicked.connect(self.on_chip_remove_clicked)
        self.chips.append(chip)
        self.chips_row.addWidget(chip)
        self._update_buttons()
        self.pool.prepare()
        self._save_models()
        return chip

    def _new_column(self) -> ColumnWidget:
        widget = ColumnWidget(0, 0, self.columns_host)
        widget.stop_clicked.connect(self.on_column_stop_clicked)
        widget.retry_clicked.connect(self.on_column_retry_clicked)
        widget.best_clicked.connect(self.vote)
        widget.continue_clicked.connect(self.on_column_continue_clicked)
        widget.view.verticalScrollBar().valueChanged.connect(
            lambda value, w=widget: self.on_column_scrolled(w, value)
        )
        return widget

    def on_add_model_clicked(self) -> None:
        self.picker.refresh()
        self.picker_popup.resize(440, 420)
        corner = self.add_model_button.mapToGlobal(self.add_model_button.rect().bottomLeft())
        self.picker_popup.move(corner)
        self.picker_popup.show()
        self.picker.search.setFocus()

    def on_picker_model_chosen(self, provider_id: str, model: str) -> None:
        self.picker_popup.hide()
        self.add_model(Target(provider_id, model))

    def on_chip_remove_clicked(self, chip: ModelChip) -> None:
        self.chips.remove(chip)
        chip.deleteLater()
        self._update_buttons()
        self._save_models()

    def set_models(self, specs: list[ColumnSpec]) -> None:
        """Replace the chosen models (e.g. with a past run's, to ask again)."""
        for chip in list(self.chips):
            self.chips.remove(chip)
            chip.deleteLater()
        for spec in specs[:MAX_COLUMNS]:
            self.add_model(spec.target, spec)
        self._update_buttons()

    def _save_models(self) -> None:
        """The chosen models (with their overrides) come back the next time."""
        save_models(self.ctx.paths.config, self.specs())

    def _load_models(self) -> None:
        specs = [
            spec
            for spec in load_models(self.ctx.paths.config)
            if self.ctx.registry.get(spec.target.provider_id) is not None
        ]
        for spec in specs[:MAX_COLUMNS]:
            self.add_model(spec.target, spec)

    def specs(self) -> list[ColumnSpec]:
        return [chip.spec() for chip in self.chips]

    def shared_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.temperature.value() >= 0:
            params["temperature"] = round(self.temperature.value(), 2)
        if self.max_tokens.value() > 0:
            params["max_tokens"] = self.max_tokens.value()
        return params

    @property
    def attachments(self) -> list[Attachment]:
        return self.setup.attachments

    def add_files(self, paths: list[Path]) -> None:
        self.setup.add_files(paths)

    def set_attachments(self, attachments: list[Attachment]) -> None:
        self.setup.set_attachments(attachments)

    def on_attachment_problem(self, text: str) -> None:
        self.status_changed.emit(text)
        self.hint.setText(text)

    # --- running --------------------------------------------------------------------------------
    def on_run_clicked(self) -> None:
        text = self.prompt.toPlainText().strip()
        specs = self.specs()
        self._save_models()  # with any overrides changed since
        if not MIN_COLUMNS <= len(specs) <= MAX_COLUMNS:
            self.status_changed.emit(f"Choose {MIN_COLUMNS} to {MAX_COLUMNS} models first.")
            self.hint.setText(f"Choose {MIN_COLUMNS} to {MAX_COLUMNS} models first.")
            return
        if not text:
            self.hint.setText("Type a prompt first.")
            self.prompt.setFocus()
            return
        self.start(text, specs)

    def start(self, prompt: str, specs: list[ColumnSpec]) -> None:
        """Run ``prompt`` on ``specs`` with the shared settings (also used by benchmarks)."""
        self._detach()
        create = Comparison.create(
            self.ctx.store, self.ctx.clients, prompt, specs,
            system_prompt=self.system_prompt.text().strip(), params=self.shared_params(),
            attachments=list(self.attachments), blind=self.blind_check.isChecked(),
            pacer=self.pacer, listener=self.on_comparison_event, price_of=self._price_of,
        )  # fmt: skip
        self.tasks.start("run", self._run(create))

    def ask_another_model(self, answer_id: int, target: Target) -> None:
        """Beside a conversation's answer, the same prompt (with the conversation above it)
        answered by ``target``; both shown here, the new answer saved as a branch there."""
        self._detach()
        create = Comparison.from_answer(
            self.ctx.store, self.ctx.clients, answer_id, [ColumnSpec(target)], pacer=self.pacer,
            listener=self.on_comparison_event, price_of=self._price_of,
        )  # fmt: skip
        self.tabs.setCurrentIndex(0)
        self.tasks.start("run", self._run(create))

    async def _run(self, create: Awaitable[Comparison]) -> None:
        comparison = await create
        self.set_attachments([])
        self._show(comparison)
        self.figures_timer.start()
        try:
            await comparison.run()
        finally:
            self.on_figures_timer_timeout()
            self._update_buttons()
        if not self.isVisible():
            return
        self.hint.setText(vote_hint(self.comparison))

    @property
    def busy(self) -> bool:
        """A run or a column retry is still going (its task has not returned yet)."""
        names = ["run", *(f"column-{i}" for i in range(MAX_COLUMNS))]
        return any(self.tasks.running(name) for name in names)

    def _price_of(self, target: Target) -> ModelPrice | None:
        profile = self.ctx.registry.get(target.provider_id)
        return effective_price(profile, target.model, self.ctx.models) if profile else None

    def stop(self) -> None:
        """Stop every column (what arrived is kept)."""
        if self.comparison is not None:
            self.comparison.stop_all()

    def on_column_stop_clicked(self, index: int) -> None:
        if self.comparison is not None:
            self.comparison.stop(index)

    def on_column_retry_clicked(self, index: int) -> None:
        comparison = self.comparison
        if comparison is None or comparison.columns[index].status.active:
            return
        self.figures_timer.start()
        self.tasks.start(f"column-{index}", self._retry(comparison, index))

    async def _retry(self, comparison: Comparison, index: int) -> None:
        try:
            await comparison.run_column(index)
        finally:
            self._update_buttons()

    def on_comparison_event(self, event: CompareEvent) -> None:
        if type(event) is ColumnDelta:  # the hot path: one call, no other work
            self.columns[event.index].presenter.delta(event.text)
            return
        comparison = self.comparison
        if comparison is None:
            return
        widget = self.columns[event.index]
        column = comparison.columns[event.index]
        self._present(widget, comparison, column.index)
        widget.presenter.on_column_event(event, column, model=comparison.label(column))
        if isinstance(event, ColumnStarted):
            widget.set_state(column.status, voting=False)
            self._update_buttons()
        elif isinstance(event, ColumnWaiting):
            widget.set_state(ColumnStatus.WAITING, voting=False, waiting=event.waiting)
        elif isinstance(event, ColumnFinished):
            widget.set_figures(figures(comparison, column.index))
            self._update_buttons()

    def _present(self, widget: ColumnWidget, comparison: Comparison, index: int) -> None:
        """The column's presenter shows rows as this run labels them (costs hidden in blind)."""
        widget.presenter.display = lambda message: answer_row(comparison, index, message)

    def _show_final(self, widget: ColumnWidget, comparison: Comparison, index: int) -> None:
        """A finished column of a run opened from the history."""
        column = comparison.columns[index]
        self._present(widget, comparison, index)
        if column.message is not None:
            widget.presenter.finished(column.message)
        elif column.error is not None:
            widget.presenter.failed(column.error.message, model=comparison.label(column))
        widget.set_figures(figures(comparison, index))

    def on_figures_timer_timeout(self) -> None:
        comparison = self.comparison
        if comparison is None:
            self.figures_timer.stop()
            return
        for column in comparison.columns:
            if column.status.active or column.started_at is not None:
                self.columns[column.index].set_figures(figures(comparison, column.index))
        if not comparison.running:
            self.figures_timer.stop()

    # --- showing a run --------------------------------------------------------------------------
    def _detach(self) -> None:
        """Forget the shown run: its events stop reaching the widgets; running columns stop."""
        old = self.comparison
        if old is not None:
            old.listener = None
            old.stop_all()
        for name in [f"column-{i}" for i in range(MAX_COLUMNS)]:
            self.tasks.cancel(name)

    def _show(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self._release_columns()
        self.columns = self.pool.take(len(comparison.columns))
        for column in comparison.columns:
            self.columns[column.index].assign(column.index, column.slot)
        prompt = " ".join(comparison.prompt.text.split())
        self.run_label.setText(f"<b>Prompt:</b> {_escape(prompt[:300])}")
        self.run_label.setToolTip(comparison.prompt.text[:2000])
        self._arrange()
        self._refresh_titles()
        for column in comparison.columns:
            widget = self.columns[column.index]
            if column.message is not None and not column.status.active:
                self._show_final(widget, comparison, column.index)
            widget.set_state(column.status, voting=can_vote(self.comparison))
        self.hint.setText(vote_hint(self.comparison))
        self._update_buttons()

    def _release_columns(self) -> None:
        self.pool.release(self.columns)
        self.columns = []

    def _arrange(self) -> None:
        """Columns in one row, or a grid (two rows) from four columns on when asked."""
        comparison = self.comparison
        ordered = comparison.in_screen_order() if comparison is not None else []
        widgets = [self.columns[column.index] for column in ordered] if self.columns else []
        self.answers.arrange(widgets, self.layout_combo.currentText())

    def _refresh_titles(self) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        winner = comparison.winner()
        for column in comparison.columns:
            widget = self.columns[column.index]
            profile = self.ctx.registry.get(column.spec.target.provider_id)
            provider = profile.name if profile else column.spec.target.provider_id
            title = column_title(comparison, column, provider)
            widget.set_title(title, winner=winner == column.index)
            shown = widget.view.message(widget.message_id) if widget.message_id else None
            if shown is not None and shown.status is not Status.STREAMING and column.message:
                widget.view.update_message(answer_row(comparison, column.index))
                widget.set_figures(figures(comparison, column.index))

    def _update_buttons(self) -> None:
        comparison = self.comparison
        running = comparison is not None and comparison.running
        self.run_button.setEnabled(len(self.chips) >= MIN_COLUMNS and not running)
        self.add_model_button.setEnabled(len(self.chips) < MAX_COLUMNS)
        self.stop_all_button.setEnabled(running)
        voting = can_vote(comparison)
        self.tie_button.setEnabled(voting)
        self.reveal_button.setVisible(comparison is not None and comparison.hidden)
        self.reveal_button.setEnabled(not running)
        self.diff_button.setEnabled(
            comparison is not None and sum(1 for c in comparison.columns if c.text) >= 2
        )
        if comparison is not None:
            for column in comparison.columns:
                if column.index < len(self.columns):
                    self.columns[column.index].set_state(
                        column.status, voting=voting, waiting=column.waiting
                    )
        if not running:
            self.hint.setText(vote_hint(self.comparison))

    # --- vote, reveal, continue, diff ------------------------------------------------------------
    def vote(self, winner: int | None) -> None:
        """Vote column ``winner`` best (``None``: a tie); reveals a blind run."""
        comparison = self.comparison
        if comparison is None or not can_vote(self.comparison):
            return
        self.tasks.start("vote", self._vote(comparison, winner))

    async def _vote(self, comparison: Comparison, winner: int | None) -> None:
        await comparison.cast_vote(winner)
        if comparison is not self.comparison:
            return
        self._refresh_titles()
        self._update_buttons()
        best = comparison.label(comparison.columns[winner]) if winner is not None else None
        self.status_changed.emit(f"Voted: {best} is best." if best else "Voted: a tie.")
        self.refresh_leaderboard()

    def on_reveal_clicked(self) -> None:
        comparison = self.comparison
        if comparison is not None and comparison.hidden and not comparison.running:
            self.tasks.start("vote", self._reveal(comparison))

    async def _reveal(self, comparison: Comparison) -> None:
        await comparison.reveal()
        if comparison is self.comparison:
            self._refresh_titles()
            self._update_buttons()

    def on_column_continue_clicked(self, index: int) -> None:
        comparison = self.comparison
        if comparison is not None:
            self.tasks.start("continue", self._continue(comparison, index))

    async def _continue(self, comparison: Comparison, index: int) -> None:
        try:
            conversation = await comparison.continue_with(index)
        except ValueError as exc:
            self.status_changed.emit(str(exc))
            return
        self.status_changed.emit("Continued as a conversation.")
        self.conversation_opened.emit(conversation.id)

    def on_diff_clicked(self) -> None:
        if self.comparison is not None:
            self.diff_dialog.open_for(self.comparison)

    # --- scroll sync ----------------------------------------------------------------------------
    def on_sync_toggled(self, on: bool) -> None:
        if on and self.columns:
            self.on_column_scrolled(
                self.columns[0], self.columns[0].view.verticalScrollBar().value()
            )

    def on_column_scrolled(self, source: ColumnWidget, value: int) -> None:
        if self.sync_check.isChecked():
            self.answers.sync_scroll(source, value, self.columns)

    # --- history and leaderboard ---------------------------------------------------------------
    def on_tabs_current_changed(self, index: int) -> None:
        page = self.tabs.widget(index)
        if page is self.history:
            self.refresh_history()
        elif page is self.board:
            self.refresh_leaderboard()

    def refresh_history(self) -> None:
        self.history.set_runs(recent_runs(self.ctx.store, HISTORY_LIMIT))

    def refresh_leaderboard(self) -> None:
        self.tasks.start("leaderboard", self._leaderboard())

    async def _leaderboard(self) -> None:
        data = await board(self.ctx.store, self.board.current_period().since())
        self.board.set_data(data.standings, data.speeds, data.voted_runs)

    def on_history_delete_requested(self, run_id: int) -> None:
        if self.comparison is not None and self.comparison.run_id == run_id:
            if self.comparison.running:
                self.status_changed.emit("Stop the running comparison first.")
                return
            self._detach()
            self.comparison = None
            self._release_columns()
            self.run_label.clear()
            self._arrange()
            self._update_buttons()
        self.tasks.start("delete", self._delete(run_id))

    async def _delete(self, run_id: int) -> None:
        await delete_run(self.ctx.store, run_id)
        self.refresh_history()
        self.status_changed.emit("Comparison deleted.")

    def open_run(self, run_id: int) -> None:
        """Show a stored run (offline) on the Compare page."""
        if self.comparison is not None and self.comparison.running:
            self.status_changed.emit("Stop the running comparison first.")
            return
        self._detach()
        comparison = Comparison.load(
            self.ctx.store, self.ctx.clients, run_id, pacer=self.pacer,
            listener=self.on_comparison_event, price_of=self._price_of,
        )  # fmt: skip
        self.prompt.setPlainText(comparison.prompt.text)
        self.system_prompt.setText(comparison.system_prompt)
        if not comparison.running:
            self.set_models([c.spec for c in comparison.columns])  # Run asks them again
        self._show(comparison)
        self.tabs.setCurrentIndex(0)

    # --- errors and shutdown --------------------------------------------------------------------
    def on_task_failed(self, error: BaseException) -> None:
        _log.error("compare task failed", exc_info=error)
        self.status_changed.emit(failure_text(error))
        self._update_buttons()

    async def shutdown(self) -> None:
        self.figures_timer.stop()
        self.diff_dialog.close()
        await self.tasks.wait_all()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
