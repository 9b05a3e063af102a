"""Semantic search and moderation settings: the embeddings model, the cost estimate, the
background embedding job, and which moderation checks run when sending.

Non-modal. The job runs in the window's task owner, so closing this dialog keeps it going
(reopening shows its progress) and closing the app cancels it; it resumes on the next Start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import log
from app.core.semantic import EmbedProgress, Estimate, SemanticSearch, SemanticUnavailable
from app.ui.dialogs.common import named, note

if TYPE_CHECKING:
    from app.core.context import AppContext
    from app.ui.tasks import TaskOwner

_log = log.get("ui.semantic")

JOB = "embed-history"


def describe_estimate(estimate: Estimate) -> str:
    if not estimate.messages:
        return "Every message is embedded with this model."
    cost = "price unknown" if estimate.cost is None else f"about ${estimate.cost:,.4f}"
    return (
        f"{estimate.messages:,} messages to embed, ≈{estimate.tokens:,} tokens ({cost}). "
        "Each call is recorded in Usage."
    )


class SemanticSearchDialog(QDialog):
    """Choose the embeddings model and embed the history in the background."""

    def __init__(
        self, ctx: AppContext, semantic: SemanticSearch, tasks: TaskOwner, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.semantic = semantic
        self.tasks = tasks
        self.setObjectName("semanticSearchDialog")
        self.setAccessibleName("Semantic search")
        self.setWindowTitle("Semantic search and moderation")
        self.setModal(False)
        self.resize(560, 460)

        settings = ctx.settings.get()
        self.provider_box = named(QComboBox(), "embeddingsProvider", "Embeddings provider")
        for profile in ctx.registry.all():
            self.provider_box.addItem(profile.name, profile.id)
        index = self.provider_box.findData(settings.embeddings_provider)
        self.provider_box.setCurrentIndex(max(index, 0))
        self.model_edit = named(QLineEdit(), "embeddingsModel", "Embeddings model")
        self.model_edit.setPlaceholderText("e.g. text-embedding-3-small or intfloat/e5-large-v2")
        self.model_edit.setText(settings.embeddings_model or "")
        self.enabled_box = named(
            QCheckBox("Search by meaning in the sidebar"), "semanticEnabled", "Search by meaning"
        )
        self.enabled_box.setChecked(settings.semantic_search)
        self.estimate_label = note("", "semanticEstimate")
        self.progress = named(QProgressBar(), "semanticProgress", "Embedding progress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status_label = note("", "semanticStatus")
        self.start_button = named(QPushButton("Start"), "semanticStart", "Start embedding")
        self.stop_button = named(QPushButton("Stop"), "semanticStop", "Stop embedding")
        self.forget_button = named(
            QPushButton("Forget other models' vectors"),
            "semanticForgetOthers",
            "Forget vectors of other models",
        )
        self.forget_button.hide()
        moderation_group = self._build_moderation()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)

        form = QFormLayout()
        form.addRow("Provider", self.provider_box)
        form.addRow("Model", self.model_edit)
        form.addRow("", self.enabled_box)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.addWidget(
            note(
                "Messages are turned into vectors by the provider's embeddings endpoint, "
                "in batches, and kept in your history database. Stop at any time: Start "
                "resumes. Changing the model embeds everything again.",
                "semanticIntro",
            )
        )
        layout.addLayout(form)
        layout.addWidget(self.estimate_label)
        layout.addLayout(row)
        layout.addWidget(self.status_label)
        layout.addWidget(self.forget_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(moderation_group)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self.provider_box.currentIndexChanged.connect(self.on_choice_edited)
        self.model_edit.editingFinished.connect(self.on_choice_edited)
        self.enabled_box.toggled.connect(self.on_enabled_toggled)
        self.start_button.clicked.connect(self.on_start_clicked)
        self.stop_button.clicked.connect(self.on_stop_clicked)
        self.forget_button.clicked.connect(self.on_forget_clicked)
        self._update_buttons()
        self.refresh_estimate()

    def _build_moderation(self) -> QGroupBox:
        settings = self.ctx.settings.get()
        group = named(QGroupBox("Moderation"), "moderationGroup", "Moderation")
        self.moderation_box = named(
            QCheckBox("Check each prompt with the provider's moderation endpoint"),
            "moderationEnabled",
            "Check prompts",
        )
        self.moderation_answers_box = named(
            QCheckBox("Check answers too"), "moderationAnswers", "Check answers"
        )
        self.moderation_warn_box = named(
            QCheckBox("Ask before sending a flagged prompt"), "moderationWarn", "Warn when flagged"
        )
        self.moderation_provider_box = named(
            QComboBox(), "moderationProvider", "Moderation provider"
        )
        self.moderation_provider_box.addItem("The chat's provider", None)
        for profile in self.ctx.registry.all():
            self.moderation_provider_box.addItem(profile.name, profile.id)
        index = self.moderation_provider_box.findData(settings.moderation_provider)
        self.moderation_provider_box.setCurrentIndex(max(index, 0))
        self.moderation_model_edit = named(QLineEdit(), "moderationModel", "Moderation model")
        self.moderation_model_edit.setPlaceholderText("the provider's default")
        self.moderation_model_edit.setText(settings.moderation_model or "")
        self.moderation_box.setChecked(settings.moderation)
        self.moderation_answers_box.setChecked(settings.moderation_answers)
        self.moderation_warn_box.setChecked(settings.moderation_warn)
        form = QFormLayout(group)
        form.addRow(self.moderation_box)
        form.addRow(self.moderation_answers_box)
        form.addRow(self.moderation_warn_box)
        form.addRow("Provider", self.moderation_provider_box)
        form.addRow("Model", self.moderation_model_edit)
        form.addRow(
            note(
                "A check that fails never stops a message: it is marked “not checked”.",
                "moderationNote",
            )
        )
        for box in (self.moderation_box, self.moderation_answers_box, self.moderation_warn_box):
            box.toggled.connect(self.on_moderation_edited)
        self.moderation_provider_box.currentIndexChanged.connect(self.on_moderation_edited)
        self.moderation_model_edit.editingFinished.connect(self.on_moderation_edited)
        return group

    def on_moderation_edited(self, *_: object) -> None:
        self.ctx.settings.update(
            moderation=self.moderation_box.isChecked(),
            moderation_answers=self.moderation_answers_box.isChecked(),
            moderation_warn=self.moderation_warn_box.isChecked(),
            moderation_provider=self.moderation_provider_box.currentData(),
            moderation_model=self.moderation_model_edit.text().strip() or None,
        )

    @classmethod
    def show_for(
        cls, window: QWidget, ctx: AppContext, semantic: SemanticSearch, tasks: TaskOwner
    ) -> SemanticSearchDialog:
        """One dialog per window, raised if open already."""
        dialog = window.findChild(SemanticSearchDialog, "semanticSearchDialog")
        if dialog is None:
            dialog = cls(ctx, semantic, tasks, window)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    # --- state ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.tasks.running(JOB)

    def _update_buttons(self) -> None:
        running = self.running
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.provider_box.setEnabled(not running)
        self.model_edit.setEnabled(not running)

    def _save_choice(self) -> bool:
        provider = self.provider_box.currentData()
        model = self.model_edit.text().strip()
        if not (provider and model):
            return False  # nothing chosen yet: opening the dialog changes no setting
        settings = self.ctx.settings.get()
        if (provider, model or None) != (settings.embeddings_provider, settings.embeddings_model):
            self.ctx.settings.update(embeddings_provider=provider, embeddings_model=model)
        return True

    def refresh_estimate(self) -> None:
        if not self._save_choice():
            self.estimate_label.setText("Choose a provider and an embeddings model.")
            return

        async def run() -> None:
            try:
                estimate = await self.semantic.estimate()
            except SemanticUnavailable as exc:
                self.estimate_label.setText(exc.user_message)
                return
            self.estimate_label.setText(describe_estimate(estimate))
            choice = self.semantic.choice()
            others = {
                k: n for k, n in (await self.semantic.stored_counts()).items()
                if choice is None or k != choice.key
            }  # fmt: skip
            self.forget_button.setVisible(bool(others))
            self.forget_button.setToolTip(
                "Frees the space of: " + ", ".join(f"{k} ({n:,})" for k, n in others.items())
            )

        self.tasks.start("embed-estimate", run())

    # --- slots ------------------------------------------------------------------------------
    def on_choice_edited(self, *_: object) -> None:
        self.refresh_estimate()

    def on_enabled_toggled(self, checked: bool) -> None:
        self.ctx.settings.update(semantic_search=checked)

    def on_start_clicked(self) -> None:
        if not self._save_choice():
            self.status_label.setText("Choose a provider and an embeddings model first.")
            return
        self.status_label.setText("Embedding…")
        self.tasks.start(JOB, self._run())
        self._update_buttons()

    def on_forget_clicked(self) -> None:
        async def forget() -> None:
            forgotten = await self.semantic.forget_other_models()
            self.status_label.setText(f"Forgot {forgotten:,} vectors of other models.")
            self.refresh_estimate()

        self.tasks.start("embed-forget", forget())

    def on_stop_clicked(self) -> None:
        self.tasks.cancel(JOB)
        self.status_label.setText("Stopped. Start resumes where it stopped.")
        self._update_buttons()
        self.refresh_estimate()

    def on_job_progressed(self, progress: EmbedProgress) -> None:
        self.progress.setRange(0, max(progress.total, 1))
        self.progress.setValue(progress.done)
        cost = "" if progress.cost is None else f", ${progress.cost:,.4f}"
        if progress.finished:
            self.status_label.setText(
                f"Done: {progress.done:,} messages embedded ({progress.tokens:,} tokens{cost})."
            )
        else:
            self.status_label.setText(
                f"Embedded {progress.done:,} of {progress.total:,} ({progress.tokens:,} tokens{cost})…"
            )

    async def _run(self) -> None:
        from app.api import ApiError
        from app.core.clients import ProviderUnavailable

        try:
            await self.semantic.embed_pending(self.on_job_progressed)
        except (ApiError, ProviderUnavailable, SemanticUnavailable) as exc:
            # What was saved stays saved: Start again resumes after the last full batch.
            _log.info("embedding stopped: %s", exc)
            self.status_label.setText(f"Stopped: {exc.user_message} Start resumes.")
        finally:
            # The job's task still counts as running here: update once it is done.
            QTimer.singleShot(0, self._after_job)

    def _after_job(self) -> None:
        self._update_buttons()
        self.refresh_estimate()
