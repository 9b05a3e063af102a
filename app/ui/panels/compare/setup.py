"""The compare panel's controls above the answers: models, shared parameters, the prompt,
attachments, Run / Stop all, and the bar of the shown run (vote, reveal, diff)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import Attachment
from app.ui.composer import AttachmentError, load_attachment
from app.ui.dialogs.common import named


class CompareSetup(QWidget):
    """The widgets and their layout, and the attachments (picked, loaded, shown); the panel
    connects and drives the rest."""

    attachment_problem = Signal(str)  # a file that cannot be attached, in plain words

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareSetup")
        self.attachments: list[Attachment] = []
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

        # the bar of the shown run
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

        models = QHBoxLayout()
        models.addWidget(QLabel("Models:"))
        models.addLayout(self.chips_row, 1)
        # An empty chips row takes no room: without this the button would fill the row.
        self.add_model_button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
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

        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addLayout(models)
        column.addLayout(params)
        column.addLayout(ask)
        column.addLayout(bar)

        self.attach_button.clicked.connect(self.on_attach_clicked)
        self.clear_attachments_button.clicked.connect(lambda: self.set_attachments([]))
        self.set_attachments([])

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
                self.attachment_problem.emit(str(exc))
        self.set_attachments(attachments)

    def set_attachments(self, attachments: list[Attachment]) -> None:
        self.attachments = attachments
        names = ", ".join(a.name for a in attachments)
        self.attachments_label.setText(f"📎 {names}" if names else "")
        self.attachments_label.setVisible(bool(attachments))
        self.clear_attachments_button.setVisible(bool(attachments))
