"""Voice input for a text box: click to record, click again to transcribe and insert.

The button owns its work: a :class:`~app.core.transcription.VoiceRecorder` and one task.
It uses the transcription panel's saved provider, model, language and microphone
(``AudioPrefs``), and keeps each dictation in the transcription history. It emits
``transcribed(text)``; the owner inserts the text where it belongs.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QBoxLayout, QLayout, QToolButton, QWidget

from app import log
from app.core.context import AppContext
from app.ui.icons import icon
from app.ui.tasks import TaskOwner

if TYPE_CHECKING:  # the audio and transcription engine load on the first click
    from app.core.transcription import TranscriptionRequest, VoiceRecorder

_log = log.get("ui.mic")

IDLE_TEXT, IDLE_TIP = (
    "Voice",
    "Voice input: record, then click again to transcribe into the message",
)


class MicButton(QToolButton):
    """Idle → recording (shows the time) → transcribing → idle."""

    transcribed = Signal(str)
    status_changed = Signal(str)
    state_changed = Signal(str)  # "idle", "recording", "transcribing"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("micButton")
        self.setAccessibleName("Voice input")
        self.setToolTip(IDLE_TIP)
        self.setText(IDLE_TEXT)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._idle_icon = icon("microphone", "audio-input-microphone")
        self._stop_icon = icon("stop", "media-playback-stop")
        self.setIcon(self._idle_icon)
        self.tasks = TaskOwner(self.on_task_failed)
        self.state = "idle"
        self._recorder: VoiceRecorder | None = None
        self._clock = QTimer(self, interval=250)
        self._connect_signals()

    @property
    def recorder(self) -> VoiceRecorder:
        """Made on first use: the audio stack is not loaded until voice input is."""
        if self._recorder is None:
            from app.core.transcription import VoiceRecorder

            self._recorder = VoiceRecorder(self.ctx.paths.cache / "recordings")
        return self._recorder

    def _connect_signals(self) -> None:
        self.clicked.connect(self.on_clicked)
        self._clock.timeout.connect(self.on_clock_ticked)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.setEnabled(state != "transcribing")
        if state == "idle":
            self._clock.stop()
            self.setIcon(self._idle_icon)
            self.setText(IDLE_TEXT)
            self.setToolTip(IDLE_TIP)
            self.setAccessibleName("Voice input")
        elif state == "recording":
            self._clock.start()
            self.setIcon(self._stop_icon)
            self.on_clock_ticked()
            self.setToolTip("Recording: click to stop and transcribe")
            self.setAccessibleName("Stop recording and transcribe")
        else:
            self.setText("Wait…")
            self.setToolTip("Transcribing…")
        self.state_changed.emit(state)

    def on_clock_ticked(self) -> None:
        seconds = int(self.recorder.elapsed)
        self.setText(f"Stop {seconds // 60}:{seconds % 60:02d}")

    def on_clicked(self) -> None:
        if self.state == "idle":
            self.tasks.start("record", self._record())
        elif self.state == "recording":
            self.tasks.start("transcribe", self._finish())

    async def _record(self) -> None:
        from app.audio import AudioError, NoDeviceError
        from app.core.speech import AudioPrefs

        prefs = AudioPrefs.load(self.ctx.paths.config)
        self.recorder.configure(device=prefs.input_device, max_seconds=prefs.max_minutes * 60.0)
        try:
            await self.recorder.start()
        except NoDeviceError as exc:
            self.status_changed.emit(f"{exc} Voice input needs a microphone.")
            return
        except AudioError as exc:
            self.status_changed.emit(f"Could not start recording: {exc}")
            return
        self._set_state("recording")
        self.status_changed.emit("Recording… click the microphone again to transcribe.")
        with contextlib.suppress(AudioError):
            await self.recorder.wait()  # ended by itself (maximum length, device lost)
            if self.state == "recording":
                self.tasks.start("transcribe", self._finish())

    async def _finish(self) -> None:
        from app.audio import AudioError
        from app.core.transcription import TranscriptionError, transcribe_file

        self._set_state("transcribing")
        try:
            try:
                recording = await self.recorder.stop()
            except AudioError as exc:
                self.status_changed.emit(str(exc))
                return
            request = self._request()
            if request is None:
                recording.path.unlink(missing_ok=True)
                return
            self.status_changed.emit("Transcribing…")
            try:
                item = await transcribe_file(
                    self.ctx.store,
                    self.ctx.clients,
                    recording.path,
                    request,
                    models=self.ctx.models,
                    name="Voice input",
                )
            except TranscriptionError as exc:
                self.status_changed.emit(f"Voice input failed: {exc.user_message}")
                return
            finally:
                recording.path.unlink(missing_ok=True)  # kept in the store as a blob
            text = item.transcript.strip()
            if text:
                self.transcribed.emit(text)
                self.status_changed.emit("Voice input transcribed.")
            else:
                self.status_changed.emit("Nothing was recognised in the recording.")
        finally:
            self._set_state("idle")

    def _request(self) -> TranscriptionRequest | None:
        from app.core.speech import AudioPrefs
        from app.core.transcription import (
            TranscriptionRequest,
            default_transcription_target,
            transcription_models,
        )

        prefs = AudioPrefs.load(self.ctx.paths.config)
        profiles = self.ctx.registry.all()
        provider = prefs.transcribe_provider
        if provider is not None and self.ctx.registry.get(provider) is not None:
            profile = self.ctx.registry.get(provider)
            assert profile is not None
            model = prefs.transcribe_model or transcription_models(profile, self.ctx.models)[0]
        else:
            target = default_transcription_target(profiles)
            if target is None:
                self.status_changed.emit(
                    "No provider offers transcription: add one (e.g. OpenAI or Groq) in Providers."
                )
                return None
            provider, model = target
        return TranscriptionRequest(provider, model, language=prefs.language or None)

    def cancel(self) -> None:
        """Drop a recording in progress (nothing is sent) or stop a transcription."""
        self.tasks.cancel_all()
        if self._recorder is not None and self._recorder.recording:
            self.tasks.start("cancel", self.recorder.cancel())
        self._set_state("idle")

    def on_task_failed(self, error: BaseException) -> None:
        _log.error("voice input failed", exc_info=error)
        self._set_state("idle")
        self.status_changed.emit(f"Voice input failed: {error}")

    async def shutdown(self) -> None:
        await self.tasks.wait_all()
        if self._recorder is not None and self._recorder.recording:
            await self.recorder.cancel()


def attach_to_composer(button: QWidget, anchor: QWidget) -> bool:
    """Put ``button`` right after ``anchor`` (the composer's attach button) in its row."""
    parent = anchor.parentWidget()
    root = parent.layout() if parent is not None else None
    stack: list[QLayout] = [root] if root is not None else []
    while stack:
        layout = stack.pop()
        for i in range(layout.count()):
            item = layout.itemAt(i)
            if item is None:
                continue
            if item.widget() is anchor and isinstance(layout, QBoxLayout):
                layout.insertWidget(i + 1, button, 0, Qt.AlignmentFlag.AlignBottom)
                return True
            inner = item.layout()
            if inner is not None:
                stack.append(inner)
    return False
