"""The speech panel: text to speech with a player, an output device choice and past clips.

Synthesis runs in core (:func:`app.core.speech.synthesize`): the clip is kept in the
store before it plays, so every clip replays offline from the list on the right. Playback
uses one :class:`app.audio.Player`; its callbacks arrive on the loop (the Qt thread).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app import log
from app.audio import AudioError, Devices, list_devices_async
from app.core.context import AppContext
from app.core.speech import (
    FORMATS,
    MAX_INPUT_CHARS,
    AudioPrefs,
    SpeechError,
    SpeechOutcome,
    SpeechRequest,
    delete_clip,
    load_clip,
    speech_models,
    speech_providers,
    synthesize,
    voices_for,
)
from app.store import SpeechItem
from app.ui.dialogs.common import editable, named
from app.ui.panels.speech_player import PlayerBox
from app.ui.tasks import TaskOwner
from app.ui.widgets.devices import fill_devices
from app.ui.widgets.history_list import (
    ITEM_ROLE,
    HistoryBox,
    confirm_delete,
    fill_history,
    work_beside_history,
)
from app.ui.widgets.job_strip import JobNames, JobStrip, fill_providers

if TYPE_CHECKING:  # the player (numpy, PortAudio) loads on first play, not at start-up
    from app.audio import Clip, PlaybackEnd, Player, PlayerState

_log = log.get("ui.speech")

HISTORY_LIMIT = 200
_JOB = JobNames(
    prefix="speech",
    noun="Speech",
    action="Synthesize",
    busy="Synthesizing…",
    action_name="synthesizeButton",
    action_accessible="Synthesize speech",
    cancel_name="cancelSpeechButton",
    cancel_accessible="Cancel synthesis",
    cancelled="Synthesis cancelled.",
)
_CONVERTIBLE = ("wav", "flac", "ogg", "mp3")


def clip_label(item: SpeechItem) -> str:
    when = dt.datetime.fromtimestamp(item.created_at).strftime("%d %b %H:%M")
    text = " ".join(item.text.split())
    excerpt = text if len(text) <= 60 else text[:59] + "…"
    return f"{excerpt}\n{when} · {item.voice} · {item.format} · {item.model or ''}"


class SpeechPanel(QWidget):
    """Text, options, synthesise, play / pause / stop / seek, save, and past clips."""

    status_changed = Signal(str)
    clip_ready = Signal(int)  # speech item id, after synthesis

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("speechPanel")
        self.setAccessibleName("Speech panel")
        self.ctx = ctx
        self.tasks = TaskOwner(self.job_failed)
        self.job = JobStrip(self.tasks, _JOB, self)
        self.prefs = AudioPrefs.load(ctx.paths.config)
        self._player: Player | None = None
        self.current: SpeechItem | None = None
        self.clip: Clip | None = None
        self.devices: Devices | None = None
        self.last_end: PlaybackEnd | None = None
        self._build()
        self._connect_signals()
        self._unsubscribe = ctx.registry.subscribe(self.on_registry_changed)
        self.refresh_providers()
        self.refresh_history()
        self._devices_asked = False

    @property
    def player(self) -> Player:
        """The panel's one player, made on first use."""
        if self._player is None:
            from app.audio import Player

            self._player = Player(
                device=self.prefs.output_device,
                on_position=self.on_player_position,
                on_state=self.on_player_state,
            )
        return self._player

    @property
    def player_state(self) -> str:
        return "stopped" if self._player is None else str(self._player.state)

    # --- building -------------------------------------------------------------------------
    def _build(self) -> None:
        self.text = named(
            QPlainTextEdit(), "speechText", "Text to speak", "The text to turn into speech"
        )
        self.text.setPlaceholderText("Type or paste the text to speak…")
        self.count_label = named(QLabel(), "speechCharCount", "Character count")
        self.provider = named(QComboBox(), "speechProviderCombo", "Speech provider")
        self.model = named(QComboBox(), "speechModelCombo", "Speech model", "Pick or type a model")
        editable(self.model, "speechModelEdit", "Speech model name")
        self.voice = named(QComboBox(), "speechVoiceCombo", "Voice", "Pick or type a voice")
        editable(self.voice, "speechVoiceEdit", "Voice name")
        self.format = named(QComboBox(), "speechFormatCombo", "Audio format")
        self.format.addItems(FORMATS)
        self.format.setItemData(
            FORMATS.index("pcm"), "Raw 24 kHz 16-bit mono", Qt.ItemDataRole.ToolTipRole
        )
        self.speed = named(QDoubleSpinBox(), "speechSpeedSpin", "Speed", "0.25 to 4.0")
        self.speed.setRange(0.25, 4.0)
        self.speed.setSingleStep(0.25)
        self.speed.setDecimals(2)
        self.speed.setSuffix("×")
        self.synth_button = self.job.action
        self.cancel_button = self.job.cancel
        self.progress = self.job.progress
        self.status = self.job.status

        self.player_box = PlayerBox()
        box = self.player_box
        self.play_button, self.stop_button = box.play_button, box.stop_button
        self.position, self.output, self.time_label = box.position, box.output, box.time_label
        self.rescan_button, self.save_button = box.rescan_button, box.save_button
        self.device_warning, self.now_playing = box.device_warning, box.now_playing

        self.reuse_button = named(
            QPushButton("Use text"), "reuseSpeechButton", "Put the clip's text and voice above"
        )
        self.history_box = HistoryBox(
            "Past clips",
            "speech",
            "clip",
            "Clips you synthesise are kept here and replay offline.",
            extra=[self.reuse_button],
        )
        self.history, self.history_empty = self.history_box.list, self.history_box.empty
        self.delete_button = self.history_box.delete_button

        options = QFormLayout()
        options.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        options.addRow("Provider", self.provider)
        options.addRow("Model", self.model)
        options.addRow("Voice", self.voice)
        for combo in (self.provider, self.model, self.voice):
            combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        row = QHBoxLayout()
        row.addWidget(self.format)
        row.addSpacing(16)
        row.addWidget(QLabel("Speed"))
        row.addWidget(self.speed)
        row.addStretch(1)
        options.addRow("Format", row)
        actions = QHBoxLayout()
        actions.addWidget(self.count_label, 1)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.synth_button)

        compose = QGroupBox("Text to speech")
        compose.setObjectName("speechComposeGroup")
        compose_layout = QVBoxLayout(compose)
        compose_layout.addWidget(self.text, 1)
        compose_layout.addLayout(options)
        compose_layout.addLayout(actions)
        compose_layout.addWidget(self.progress)
        compose_layout.addWidget(self.status)

        work_beside_history(
            self, [(compose, 1), (self.player_box, 0)], self.history_box, "speechSplitter"
        )

        self.format.setCurrentText(self.prefs.speech_format)
        self.speed.setValue(self.prefs.speed)
        self._update_count()

    def _connect_signals(self) -> None:
        self.text.textChanged.connect(self._update_count)
        self.provider.currentIndexChanged.connect(self.on_provider_changed)
        self.synth_button.clicked.connect(self.on_synth_clicked)
        self.job.busy_changed.connect(self._update_actions)
        self.job.status_changed.connect(self.status_changed)
        self.play_button.clicked.connect(self.on_play_clicked)
        self.stop_button.clicked.connect(self.on_stop_clicked)
        self.position.sliderReleased.connect(self.on_position_released)
        self.position.sliderMoved.connect(self.on_position_moved)
        self.output.currentIndexChanged.connect(self.on_output_changed)
        self.rescan_button.clicked.connect(
            lambda: self.tasks.start("devices", self.load_devices(rescan=True))
        )
        self.save_button.clicked.connect(self.on_save_clicked)
        self.history.currentItemChanged.connect(self.on_history_current_changed)
        self.history.itemActivated.connect(self.on_history_activated)
        self.reuse_button.clicked.connect(self.on_reuse_clicked)
        self.delete_button.clicked.connect(self.on_delete_clicked)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self.text)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self.on_synth_clicked)

    # --- providers and choices -----------------------------------------------------------
    def on_registry_changed(self, _registry: object) -> None:
        self.refresh_providers()

    def refresh_providers(self) -> None:
        wanted = self.provider.currentData() or self.prefs.speech_provider
        providers = speech_providers(self.ctx.registry.all())
        fill_providers(self.provider, providers, wanted)
        self.on_provider_changed()
        if not providers:
            self._say(
                "No provider offers text to speech. Add one (e.g. OpenAI) in Providers "
                "(Ctrl+Shift+P); past clips still play."
            )
        self._update_actions()

    def on_provider_changed(self) -> None:
        profile = self.ctx.registry.get(self.provider.currentData() or "")
        models = speech_models(profile, self.ctx.models) if profile else []
        keep_model = self.model.currentText() or self.prefs.speech_model or ""
        keep_voice = self.voice.currentText() or self.prefs.voice
        self.model.clear()
        self.model.addItems(models)
        if keep_model and (keep_model in models or profile is None or not models):
            self.model.setCurrentText(keep_model)
        elif profile is not None and self.prefs.speech_provider == profile.id:
            self.model.setCurrentText(self.prefs.speech_model or (models[0] if models else ""))
        self.voice.clear()
        self.voice.addItems(voices_for(profile))
        self.voice.setCurrentText(keep_voice)

    def request(self) -> SpeechRequest:
        speed = round(self.speed.value(), 2)
        return SpeechRequest(
            provider_id=str(self.provider.currentData() or ""),
            model=self.model.currentText().strip(),
            text=self.text.toPlainText(),
            voice=self.voice.currentText().strip(),
            format=self.format.currentText(),
            speed=None if speed == 1.0 else speed,
        )

    def _remember(self, request: SpeechRequest) -> None:
        self.prefs = self.prefs.model_copy(
            update={
                "speech_provider": request.provider_id,
                "speech_model": request.model,
                "voice": request.voice,
                "speech_format": request.format,
                "speed": request.speed or 1.0,
            }
        )
        self._save_prefs()

    def _save_prefs(self, *fields: str) -> None:
        """Save the speech choices (and ``fields``), merged with what the other panel saved
        meanwhile (one file for both)."""
        saved = AudioPrefs.load(self.ctx.paths.config)
        keys = {"speech_provider", "speech_model", "voice", "speech_format", "speed", *fields}
        saved.model_copy(update=self.prefs.model_dump(include=keys)).save(self.ctx.paths.config)

    # --- synthesis ---------------------------------------------------------------------------
    def on_synth_clicked(self) -> None:
        if self.job.busy or not self.synth_button.isEnabled():
            return
        request = self.request()
        if not request.provider_id:
            self._say("Choose a provider that offers text to speech (add one in Providers).")
            return
        self._say("Waiting for the provider…")
        work = synthesize(
            self.ctx.store,
            self.ctx.clients,
            request,
            models=self.ctx.models,
            progress=self.on_bytes_received,
        )
        self.job.run(work, lambda outcome: self.on_synthesized(request, outcome))

    def on_synthesized(self, request: SpeechRequest, outcome: SpeechOutcome) -> None:
        self._remember(request)
        self.refresh_history(select=outcome.item.id)
        self.clip_ready.emit(outcome.item.id)
        cost = "" if outcome.item.cost is None else f" · ${outcome.item.cost:.4f}"
        self.job.say(f"Clip ready ({len(outcome.audio) // 1024 or 1} KB{cost}).", "ok")
        self.tasks.start("play", self._open_and_play(outcome.item))

    async def _open_and_play(self, item: SpeechItem) -> None:
        await self._open(item)
        if self.clip is not None and self._can_play():
            await self._play(0.0)

    def on_bytes_received(self, count: int) -> None:
        self._say(f"Receiving audio… {count / 1024:.0f} KB")

    # --- the current clip and the player ----------------------------------------------------
    async def _open(self, item: SpeechItem) -> None:
        """Make ``item`` the current clip (decoded from the store, offline)."""
        self.on_stop_clicked()
        self.current = item
        self.clip = None
        problem = None
        try:
            clip: Clip | None = await load_clip(self.ctx.store, item)
        except SpeechError as exc:
            clip, problem = None, exc.user_message
        if self.current is not item:
            return  # another clip was chosen while this one loaded: that one wins
        self.clip = clip
        if problem:
            self._say(problem, error=True)
        duration = self.clip.duration if self.clip is not None else 0.0
        self.player_box.show_clip(
            f"“{_excerpt(item.text)}” · {item.voice} · {item.format}", duration
        )
        self._update_actions()

    def on_stop_clicked(self) -> None:
        if self._player is not None:
            self._player.stop()

    def on_play_clicked(self) -> None:
        state = self.player_state
        if state == "playing":
            self.player.pause()
        elif state == "paused":
            self.player.resume()
        elif self.clip is not None:
            at = self.player_box.seconds
            self.tasks.start("play", self._play(0.0 if at >= self.clip.duration - 0.05 else at))

    async def _play(self, start: float) -> None:
        if self.clip is None:
            return
        try:
            self.last_end = await self.player.play(self.clip, start=start)
        except AudioError as exc:
            self.player_box.show_device_problem(str(exc))
            return
        if self.last_end == "interrupted":
            self._say("Playback stopped: the output device went away.", error=True)

    @property
    def duration(self) -> float:
        return self.clip.duration if self.clip is not None else 0.0

    def on_player_position(self, seconds: float) -> None:
        self.player_box.show_position(seconds, self.duration)

    def on_player_state(self, state: PlayerState) -> None:
        self.player_box.show_state(state)

    def on_position_moved(self, value: int) -> None:
        self.player_box.show_time(value / 1000, self.duration)

    def on_position_released(self) -> None:
        if self.player_state != "stopped":
            self.player.seek(self.player_box.seconds)

    # --- devices ---------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Clips and transcripts also come from elsewhere (Read aloud, voice input, search).
        self.refresh_history(select=self.current.id if self.current is not None else None)
        if not self._devices_asked:  # PortAudio starts when the panel is first seen
            self._devices_asked = True
            self.tasks.start("devices", self.load_devices())

    async def load_devices(self, *, rescan: bool = False) -> None:
        self.devices = await list_devices_async(rescan=rescan and self.player_state == "stopped")
        outputs = self.devices.outputs
        wanted = self.prefs.output_device
        found = fill_devices(
            self.output, outputs, self.devices.default_output, wanted, "No output device"
        )
        if not outputs:
            self.player_box.show_device_problem(
                f"{self.devices.default_output} Clips are still synthesised and kept; save "
                "them to play elsewhere."
            )
            self._update_actions()
            return
        self.device_warning.hide()
        if not found:
            # The saved device is unplugged: play on the default until it is back (the
            # saved choice stays in the file).
            self._say(f"“{wanted}” is not connected; using the default.")
            self.prefs = self.prefs.model_copy(update={"output_device": None})
            if self._player is not None:
                self._player.device = None
        self._update_actions()

    def _can_play(self) -> bool:
        return self.devices is not None and bool(self.devices.outputs)

    def on_output_changed(self) -> None:
        name = self.output.currentData()
        if self._player is not None:
            self._player.device = name
        self.prefs = self.prefs.model_copy(update={"output_device": name})
        self._save_prefs("output_device")

    # --- saving ----------------------------------------------------------------------------
    def on_save_clicked(self) -> None:
        item = self.current
        if item is None or item.audio is None:
            return
        suffix = "wav" if item.format == "pcm" else item.format
        dialog = QFileDialog(self, "Save clip")
        dialog.setObjectName("saveClipDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(suffix)
        dialog.setNameFilters(
            [f"{suffix.upper()} audio (*.{suffix})", "Audio (*.wav *.flac *.ogg *.mp3)"]
        )
        dialog.selectFile(f"speech-{item.id}.{suffix}")
        dialog.fileSelected.connect(lambda path: self.tasks.start("save", self.save_to(Path(path))))
        dialog.open()  # non-modal: no nested event loop

    async def save_to(self, path: Path) -> None:
        """Write the current clip to ``path``: as it came, or converted for another suffix."""
        item = self.current
        if item is None or item.audio is None:
            return
        wanted = path.suffix.lower().lstrip(".")
        source = self.ctx.store.blob_path(item.audio)
        try:
            if wanted == item.format or (wanted not in _CONVERTIBLE and item.format != "pcm"):
                await asyncio.to_thread(shutil.copyfile, source, path)
            else:
                from app.audio import save_async

                clip = self.clip or await load_clip(self.ctx.store, item)
                await save_async(clip, path, wanted if wanted in _CONVERTIBLE else "wav")
        except (OSError, AudioError, SpeechError) as exc:
            self._say(f"Could not save the clip: {exc}", error=True)
            return
        self._say(f"Saved to {path}.")
        self.status_changed.emit(f"Clip saved to {path.name}.")

    # --- history ---------------------------------------------------------------------------
    def refresh_history(self, select: int | None = None) -> None:
        items = self.ctx.store.list_speech(HISTORY_LIMIT)
        fill_history(self.history, items, clip_label, lambda item: item.text, select)
        self.history_empty.setVisible(not items)
        self._update_actions()

    def _selected(self) -> SpeechItem | None:
        row = self.history.currentItem()
        return row.data(ITEM_ROLE) if row is not None else None

    def on_history_current_changed(self) -> None:
        item = self._selected()
        if item is not None:
            self.tasks.start("open", self._open(item))
        self._update_actions()

    def on_history_activated(self, row: QListWidgetItem) -> None:
        self.tasks.start("play", self._open_and_play(row.data(ITEM_ROLE)))

    def on_reuse_clicked(self) -> None:
        item = self._selected()
        if item is None:
            return
        self.text.setPlainText(item.text)
        index = self.provider.findData(item.provider)
        if index >= 0:
            self.provider.setCurrentIndex(index)
        self.model.setCurrentText(item.model or "")
        self.voice.setCurrentText(item.voice)
        self.format.setCurrentText(item.format)
        self.speed.setValue(float(item.params.get("speed", 1.0)))

    def on_delete_clicked(self) -> None:
        item = self._selected()
        if item is not None:
            confirm_delete(self, "clip", lambda: self.delete_item(item))

    def delete_item(self, item: SpeechItem) -> None:
        """Remove ``item`` from history (stops it first when it is the current clip)."""

        async def delete() -> None:
            if self.current is not None and self.current.id == item.id:
                if self._player is not None:
                    await self._player.close()
                self.current, self.clip = None, None
                self.player_box.show_clip("No clip selected.", 0.0)
            try:
                await delete_clip(self.ctx.store, item.id)
            except SpeechError as exc:
                self._say(exc.user_message, error=True)
            self.refresh_history()
            self._update_actions()

        self.tasks.start("delete", delete())

    # --- state -----------------------------------------------------------------------------
    def _update_count(self) -> None:
        count = len(self.text.toPlainText())
        over = count > MAX_INPUT_CHARS
        self.count_label.setText(f"{count:,} / {MAX_INPUT_CHARS:,} characters")
        self.count_label.setStyleSheet("color: #c0392b;" if over else "")
        self._update_actions()

    def _update_actions(self) -> None:
        busy = self.job.busy
        has_text = bool(self.text.toPlainText().strip())
        self.synth_button.setEnabled(not busy and has_text and self.provider.count() > 0)
        has_clip = self.clip is not None
        self.play_button.setEnabled(has_clip and self._can_play())
        self.position.setEnabled(has_clip)
        self.save_button.setEnabled(self.current is not None and self.current.audio is not None)
        self.reuse_button.setEnabled(self.history.currentItem() is not None)
        self.delete_button.setEnabled(self.history.currentItem() is not None)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.job.say(text, "error" if error else "plain")

    def job_failed(self, error: BaseException) -> None:
        """Every other task of the panel (devices, playback, deleting) fails the same way."""
        self.job.show_error(error)

    async def shutdown(self) -> None:
        self._unsubscribe()
        await self.tasks.wait_all()
        if self._player is not None:
            await self._player.close()


def _excerpt(text: str, size: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1] + "…"
