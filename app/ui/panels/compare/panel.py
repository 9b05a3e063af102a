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

import asyncio
import math
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QToolButton,
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
    ColumnFigures,
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
from app.core.diff import word_diff
from app.core.models_cache import effective_price
from app.store import Message
from app.ui.chat.messages import DisplayMessage, Status
from app.ui.composer import AttachmentError, load_attachment
from app.ui.dialogs.common import named
from app.ui.errors import failure_text
from app.ui.panels.compare.column import ColumnWidget
from app.ui.panels.compare.pages import DiffDialog, HistoryPage, LeaderboardPage
from app.ui.stream_presenter import display_message
from app.ui.tasks import TaskOwner
from app.ui.widgets.model_picker import ModelPicker

_log = log.get("ui.compare")

FIGURES_INTERVAL_MS = 250
GRID_FROM = 4  # "Auto" layout: a grid from this many columns on
HISTORY_LIMIT = 300
CLEAN_INTERVAL_MS = 60


class ElidedLabel(QLabel):
    """A one-line label that shrinks with an ellipsis (the full text is its tooltip)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.full = text
        self.setToolTip(text)
        self.setMinimumWidth(60)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def sizeHint(self) -> QSize:
        return QSize(
            self.fontMetrics().horizontalAdvance(self.full) + 4, super().sizeHint().height()
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.setText(
            self.fontMetrics().elidedText(self.full, Qt.TextElideMode.ElideRight, self.width())
        )


class ModelChip(QFrame):
    """A chosen model with its own overrides (temperature, max tokens, system prompt)."""

    remove_clicked = Signal(object)
    changed = Signal()

    def __init__(self, target: Target, label: str, number: int) -> None:
        super().__init__()
        self.target = target
        named(self, f"modelChip{number}", f"Model {number}: {label}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = ElidedLabel(label)
        self.label.setObjectName(f"modelChipLabel{number}")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.options_button = named(
            QToolButton(), f"modelChipOptions{number}", f"Overrides for {label}", "Overrides"
        )
        self.options_button.setText("⚙")
        self.options_button.setCheckable(True)
        self.remove_button = named(
            QToolButton(), f"modelChipRemove{number}", f"Remove {label}", "Remove"
        )
        self.remove_button.setText("×")
        self.popup = QFrame(self, Qt.WindowType.Popup)
        self.popup.setObjectName(f"modelChipPopup{number}")
        self.temperature = named(
            QDoubleSpinBox(), f"chipTemperature{number}", f"Temperature for {label}"
        )
        self.temperature.setRange(-0.1, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setSpecialValueText("shared")
        self.temperature.setValue(-0.1)
        self.max_tokens = named(QSpinBox(), f"chipMaxTokens{number}", f"Max tokens for {label}")
        self.max_tokens.setRange(0, 1_000_000)
        self.max_tokens.setSpecialValueText("shared")
        self.system_prompt = named(
            QLineEdit(placeholderText="shared system prompt"),
            f"chipSystemPrompt{number}",
            f"System prompt for {label}",
        )
        form = QFormLayout(self.popup)
        form.addRow("Temperature", self.temperature)
        form.addRow("Max tokens", self.max_tokens)
        form.addRow("System prompt", self.system_prompt)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.label)
        layout.addWidget(self.options_button)
        layout.addWidget(self.remove_button)
        self.remove_button.clicked.connect(lambda: self.remove_clicked.emit(self))
        self.options_button.clicked.connect(self.on_options_clicked)

    def on_options_clicked(self) -> None:
        self.options_button.setChecked(False)
        corner = self.mapToGlobal(self.rect().bottomLeft())
        self.popup.move(corner)
        self.popup.show()
        self.temperature.setFocus()

    def spec(self) -> ColumnSpec:
        params: dict[str, Any] = {}
        if self.temperature.value() >= 0:
            params["temperature"] = round(self.temperature.value(), 2)
        if self.max_tokens.value() > 0:
            params["max_tokens"] = self.max_tokens.value()
        system = self.system_prompt.text().strip() or None
        return ColumnSpec(self.target, params, system)

    def overridden(self) -> bool:
        spec = self.spec()
        return bool(spec.params) or spec.system_prompt is not None


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
        # Built ahead, while the user picks models, so Run does not stall on six new views.
        self._spare: list[ColumnWidget] = []
        # Columns of the previous run still hold its answers; dropping a long answer's
        # documents takes 10-30 ms, so they are emptied one at a time, between frames.
        self._dirty: list[ColumnWidget] = []
        self._spare_timer = QTimer(self, singleShot=True, interval=0)
        self._syncing = False
        self._chip_numbers = 0

        # --- setup ---
        self.chips_row = QHBoxLayout()
        self.chips_row.setSpacing(4)
        self.add_model_button = named(
            QPushButton("+ Add model"), "addModelButton", "Add a model", "Add a model (2 to 6)"
        )
        self.blind_check = named(
            QCheckBox("Blind"),
            "blindCheck",
            "Blind mode",
            "Hide the names and shuffle until you vote",
        )
        self.layout_combo = named(QComboBox(), "layoutCombo", "Layout")
        for text in ("Auto", "Columns", "Grid"):
            self.layout_combo.addItem(text)
        self.sync_check = named(
            QCheckBox("Sync scroll"), "syncScrollCheck", "Scroll columns together"
        )
        self.system_prompt = named(
            QLineEdit(placeholderText="System prompt (optional)"),
            "systemPromptEdit",
            "System prompt",
        )
        self.temperature = named(QDoubleSpinBox(), "temperatureSpin", "Temperature for all models")
        self.temperature.setRange(-0.1, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setSpecialValueText("default")
        self.temperature.setValue(-0.1)
        self.max_tokens = named(QSpinBox(), "maxTokensSpin", "Max tokens for all models")
        self.max_tokens.setRange(0, 1_000_000)
        self.max_tokens.setSpecialValueText("default")
        self.prompt = named(QPlainTextEdit(), "comparePromptEdit", "Prompt for every model")
        self.prompt.setPlaceholderText("Ask every chosen model the same thing… (Ctrl+Enter runs)")
        self.prompt.setFixedHeight(64)
        self.attachments: list[Attachment] = []
        self.attach_button = named(
            QPushButton("Attach…"),
            "compareAttachButton",
            "Attach files",
            "Images or text files for every model",
        )
        self.attachments_label = named(QLabel(), "compareAttachmentsLabel", "Attachments")
        self.clear_attachments_button = named(
            QToolButton(), "compareClearAttachmentsButton", "Remove attachments"
        )
        self.clear_attachments_button.setText("✕")
        self.run_button = named(QPushButton("Run"), "runCompareButton", "Run the comparison")
        self.run_button.setDefault(True)
        self.stop_all_button = named(QPushButton("Stop all"), "stopAllButton", "Stop every answer")
        self.stop_all_button.setEnabled(False)

        # --- run bar ---
        self.run_label = named(QLabel(), "runPromptLabel", "Prompt of the shown comparison")
        self.run_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.tie_button = named(QPushButton("Tie"), "tieButton", "Vote a tie")
        self.reveal_button = named(
            QPushButton("Reveal"), "revealButton", "Reveal the models without voting"
        )
        self.diff_button = named(
            QPushButton("Diff…"), "diffButton", "Word differences of two answers"
        )
        self.hint = named(QLabel(), "compareHint", "Comparison status")

        # --- columns ---
        self.columns_host = QWidget()
        self.columns_host.setObjectName("columnsHost")
        self.grid = QGridLayout(self.columns_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        self.columns_scroll = named(QScrollArea(), "columnsScroll", "Answers")
        self.columns_scroll.setWidgetResizable(True)
        self.columns_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.columns_scroll.setWidget(self.columns_host)
        self.empty = QLabel(
            "Choose 2 to 6 models (from any providers), type a prompt and press Run.\n"
            "Every answer streams at once, with its speed and cost; then vote for the best."
        )
        self.empty.setObjectName("compareEmptyLabel")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid.addWidget(self.empty, 0, 0)

        self.picker_popup = QFrame(self, Qt.WindowType.Popup)
        self.picker_popup.setObjectName("compareModelPickerPopup")
        self.picker = ModelPicker(ctx.registry, ctx.models, self.picker_popup)
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
        models = QHBoxLayout()
        models.addWidget(QLabel("Models:"))
        models.addLayout(self.chips_row, 1)
        models.addWidget(self.add_model_button)
        params = QHBoxLayout()
        params.addWidget(self.system_prompt, 1)
        params.addWidget(QLabel("Temperature"))
        params.addWidget(self.temperature)
        params.addWidget(QLabel("Max tokens"))
        params.addWidget(self.max_tokens)
        params.addSpacing(12)
        params.addWidget(self.blind_check)
        params.addWidget(QLabel("Layout"))
        params.addWidget(self.layout_combo)
        params.addWidget(self.sync_check)
        actions = QVBoxLayout()
        actions.addWidget(self.run_button)
        actions.addWidget(self.stop_all_button)
        ask = QHBoxLayout()
        ask.addWidget(self.prompt, 1)
        ask.addLayout(actions)
        bar = QHBoxLayout()
        bar.addWidget(self.attach_button)
        bar.addWidget(self.attachments_label)
        bar.addWidget(self.clear_attachments_button)
        bar.addWidget(self.run_label, 1)
        bar.addWidget(self.hint)
        bar.addWidget(self.tie_button)
        bar.addWidget(self.reveal_button)
        bar.addWidget(self.diff_button)

        page = QWidget()
        page.setObjectName("compareRunPage")
        column = QVBoxLayout(page)
        column.setContentsMargins(8, 6, 8, 6)
        column.setSpacing(4)
        column.addLayout(models)
        column.addLayout(params)
        column.addLayout(ask)
        column.addLayout(bar)
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
        self.attach_button.clicked.connect(self.on_attach_clicked)
        self.clear_attachments_button.clicked.connect(lambda: self.set_attachments([]))
        self.run_shortcut.activated.connect(self.on_run_clicked)
        self.stop_all_button.clicked.connect(self.stop)
        self.tie_button.clicked.connect(lambda: self.vote(None))
        self.reveal_button.clicked.connect(self.on_reveal_clicked)
        self.diff_button.clicked.connect(self.on_diff_clicked)
        self.diff_dialog.pair_changed.connect(self.on_diff_pair_changed)
        self.layout_combo.currentIndexChanged.connect(lambda _i: self._arrange())
        self.sync_check.toggled.connect(self.on_sync_toggled)
        self.figures_timer.timeout.connect(self.on_figures_timer_timeout)
        self.tabs.currentChanged.connect(self.on_tabs_current_changed)
        self.history.run_activated.connect(self.open_run)
        self.history.delete_requested.connect(self.on_history_delete_requested)
        self.board.period_changed.connect(lambda _p: self.refresh_leaderboard())
        self._spare_timer.timeout.connect(self.on_spare_timer_timeout)

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
        self._spare_timer.start()
        self._save_models()
        return chip

    def on_spare_timer_timeout(self) -> None:
        """One step per tick: empty a used column, or build a spare one, until there is a
        clean column for each chosen model (at most MAX_COLUMNS kept)."""
        if self._dirty:
            widget = self._dirty.pop()
            widget.view.set_messages([])
            widget.presenter.reset()
            if len(self.columns) + len(self._spare) < MAX_COLUMNS:
                self._spare.append(widget)
            else:
                widget.deleteLater()
        elif len(self.columns) + len(self._spare) < len(self.chips):
            widget = self._new_column()
            widget.hide()
            self._spare.append(widget)
        else:
            return
        self._spare_timer.start(CLEAN_INTERVAL_MS if self._dirty else 0)

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

    def on_attach_clicked(self) -> None:
        # Non-modal: the dialog's signal delivers the files; no exec() in the event loop.
        dialog = QFileDialog(self, "Attach files")
        dialog.setObjectName("compareAttachDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(lambda files: self.add_files([Path(f) for f in files]))
        dialog.open()

    def add_files(self, paths: list[Path]) -> None:
        attachments = list(self.attachments)
        for path in paths:
            try:
                attachments.append(load_attachment(path))
            except AttachmentError as exc:
                self.status_changed.emit(str(exc))
                self.hint.setText(str(exc))
        self.set_attachments(attachments)

    def set_attachments(self, attachments: list[Attachment]) -> None:
        self.attachments = attachments
        names = ", ".join(a.name for a in attachments)
        self.attachments_label.setText(f"📎 {names}" if names else "")
        self.attachments_label.setVisible(bool(attachments))
        self.clear_attachments_button.setVisible(bool(attachments))

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
        self.hint.setText(self._vote_hint())

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
            widget.set_state(ColumnStatus.WAITING, voting=False, wait_s=event.seconds)
        elif isinstance(event, ColumnFinished):
            widget.set_figures(self._figures(comparison, column.index))
            self._update_buttons()

    def _present(self, widget: ColumnWidget, comparison: Comparison, index: int) -> None:
        """The column's presenter shows rows as this run labels them (costs hidden in blind)."""
        widget.presenter.display = lambda message: self._display(comparison, index, message)

    def _show_final(self, widget: ColumnWidget, comparison: Comparison, index: int) -> None:
        """A finished column of a run opened from the history."""
        column = comparison.columns[index]
        self._present(widget, comparison, index)
        if column.message is not None:
            widget.presenter.finished(column.message)
        elif column.error is not None:
            widget.presenter.failed(column.error.message, model=comparison.label(column))
        widget.set_figures(self._figures(comparison, index))

    def _display(
        self, comparison: Comparison, index: int, message: Message | None = None
    ) -> DisplayMessage:
        column = comparison.columns[index]
        message = message or column.message
        assert message is not None
        shown = display_message(message)
        shown.model = comparison.label(column)
        if comparison.hidden:  # a price can give the model away
            shown.usage = replace(shown.usage, cost=None)
        if column.error is not None and not shown.error:
            shown.error = column.error.message
        return shown

    def _figures(self, comparison: Comparison, index: int) -> ColumnFigures:
        figures = comparison.columns[index].figures()
        return replace(figures, cost=None) if comparison.hidden else figures

    def on_figures_timer_timeout(self) -> None:
        comparison = self.comparison
        if comparison is None:
            self.figures_timer.stop()
            return
        for column in comparison.columns:
            if column.status.active or column.started_at is not None:
                self.columns[column.index].set_figures(self._figures(comparison, column.index))
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
        for column in comparison.columns:
            widget = self._spare.pop() if self._spare else self._new_column()
            widget.assign(column.index, column.slot)
            self.columns.append(widget)
        prompt = " ".join(comparison.prompt.text.split())
        self.run_label.setText(f"<b>Prompt:</b> {_escape(prompt[:300])}")
        self.run_label.setToolTip(comparison.prompt.text[:2000])
        self._arrange()
        self._refresh_titles()
        for column in comparison.columns:
            widget = self.columns[column.index]
            if column.message is not None and not column.status.active:
                self._show_final(widget, comparison, column.index)
            widget.set_state(column.status, voting=self._can_vote())
        self.hint.setText(self._vote_hint())
        self._update_buttons()

    def _release_columns(self) -> None:
        for widget in self.columns:
            widget.hide()
            self._dirty.append(widget)
        self.columns = []
        if self._dirty:
            self._spare_timer.start(CLEAN_INTERVAL_MS)

    def _arrange(self) -> None:
        """Columns in one row, or a grid (two rows) from four columns on when asked."""
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget is not self.empty:
                widget.setParent(self.columns_host)
        self.empty.setVisible(not self.columns)
        if not self.columns:
            self.grid.addWidget(self.empty, 0, 0)
            return
        for i in range(self.grid.columnCount()):
            self.grid.setColumnStretch(i, 0)
        mode = self.layout_combo.currentText()
        comparison = self.comparison
        ordered = comparison.in_screen_order() if comparison is not None else []
        n = len(ordered)
        grid = mode == "Grid" or (mode == "Auto" and n >= GRID_FROM)
        per_row = math.ceil(n / 2) if grid and n >= 3 else n
        for place, column in enumerate(ordered):
            widget = self.columns[column.index]
            self.grid.addWidget(widget, place // per_row, place % per_row)
            widget.show()
        for i in range(per_row):
            self.grid.setColumnStretch(i, 1)
        # Columns mode scrolls sideways rather than squeezing six answers into 1280 px.
        self.columns_scroll.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if not grid
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )

    def _refresh_titles(self) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        winner = comparison.winner()
        for column in comparison.columns:
            widget = self.columns[column.index]
            label = comparison.label(column)
            if not comparison.hidden:
                profile = self.ctx.registry.get(column.spec.target.provider_id)
                provider = profile.name if profile else column.spec.target.provider_id
                label = f"{label}  ({provider})"
                if comparison.blind:
                    label = f"{chr(ord('A') + column.slot)}: {label}"
            widget.set_title(label, winner=winner == column.index)
            shown = widget.view.message(widget.message_id) if widget.message_id else None
            if shown is not None and shown.status is not Status.STREAMING and column.message:
                widget.view.update_message(self._display(comparison, column.index))
                widget.set_figures(self._figures(comparison, column.index))

    def _can_vote(self) -> bool:
        comparison = self.comparison
        return (
            comparison is not None
            and not comparison.running
            and not (comparison.vote or {}).get("skipped")
            and any(c.text for c in comparison.columns)
        )

    def _vote_hint(self) -> str:
        comparison = self.comparison
        if comparison is None:
            return ""
        if comparison.running:
            return "Streaming…"
        vote = comparison.vote or {}
        if vote.get("winner") is not None:
            return "Voted. Change your mind? Click ★ Best on another answer."
        if vote.get("tie"):
            return "Voted a tie."
        if vote.get("skipped"):
            return "Revealed without a vote."
        return "Which answer is best? Click ★ Best, or Tie."

    def _update_buttons(self) -> None:
        comparison = self.comparison
        running = comparison is not None and comparison.running
        self.run_button.setEnabled(len(self.chips) >= MIN_COLUMNS and not running)
        self.add_model_button.setEnabled(len(self.chips) < MAX_COLUMNS)
        self.stop_all_button.setEnabled(running)
        can_vote = self._can_vote()
        self.tie_button.setEnabled(can_vote)
        self.reveal_button.setVisible(comparison is not None and comparison.hidden)
        self.reveal_button.setEnabled(not running)
        self.diff_button.setEnabled(
            comparison is not None and sum(1 for c in comparison.columns if c.text) >= 2
        )
        if comparison is not None:
            for column in comparison.columns:
                if column.index < len(self.columns):
                    self.columns[column.index].set_state(
                        column.status, voting=can_vote, wait_s=column.wait_s
                    )
        if not running:
            self.hint.setText(self._vote_hint())

    # --- vote, reveal, continue, diff ------------------------------------------------------------
    def vote(self, winner: int | None) -> None:
        """Vote column ``winner`` best (``None``: a tie); reveals a blind run."""
        comparison = self.comparison
        if comparison is None or not self._can_vote():
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
        comparison = self.comparison
        if comparison is None:
            return
        answered = [c for c in comparison.in_screen_order() if c.text]
        if len(answered) < 2:
            return
        labels = [(c.index, comparison.label(c)) for c in answered]
        self.diff_dialog.set_answers(labels, answered[0].index, answered[1].index)
        self.diff_dialog.show()
        self.diff_dialog.raise_()

    def on_diff_pair_changed(self, left: int, right: int) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        a, b = comparison.columns[left].text, comparison.columns[right].text
        self.tasks.start("diff", self._diff(a, b))

    async def _diff(self, a: str, b: str) -> None:
        # A worker thread: two long answers take tens of milliseconds to match.
        ops = await asyncio.to_thread(word_diff, a, b)
        self.diff_dialog.show_diff(ops)

    # --- scroll sync ----------------------------------------------------------------------------
    def on_sync_toggled(self, on: bool) -> None:
        if on and self.columns:
            self.on_column_scrolled(
                self.columns[0], self.columns[0].view.verticalScrollBar().value()
            )

    def on_column_scrolled(self, source: ColumnWidget, value: int) -> None:
        if self._syncing or not self.sync_check.isChecked():
            return
        bar = source.view.verticalScrollBar()
        fraction = value / bar.maximum() if bar.maximum() > 0 else 0.0
        self._syncing = True
        try:
            for widget in self.columns:
                if widget is not source:
                    other = widget.view.verticalScrollBar()
                    other.setValue(round(fraction * other.maximum()))
        finally:
            self._syncing = False

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
