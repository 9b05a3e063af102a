"""The speech panel driven like a user would, against the local server over loopback.

Tests marked ``audio`` play through PulseAudio's null sink and listen on its monitor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app.audio import Devices, NoDevice, Recorder, decode
from app.core.context import AppContext
from app.core.speech import AudioPrefs
from app.paths import AppPaths
from app.ui.panels import speech as speech_module
from app.ui.panels.speech import SpeechPanel
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.audio_env import dominant_frequency, loud_part, virtual_device_problem
from tests.helpers.openai_server import OpenAIServer
from tests.helpers.waiting import until

INTERACTIVE = ("QPushButton", "QToolButton", "QCheckBox", "QComboBox", "QLineEdit",
               "QPlainTextEdit", "QSpinBox", "QDoubleSpinBox", "QSlider", "QListWidget",
               "QTableWidget", "QTabWidget")  # fmt: skip


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path / "profile"))
    context.registry.add(
        local_provider(
            openai_server, capabilities={"speech": True}, prices={"tts-1": {"per_m_chars": 15.0}}
        )
    )
    yield context
    await context.close()


@pytest.fixture
def no_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    async def none(*, rescan: bool = False) -> Devices:
        return Devices(
            (),
            (),
            NoDevice("input", "No input device found."),
            NoDevice("output", "No output device found."),
        )

    monkeypatch.setattr(speech_module, "list_devices_async", none)


async def _panel(qtbot, ctx: AppContext) -> SpeechPanel:  # type: ignore[no-untyped-def]
    panel = SpeechPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    await until(lambda: panel.devices is not None)
    return panel


def assert_all_named(panel: QWidget) -> None:
    for widget in panel.findChildren(QWidget):
        if widget.objectName().startswith("qt_"):
            continue
        if widget.metaObject().className() in INTERACTIVE:
            assert widget.objectName() and widget.accessibleName(), widget


async def test_without_an_output_device_clips_are_still_made_kept_and_saved(
    qtbot, ctx: AppContext, no_devices: None, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    assert panel.device_warning.isVisible()
    assert "No output device found" in panel.device_warning.text()
    assert not panel.output.isEnabled()
    assert not panel.synth_button.isEnabled()  # no text yet
    panel.text.setPlainText("Hello from the speech panel.")
    panel.voice.setCurrentText("nova")
    panel.format.setCurrentText("wav")
    panel.text.setFocus()
    qtbot.keyClick(panel.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    await until(lambda: panel.history.count() == 1 and panel.clip is not None)
    assert "Clip ready" in panel.status.text() and "$" in panel.status.text()
    assert not panel.play_button.isEnabled()  # nothing to play on
    assert panel.save_button.isEnabled()
    assert panel.clip.duration == pytest.approx(28 * 0.06, abs=0.1)  # type: ignore[union-attr]
    item = ctx.store.list_speech()[0]
    assert (item.voice, item.format, item.model) == ("nova", "wav", "tts-1")
    # Remembered for next time (and for Read aloud in the chat).
    prefs = AudioPrefs.load(ctx.paths.config)
    assert (prefs.speech_provider, prefs.voice, prefs.speech_format) == ("local", "nova", "wav")
    # Saved as it came, or converted by the chosen suffix.
    await panel.save_to(tmp_path / "same.wav")
    assert (tmp_path / "same.wav").read_bytes() == ctx.store.blob_path(item.audio).read_bytes()  # type: ignore[arg-type]
    await panel.save_to(tmp_path / "other.flac")
    converted = decode(tmp_path / "other.flac")
    assert converted.duration == pytest.approx(panel.clip.duration, abs=0.01)  # type: ignore[union-attr]
    assert_all_named(panel)
    await panel.shutdown()


async def test_past_clips_reload_with_their_settings(
    qtbot, ctx: AppContext, no_devices: None
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    for text, voice in (("First clip", "echo"), ("Second clip", "onyx")):
        panel.text.setPlainText(text)
        panel.voice.setCurrentText(voice)
        panel.speed.setValue(1.5 if voice == "echo" else 1.0)
        qtbot.mouseClick(panel.synth_button, Qt.MouseButton.LeftButton)
        await until(lambda t=text: t in panel.now_playing.text())
    assert panel.history.count() == 2
    panel.history.setCurrentRow(1)  # the older one
    await until(lambda: "First clip" in panel.now_playing.text() and panel.clip is not None)
    assert dominant_frequency(panel.clip.samples, panel.clip.samplerate) == pytest.approx(
        330, abs=5
    )  # type: ignore[union-attr]
    qtbot.mouseClick(panel.reuse_button, Qt.MouseButton.LeftButton)
    assert panel.text.toPlainText() == "First clip"
    assert (panel.voice.currentText(), panel.speed.value()) == ("echo", 1.5)
    # Delete asks first; Yes removes the clip and its file.
    path = ctx.store.blob_path(ctx.store.list_speech()[1].audio)  # type: ignore[arg-type]
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    box = panel.findChild(QMessageBox, "confirmDeleteBox")
    assert box is not None and box.isVisible()
    box.button(QMessageBox.StandardButton.Yes).click()  # type: ignore[union-attr]
    await until(lambda: panel.history.count() == 1)
    assert not path.exists() and panel.clip is None and panel.current is None
    assert [i.text for i in ctx.store.list_speech()] == ["Second clip"]
    await panel.shutdown()


async def test_provider_errors_and_bad_input_are_shown_plainly(
    qtbot, ctx: AppContext, no_devices: None
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    messages: list[str] = []
    panel.status_changed.connect(messages.append)
    panel.text.setPlainText("Hello")
    panel.model.setCurrentText("tts-1?fault=402")
    qtbot.mouseClick(panel.synth_button, Qt.MouseButton.LeftButton)
    await until(lambda: bool(messages))
    assert "credit" in messages[-1].lower()
    assert panel.history.count() == 0 and panel.synth_button.isEnabled()
    panel.model.setCurrentText("tts-1")
    panel.text.setPlainText("x" * 5000)
    assert "5,000 / 4,096" in panel.count_label.text()
    qtbot.mouseClick(panel.synth_button, Qt.MouseButton.LeftButton)
    await until(lambda: "at most 4,096" in panel.status.text())
    await panel.shutdown()


async def test_without_providers_the_panel_says_where_to_add_one(
    qtbot, tmp_path: Path, no_devices: None
) -> None:  # type: ignore[no-untyped-def]
    context = await open_context(AppPaths.from_root(tmp_path / "empty"))
    try:
        panel = await _panel(qtbot, context)
        panel.text.setPlainText("Hello")
        assert not panel.synth_button.isEnabled()
        assert "Add one" in panel.status.text()
        await panel.shutdown()
    finally:
        await context.close()


async def test_an_unplugged_output_falls_back_to_the_default_and_is_remembered(
    qtbot, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from app.audio import _backend
    from tests.audio.fake_sounddevice import FakeSoundDevice

    fake = FakeSoundDevice(outputs=2, pace=0.01)
    monkeypatch.setattr(_backend, "sounddevice", lambda: fake)
    AudioPrefs(output_device="Gone speaker").save(ctx.paths.config)
    panel = await _panel(qtbot, ctx)
    assert "“Gone speaker” is not connected; using the default" in panel.status.text()
    assert panel.output.currentIndex() == 0 and panel.output.count() == 3
    panel.text.setPlainText("Hi")
    qtbot.mouseClick(panel.synth_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.last_end is not None, 20)
    assert panel.last_end == "finished"  # played on the default (fake) speaker
    assert AudioPrefs.load(ctx.paths.config).output_device == "Gone speaker"
    panel.output.setCurrentIndex(2)  # the user picks one: that is what is kept now
    assert AudioPrefs.load(ctx.paths.config).output_device == "Fake speaker 1"
    assert panel.player.device == "Fake speaker 1"
    await panel.shutdown()


# --- real audio ------------------------------------------------------------------------------


@pytest.fixture
def sink_awake() -> Iterator[None]:
    """Keep the null sink rendering (an idle one takes ~2 s to start a new stream)."""
    problem = virtual_device_problem()
    if problem is not None:
        pytest.skip(f"needs the virtual sound device: {problem}")
    import sounddevice as sd

    with sd.InputStream(channels=1, latency=0.2, callback=lambda *args: None):
        yield


@pytest.mark.audio
@pytest.mark.parametrize("format", ["mp3", "wav", "flac", "opus", "pcm"])
@pytest.mark.slow
async def test_every_format_plays_to_the_end_through_the_sink(
    qtbot, ctx: AppContext, sink_awake: None, format: str
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    assert panel.play_button.isEnabled() is False and panel.output.isEnabled()
    panel.text.setPlainText("Short clip.")
    panel.format.setCurrentText(format)
    qtbot.mouseClick(panel.synth_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.last_end is not None, 30)
    assert panel.last_end == "finished"
    assert panel.position.value() == panel.position.maximum() > 0
    assert panel.time_label.text() == "0:00 / 0:00"  # under a second long
    assert panel.play_button.text() == "▶ Play"
    await panel.shutdown()


@pytest.mark.audio
@pytest.mark.slow
async def test_playback_is_heard_on_the_monitor_and_pause_seek_stop_work(
    qtbot, ctx: AppContext, sink_awake: None, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    panel.text.setPlainText("A long enough sentence to hear for a while. " * 2)
    panel.voice.setCurrentText("nova")  # the server speaks "nova" as a 660 Hz tone
    recorder = Recorder(format="wav")
    await recorder.start(tmp_path / "heard.wav")
    try:
        qtbot.mouseClick(panel.synth_button, Qt.MouseButton.LeftButton)
        await until(lambda: panel.player_state == "playing", 30)
        await until(lambda: panel.position.value() > 1500, 30)
        qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)
        assert panel.player_state == "paused" and panel.play_button.text() == "▶ Play"
        panel.position.setValue(4000)
        panel.on_position_released()
        assert panel.player.position == pytest.approx(4.0)
        qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)
        assert panel.player_state == "playing"
        await until(lambda: panel.position.value() > 4300, 30)
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
        await until(lambda: panel.last_end is not None, 10)
        assert panel.last_end == "stopped"
    finally:
        recording = await recorder.stop()
    import soundfile as sf

    data, rate = sf.read(str(recording.path), dtype="float32")
    heard = loud_part(data, rate)
    assert len(heard) > 0.5 * rate
    assert dominant_frequency(heard, rate) == pytest.approx(660, abs=5)
    await panel.shutdown()


# --- the chat's Read aloud and voice input ------------------------------------------------


async def _chat_with_answer(qtbot, ctx: AppContext):  # type: ignore[no-untyped-def]
    from app.ui.panels.chat import ChatPanel

    ctx.settings.update(default_provider="local", default_model="gpt-test?tokens=12")
    panel = ChatPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    panel.composer.set_text("Say something")
    panel.composer.on_send_clicked()
    await until(lambda: len(panel.view.message_ids()) == 2 and not panel.composer.busy)
    return panel


async def test_chat_read_aloud_keeps_the_clip_and_says_when_it_cannot_play(
    qtbot, ctx: AppContext
) -> None:  # type: ignore[no-untyped-def]
    AudioPrefs(speech_provider="local", speech_model="tts-1", output_device="Nowhere").save(
        ctx.paths.config
    )
    panel = await _chat_with_answer(qtbot, ctx)
    assert panel.mic.parentWidget() is panel.composer  # the mic sits in the composer row
    messages: list[str] = []
    panel.status_changed.connect(messages.append)
    answer_id = panel.view.message_ids()[1]
    panel.view.read_aloud_requested.emit(answer_id)
    await until(lambda: len(messages) >= 2)
    assert messages[0] == "Reading aloud…"
    assert "The clip was kept but cannot be played" in messages[1]
    assert "output device" in messages[1]
    clip = ctx.store.list_speech()[0]
    assert clip.text and clip.model == "tts-1"
    await panel.shutdown()


@pytest.mark.audio
@pytest.mark.slow
async def test_chat_read_aloud_plays_through_the_sink(
    qtbot, ctx: AppContext, sink_awake: None
) -> None:  # type: ignore[no-untyped-def]
    AudioPrefs(speech_provider="local", speech_model="tts-1", voice="echo").save(ctx.paths.config)
    panel = await _chat_with_answer(qtbot, ctx)
    ends: list[str] = []
    panel.view.read_aloud_requested.emit(panel.view.message_ids()[1])
    await until(lambda: panel.speaker is not None)
    panel.speaker.player.on_finished = ends.append  # type: ignore[union-attr]
    await until(lambda: bool(ends), 30)
    assert ends == ["finished"]
    assert ctx.store.list_speech()[0].voice == "echo"
    # A second click on the message while it is being read stops it.
    messages: list[str] = []
    panel.status_changed.connect(messages.append)
    panel.view.read_aloud_requested.emit(panel.view.message_ids()[1])
    await until(lambda: panel.speaker.player.state == "playing", 30)  # type: ignore[union-attr]
    panel.view.read_aloud_requested.emit(panel.view.message_ids()[1])
    assert messages[-1] == "Stopped reading aloud."
    await until(lambda: panel.speaker.player.state == "stopped", 10)  # type: ignore[union-attr]
    assert not panel.tasks.running("read-aloud")
    await panel.shutdown()
