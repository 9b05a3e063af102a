"""The transcription panel: record or open audio, transcribe it, read, copy and save.

Recording streams to a FLAC file (core :class:`~app.core.transcription.VoiceRecorder`);
the level meter and the elapsed time follow the recorder's ~30 Hz readings. Uploads show
an indeterminate bar with the size being sent: the HTTP client reports no byte progress
for a multipart upload. Every transcript is kept in history (the list on the right) with
its audio.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app import log
from app.audio import AudioError, Devices, list_devices_async
from app.core.context import AppContext
from app.core.speech import AudioPrefs
from app.core.transcription import (
    RESPONSE_FORMATS,
    TranscriptionError,
    TranscriptionRequest,
    VoiceRecorder,
    delete_transcription,
    export,
    transcribe_file,
    transcription_models,
    transcription_providers,
)
from app.store import Transcription
from app.ui.dialogs.common import editable, named
from app.ui.panels.transcript_box import TranscriptBox, ask_save_path, transcript_label
from app.ui.tasks import TaskOwner
from app.ui.widgets.devices import clock, device_warning, fill_devices
from app.ui.widgets.history_list import (
    ITEM_ROLE,
    HistoryBox,
    confirm_delete,
    fill_history,
    work_beside_history,
)
from app.ui.widgets.job_strip import JobNames, JobStrip, fill_providers
from app.ui.widgets.level_meter import LevelMeter

if TYPE_CHECKING:
    from app.audio import Level, Recording

_log = log.get("ui.transcribe")

HISTORY_LIMIT = 200
AUDIO_FILTER = (
    "Audio (*.wav *.mp3 *.flac *.ogg *.oga *.opus *.m4a *.mp4 *.mpeg *.mpga *.webm *.aiff *.aif)"
)
_JOB = JobNames(
    prefix="transcribe",
    noun="Transcription",
    action="Transcribe",
    busy="Transcribing…",
    action_name="transcribeButton",
    action_accessible="Transcribe the audio",
    cancel_name="cancelTranscribeButton",
    cancel_accessible="Cancel transcription",
    cancelled="Transcription cancelled.",
    shortcut_tip="",
)


class TranscribePanel(QWidget):
    """Microphone or file in, transcript out (text and timed segments), kept in history."""

    status_changed = Signal(str)
    transcribed = Signal(int)  # transcription id

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcribePanel")
        self.setAccessibleName("Transcribe panel")
        self.setAcceptDrops(True)
        self.ctx = ctx
        self.tasks = TaskOwner(self.job_failed)
        self.job = JobStrip(self.tasks, _JOB, self)
        self.prefs = AudioPrefs.load(ctx.paths.config)
        self.recorder = VoiceRecorder(
            ctx.paths.cache / "recordings",
            on_level=self.on_level,
            on_finished=self.on_recording_ended,
        )
        self.devices: Devices | None = None
        self.source: Path | None = None
        self.source_is_recording = False
        self.current: Transcription | None = None
        self.recording_state = "idle"  # idle, starting, recording, stopping
        self._build()
        self._connect_signals()
        self._unsubscribe = ctx.registry.subscribe(self.on_registry_changed)
        self.refresh_providers()
        self.refresh_history()
        self._devices_asked = False

    # --- building -------------------------------------------------------------------------
    def _build(self) -> None:
        self.input = named(QComboBox(), "inputDeviceCombo", "Microphone")
        self.rescan_button = named(
            QPushButton("Rescan"), "rescanInputsButton", "Rescan input devices"
        )
        self.max_minutes = named(
            QSpinBox(), "maxLengthSpin", "Maximum recording length", "Recording stops here"
        )
        self.max_minutes.setRange(1, 120)
        self.max_minutes.setSuffix(" min max")
        self.max_minutes.setValue(self.prefs.max_minutes)
        self.record_button = named(
            QPushButton("● Record"), "recordButton", "Start recording", "Record from the microphone"
        )
        self.meter = LevelMeter()
        self.elapsed = named(QLabel("0:00"), "recordingElapsed", "Recording time")
        self.elapsed.setMinimumWidth(48)
        self.elapsed.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.device_warning = device_warning("inputDeviceWarning", "Input device problem")
        self.open_button = named(
            QPushButton("Open file…"), "openAudioButton", "Open an audio file", AUDIO_FILTER
        )
        self.source_label = named(
            QLabel("…or drop an audio file here."), "sourceLabel", "Audio to transcribe"
        )
        self.source_label.setWordWrap(True)
        self.auto_transcribe = named(
            QCheckBox("Transcribe when the recording stops"),
            "autoTranscribeCheck",
            "Transcribe when the recording stops",
        )
        self.auto_transcribe.setChecked(True)

        self.provider = named(QComboBox(), "transcribeProviderCombo", "Transcription provider")
        self.model = named(
            QComboBox(), "transcribeModelCombo", "Transcription model", "Pick or type a model"
        )
        editable(self.model, "transcribeModelEdit", "Transcription model name")
        self.language = named(
            QLineEdit(), "languageEdit", "Language", "ISO-639-1 code such as en, de, fr"
        )
        self.language.setPlaceholderText("auto-detect (or en, de, fr…)")
        self.language.setMaxLength(16)
        self.language.setText(self.prefs.language)
        self.prompt = named(
            QLineEdit(), "promptEdit", "Prompt", "Spelling hints, names, the previous sentence…"
        )
        self.prompt.setPlaceholderText("optional: names, spellings, context")
        self.temperature = named(
            QDoubleSpinBox(), "temperatureSpin", "Temperature", "0 to 1; 0 is the default"
        )
        self.temperature.setRange(0.0, 1.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(2)
        self.response_format = named(QComboBox(), "responseFormatCombo", "Response format")
        self.response_format.addItems(RESPONSE_FORMATS)
        self.response_format.setCurrentText(self.prefs.response_format)
        self.transcribe_button = self.job.action
        self.cancel_button = self.job.cancel
        self.progress = self.job.progress
        self.status = self.job.status

        self.result = TranscriptBox()
        self.transcript, self.segments = self.result.transcript, self.result.segments
        self.result_tabs, self.result_info = self.result.tabs, self.result.info
        self.copy_button, self.save_button = self.result.copy_button, self.result.save_button

        self.history_box = HistoryBox(
            "Past transcripts",
            "transcript",
            "transcript",
            "Transcripts are kept here with their audio.",
        )
        self.history, self.history_empty = self.history_box.list, self.history_box.empty
        self.delete_button = self.history_box.delete_button

        mic_row = QHBoxLayout()
        mic_row.addWidget(QLabel("Microphone"))
        mic_row.addWidget(self.input, 1)
        mic_row.addWidget(self.rescan_button)
        mic_row.addWidget(self.max_minutes)
        level_row = QHBoxLayout()
        level_row.addWidget(self.record_button)
        level_row.addWidget(self.meter, 1)
        level_row.addWidget(self.elapsed)
        file_row = QHBoxLayout()
        file_row.addWidget(self.open_button)
        file_row.addWidget(self.source_label, 1)
        source = QGroupBox("Audio")
        source.setObjectName("audioSourceGroup")
        source_layout = QVBoxLayout(source)
        source_layout.addLayout(mic_row)
        source_layout.addLayout(level_row)
        source_layout.addWidget(self.auto_transcribe)
        source_layout.addWidget(self.device_warning)
        source_layout.addLayout(file_row)

        options = QGroupBox("Options")
        options.setObjectName("transcribeOptionsGroup")
        form = QFormLayout(options)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("Provider", self.provider)
        form.addRow("Model", self.model)
        form.addRow("Language", self.language)
        form.addRow("Prompt", self.prompt)
        for combo in (self.provider, self.model):
            combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        small = QHBoxLayout()
        small.addWidget(self.temperature)
        small.addSpacing(16)
        small.addWidget(QLabel("Format"))
        small.addWidget(self.response_format)
        small.addStretch(1)
        form.addRow("Temperature", small)
        actions = QHBoxLayout()
        actions.addWidget(self.status, 1)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.transcribe_button)
        form.addRow(actions)
        form.addRow(self.progress)

        work_beside_history(
            self,
            [(source, 0), (options, 0), (self.result, 1)],
            self.history_box,
            "transcribeSplitter",
        )
        self._update_actions()

    def _connect_signals(self) -> None:
        self.record_button.clicked.connect(self.on_record_clicked)
        self.rescan_button.clicked.connect(
            lambda: self.tasks.start("devices", self.load_devices(rescan=True))
        )
        self.input.currentIndexChanged.connect(self.on_input_changed)
        self.open_button.clicked.connect(self.on_open_clicked)
        self.provider.currentIndexChanged.connect(self.on_provider_changed)
        self.transcribe_button.clicked.connect(self.on_transcribe_clicked)
        self.job.busy_changed.connect(self._update_actions)
        self.job.status_changed.connect(self.status_changed)
        self.copy_button.clicked.connect(self.on_copy_clicked)
        self.save_button.clicked.connect(self.on_save_clicked)
        self.history.currentItemChanged.connect(self.on_history_current_changed)
        self.delete_button.clicked.connect(self.on_delete_clicked)

    # --- providers -------------------------------------------------------------------------
    def on_registry_changed(self, _registry: object) -> None:
        self.refresh_providers()

    def refresh_providers(self) -> None:
        wanted = self.provider.currentData() or self.prefs.transcribe_provider
        providers = transcription_providers(self.ctx.registry.all())
        fill_providers(self.provider, providers, wanted)
        self.on_provider_changed()
        if not providers:
            self._say(
                "No provider offers transcription. Add one (e.g. OpenAI or Groq) in Providers "
                "(Ctrl+Shift+P)."
            )
        self._update_actions()

    def on_provider_changed(self) -> None:
        profile = self.ctx.registry.get(self.provider.currentData() or "")
        keep = self.model.currentText() or self.prefs.transcribe_model or ""
        models = transcription_models(profile, self.ctx.models) if profile else []
        self.model.clear()
        self.model.addItems(models)
        if keep and (keep in models or not models):
            self.model.setCurrentText(keep)
        elif profile is not None and self.prefs.transcribe_provider == profile.id:
            self.model.setCurrentText(self.prefs.transcribe_model or models[0])

    def request(self) -> TranscriptionRequest:
        temperature = round(self.temperature.value(), 2)
        return TranscriptionRequest(
            provider_id=str(self.provider.currentData() or ""),
            model=self.model.currentText().strip(),
            language=self.language.text().strip() or None,
            prompt=self.prompt.text().strip() or None,
            temperature=temperature or None,
            response_format=self.response_format.currentText(),
        )

    def _remember(self) -> None:
        request = self.request()
        saved = AudioPrefs.load(self.ctx.paths.config)  # the speech panel shares the file
        self.prefs = saved.model_copy(
            update={
                "transcribe_provider": request.provider_id or None,
                "transcribe_model": request.model or None,
                "language": request.language or "",
                "response_format": request.response_format,
                "max_minutes": self.max_minutes.value(),
                "input_device": self.input.currentData(),
            }
        )
        self.prefs.save(self.ctx.paths.config)

    # --- devices ---------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Clips and transcripts also come from elsewhere (Read aloud, voice input, search).
        self.refresh_history(select=self.current.id if self.current is not None else None)
        if not self._devices_asked:  # PortAudio starts when the panel is first seen
            self._devices_asked = True
            self.tasks.start("devices", self.load_devices())

    async def load_devices(self, *, rescan: bool = False) -> None:
        self.devices = await list_devices_async(rescan=rescan and not self.recorder.recording)
        inputs = self.devices.inputs
        default = self.devices.default_input
        fill_devices(self.input, inputs, default, self.prefs.input_device, "No microphone")
        if inputs:
            self.device_warning.hide()
        else:
            self._show_device_problem(
                f"{default} Recording is off; you can still open or drop an audio file to "
                "transcribe."
            )
        self._update_actions()

    def _show_device_problem(self, text: str) -> None:
        self.device_warning.setText(text)
        self.device_warning.show()

    def on_input_changed(self) -> None:
        self._remember()

    # --- recording -------------------------------------------------------------------------
    def on_record_clicked(self) -> None:
        if self.recording_state == "idle":
            self.tasks.start("record", self._start_recording())
        elif self.recording_state == "recording":
            self.tasks.start("stop", self.stop_recording())

    def max_seconds(self) -> float:
        return self.max_minutes.value() * 60.0

    async def _start_recording(self) -> None:
        self.recording_state = "starting"
        self._update_actions()
        self.recorder.configure(device=self.input.currentData(), max_seconds=self.max_seconds())
        self.meter.reset()
        try:
            path = await self.recorder.start()
        except AudioError as exc:
            self.recording_state = "idle"
            self._show_device_problem(str(exc))
            self._say(f"Could not record: {exc}", error=True)
            self._update_actions()
            return
        self.recording_state = "recording"
        self._remember()
        self.device_warning.hide()
        self._say(f"Recording to {path.name}… click Stop when done.")
        self._update_actions()

    async def stop_recording(self) -> Recording | None:
        """End the recording; it becomes the audio to transcribe (and is sent if asked)."""
        if self.recording_state != "recording":
            return None
        self.recording_state = "stopping"
        self._update_actions()
        try:
            recording = await self.recorder.stop()
        except AudioError as exc:
            self._say(str(exc), error=True)
            return None
        finally:
            self.recording_state = "idle"
            self._update_actions()
        self._recorded(recording)
        return recording

    def on_recording_ended(self, recording: Recording | None) -> None:
        """The recorder stopped by itself (maximum length, device lost) or after stop()."""
        if recording is None or self.recording_state != "recording":
            return
        self.recording_state = "idle"
        self._recorded(recording)
        if recording.ended == "max-length":
            self._say(f"Recording reached its maximum length ({clock(recording.duration)}).")
        elif recording.ended == "interrupted":
            self._say("The microphone stopped; what was recorded is kept.", error=True)
        self._update_actions()

    def _recorded(self, recording: Recording) -> None:
        self._set_source(recording.path, recording=True)
        self.elapsed.setText(clock(recording.duration))
        self.source_label.setText(f"Recording · {clock(recording.duration)}")
        if self.transcribing:
            self._say("Recorded. Click Transcribe when the current transcription is done.")
        elif self.auto_transcribe.isChecked():
            self.on_transcribe_clicked()
        else:
            self._say("Recorded. Click Transcribe to send it.")

    def on_level(self, level: Level) -> None:
        self.meter.show_level(level)
        self.elapsed.setText(clock(level.elapsed))

    # --- source ----------------------------------------------------------------------------
    def on_open_clicked(self) -> None:
        dialog = QFileDialog(self, "Open audio")
        dialog.setObjectName("openAudioDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters([AUDIO_FILTER, "All files (*)"])
        dialog.fileSelected.connect(lambda path: self.set_file(Path(path)))
        dialog.open()  # non-modal: no nested event loop

    def set_file(self, path: Path) -> None:
        """Use ``path`` as the audio to transcribe (from the dialog or a drop)."""
        self._set_source(path, recording=False)
        self.source_label.setText(path.name)
        self.source_label.setToolTip(str(path))
        self._say("Ready: click Transcribe.")

    def _set_source(self, path: Path, *, recording: bool) -> None:
        self._drop_recording()
        self.source = path
        self.source_is_recording = recording
        self._update_actions()

    def _drop_recording(self) -> None:
        """A recording replaced before it was sent is deleted (it lives in the cache)."""
        if self.source is not None and self.source_is_recording and not self.transcribing:
            self.source.unlink(missing_ok=True)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            self.set_file(files[0])
            event.acceptProposedAction()

    # --- transcription ---------------------------------------------------------------------
    def on_transcribe_clicked(self) -> None:
        if self.source is None or self.transcribing:
            return
        request = self.request()
        if not request.provider_id:
            self._say("Choose a provider that offers transcription (add one in Providers).")
            return
        self._remember()
        self.job.run(self._transcribe(self.source, request), self.on_transcribed)

    @property
    def transcribing(self) -> bool:
        return self.job.busy

    async def _transcribe(self, source: Path, request: TranscriptionRequest) -> Transcription:
        recording = self.source_is_recording
        item = await transcribe_file(
            self.ctx.store,
            self.ctx.clients,
            source,
            request,
            models=self.ctx.models,
            progress=self._say,
            name="Recording" if recording else source.name,
        )
        if recording and self.source == source:  # kept in the store now
            await asyncio.to_thread(source.unlink, True)
            self.source = None
            self.source_label.setText("Recording sent. Record again, or open a file.")
        return item

    def on_transcribed(self, item: Transcription) -> None:
        self.refresh_history(select=item.id)
        self.show_transcription(item)
        self.job.say("Done.", "ok")
        self.transcribed.emit(item.id)

    # --- the transcript --------------------------------------------------------------------
    def show_transcription(self, item: Transcription) -> None:
        self.current = item
        self.result.show_item(item)
        self._update_actions()

    def on_copy_clicked(self) -> None:
        if self.current is not None:
            QGuiApplication.clipboard().setText(self.current.transcript)
            self.status_changed.emit("Transcript copied.")

    def on_save_clicked(self) -> None:
        if self.current is not None:
            ask_save_path(
                self,
                self.current,
                lambda path, fmt: self.tasks.start("save", self.save_to(path, fmt)),
            )

    async def save_to(self, path: Path, fmt: str) -> None:
        if self.current is None:
            return
        text = export(self.current, fmt)
        try:
            await asyncio.to_thread(path.write_text, text, encoding="utf-8")
        except OSError as exc:
            self._say(f"Could not save: {exc.strerror or exc}", error=True)
            return
        self._say(f"Saved to {path}.")
        self.status_changed.emit(f"Transcript saved to {path.name}.")

    # --- history ---------------------------------------------------------------------------
    def refresh_history(self, select: int | None = None) -> None:
        items = self.ctx.store.list_transcriptions(HISTORY_LIMIT)
        fill_history(self.history, items, transcript_label, lambda item: item.transcript, select)
        self.history_empty.setVisible(not items)
        self._update_actions()

    def on_history_current_changed(self, row: QListWidgetItem | None) -> None:
        if row is not None:
            self.show_transcription(row.data(ITEM_ROLE))
        self._update_actions()

    def on_delete_clicked(self) -> None:
        row = self.history.currentItem()
        if row is not None:
            item: Transcription = row.data(ITEM_ROLE)
            confirm_delete(self, "transcript", lambda: self.delete_item(item))

    def delete_item(self, item: Transcription) -> None:
        """Remove ``item`` (and its audio, when unused) from history."""

        async def delete() -> None:
            try:
                await delete_transcription(self.ctx.store, item.id)
            except TranscriptionError as exc:
                self._say(exc.user_message, error=True)
                return
            if self.current is not None and self.current.id == item.id:
                self.current = None
                self.result.clear()
            self.refresh_history()
            self._update_actions()

        self.tasks.start("delete", delete())

    # --- state -----------------------------------------------------------------------------
    def _update_actions(self) -> None:
        state = self.recording_state
        can_record = self.devices is not None and bool(self.devices.inputs)
        self.record_button.setEnabled((state == "idle" and can_record) or state == "recording")
        recording = state == "recording"
        self.record_button.setText("■ Stop" if recording else "● Record")
        self.record_button.setAccessibleName("Stop recording" if recording else "Start recording")
        self.input.setEnabled(can_record and state == "idle")
        self.max_minutes.setEnabled(state == "idle")
        self.transcribe_button.setEnabled(
            self.source is not None and not self.transcribing and self.provider.count() > 0
        )
        self.copy_button.setEnabled(self.current is not None)
        self.save_button.setEnabled(self.current is not None)
        self.delete_button.setEnabled(self.history.currentItem() is not None)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.job.say(text, "error" if error else "plain")

    def job_failed(self, error: BaseException) -> None:
        """Every other task of the panel (recording, devices, deleting) fails the same way."""
        self.job.show_error(error)

    async def shutdown(self) -> None:
        self._unsubscribe()
        await self.tasks.wait_all()
        if self.recorder.recording:
            await self.recorder.cancel()
        self._drop_recording()
