"""The transcription panel driven like a user would, against the local server (which reports
the duration and the dominant frequency of what it received).

Tests marked ``audio`` play a tone or espeak-ng speech into PulseAudio's null sink and
record its monitor through the panel's own recorder.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication

from app.audio import Clip, Devices, NoDevice, Player, decode
from app.core.context import AppContext
from app.core.speech import AudioPrefs
from app.paths import AppPaths
from app.ui.panels import transcribe as transcribe_module
from app.ui.panels.transcribe import TranscribePanel
from app.ui.widgets.mic_button import MicButton
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.audio_env import (
    band_profile,
    loud_part,
    make_speech,
    tone,
    virtual_device_problem,
)
from tests.helpers.openai_server import OpenAIServer
from tests.helpers.waiting import until
from tests.ui.panels.test_speech_panel import assert_all_named


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path / "profile"))
    context.registry.add(
        local_provider(
            openai_server,
            capabilities={"transcription": True},
            prices={"whisper-1": {"per_audio_minute": 0.006}},
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

    monkeypatch.setattr(transcribe_module, "list_devices_async", none)


async def _panel(qtbot, ctx: AppContext) -> TranscribePanel:  # type: ignore[no-untyped-def]
    panel = TranscribePanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1000, 760)
    panel.show()
    await until(lambda: panel.devices is not None)
    return panel


def _tone_file(path: Path, frequency: float = 440.0, seconds: float = 1.5) -> Path:
    sf.write(str(path), tone(frequency, seconds, samplerate=16_000), 16_000)
    return path


async def _transcribe(qtbot, panel: TranscribePanel) -> None:  # type: ignore[no-untyped-def]
    before = panel.history.count()
    qtbot.mouseClick(panel.transcribe_button, Qt.MouseButton.LeftButton)
    await until(lambda: not panel.transcribing and panel.history.count() > before, 20)


async def test_file_transcription_works_without_a_microphone(
    qtbot, ctx: AppContext, no_devices: None, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    assert panel.device_warning.isVisible()
    assert "No input device found" in panel.device_warning.text()
    assert "open or drop an audio file" in panel.device_warning.text()
    assert not panel.record_button.isEnabled() and not panel.transcribe_button.isEnabled()
    panel.set_file(_tone_file(tmp_path / "meeting.wav"))
    assert panel.transcribe_button.isEnabled() and panel.source_label.text() == "meeting.wav"
    panel.response_format.setCurrentText("verbose_json")
    panel.language.setText("en")
    panel.prompt.setText("Palaver")
    await _transcribe(qtbot, panel)
    text = panel.transcript.toPlainText()
    assert "1.50 seconds at 16000 Hz, dominant frequency 440 Hz" in text and "Palaver" in text
    assert panel.segments.rowCount() == 1
    assert panel.segments.item(0, 1).text() == "00:00:01.50"  # type: ignore[union-attr]
    assert panel.result_tabs.tabText(1) == "Segments (1)"
    assert "whisper-1" in panel.result_info.text() and "$" in panel.result_info.text()
    assert "meeting.wav" in panel.history.item(0).text()  # type: ignore[union-attr]
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == text
    for fmt in ("txt", "srt", "vtt"):
        await panel.save_to(tmp_path / f"out.{fmt}", fmt)
    assert (tmp_path / "out.txt").read_text() == text + "\n"
    assert "00:00:00,000 --> 00:00:01,500" in (tmp_path / "out.srt").read_text()
    assert (tmp_path / "out.vtt").read_text().startswith("WEBVTT")
    prefs = AudioPrefs.load(ctx.paths.config)
    assert (prefs.transcribe_model, prefs.language, prefs.response_format) == (
        "whisper-1",
        "en",
        "verbose_json",
    )
    assert_all_named(panel)
    await panel.shutdown()


async def test_a_dropped_file_in_plain_text_format(
    qtbot, ctx: AppContext, no_devices: None, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    path = _tone_file(tmp_path / "drop.flac", 330.0, 2.0)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    panel.dropEvent(drop)
    assert panel.source == path
    panel.response_format.setCurrentText("text")
    await _transcribe(qtbot, panel)
    assert "dominant frequency 330 Hz" in panel.transcript.toPlainText()
    assert panel.segments.rowCount() == 0 and not panel.result_tabs.isTabEnabled(1)
    # History: selecting an older transcript shows it again.
    panel.response_format.setCurrentText("srt")
    await _transcribe(qtbot, panel)
    assert panel.segments.rowCount() == 1
    panel.history.setCurrentRow(1)
    assert panel.segments.rowCount() == 0
    panel.delete_item(panel.history.currentItem().data(transcribe_module.ITEM_ROLE))  # type: ignore[union-attr]
    await until(lambda: panel.history.count() == 1)
    assert panel.transcript.toPlainText() == "" and not panel.copy_button.isEnabled()
    assert ctx.store.list_transcriptions()[0].options["response_format"] == "srt"
    await panel.shutdown()


async def test_bad_files_and_provider_errors_are_shown_plainly(
    qtbot, ctx: AppContext, no_devices: None, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    messages: list[str] = []
    panel.status_changed.connect(messages.append)
    broken = tmp_path / "broken.xyz"
    broken.write_bytes(b"\x00not audio" * 50)
    panel.set_file(broken)
    qtbot.mouseClick(panel.transcribe_button, Qt.MouseButton.LeftButton)
    await until(lambda: bool(messages))
    assert "not audio that can be read" in messages[-1]
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    panel.set_file(empty)
    qtbot.mouseClick(panel.transcribe_button, Qt.MouseButton.LeftButton)
    await until(lambda: "empty" in messages[-1])
    panel.set_file(_tone_file(tmp_path / "ok.wav"))
    panel.model.setCurrentText("whisper-1?fault=401")
    qtbot.mouseClick(panel.transcribe_button, Qt.MouseButton.LeftButton)
    await until(lambda: len(messages) == 3)
    assert "key" in messages[-1].lower()
    assert panel.history.count() == 0 and panel.transcribe_button.isEnabled()
    await panel.shutdown()


async def test_cancel_stops_the_upload(
    qtbot, ctx: AppContext, no_devices: None, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    panel.set_file(_tone_file(tmp_path / "slow.wav"))
    panel.model.setCurrentText("whisper-1?delay=5")
    qtbot.mouseClick(panel.transcribe_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.status.text().startswith("Uploading"))
    assert panel.progress.isVisible() and panel.progress.maximum() == 0  # indeterminate
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    await until(lambda: not panel.tasks.running("transcribe"))
    assert panel.status.text() == "Transcription cancelled." and not panel.progress.isVisible()
    assert panel.history.count() == 0 and panel.transcribe_button.isEnabled()
    await panel.shutdown()


# --- a stand-in sound device: recording flows run on any machine ----------------------------


@pytest.fixture
def fake_mic(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from app.audio import _backend
    from tests.audio.fake_sounddevice import FakeSoundDevice, sine_source

    def install(**options: object) -> FakeSoundDevice:
        fake = FakeSoundDevice(
            samplerate=16_000.0,
            source=sine_source(440.0, 16_000),
            block=160,
            **options,  # type: ignore[arg-type]
        )
        monkeypatch.setattr(_backend, "sounddevice", lambda: fake)
        return fake

    return install


async def test_recording_to_the_maximum_length_is_sent_by_itself(
    qtbot, ctx: AppContext, fake_mic
) -> None:  # type: ignore[no-untyped-def]
    fake_mic(pace=0.01)
    panel = await _panel(qtbot, ctx)
    assert panel.input.itemText(1) == "Fake mic 0" and not panel.device_warning.isVisible()
    panel.max_seconds = lambda: 1.0  # type: ignore[method-assign]  # minutes in the UI
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.history.count() == 1 and not panel.transcribing, 30)
    assert "1.00 seconds at 16000 Hz, dominant frequency 440 Hz" in panel.transcript.toPlainText()
    assert panel.meter.readings >= 29 and panel.meter.loudest_dbfs > -7
    assert panel.elapsed.text() == "0:01"
    assert panel.record_button.text() == "● Record" and panel.record_button.isEnabled()
    assert list((ctx.paths.cache / "recordings").iterdir()) == []  # kept in the store instead
    await panel.shutdown()


async def test_a_recording_with_no_sound_says_so(qtbot, ctx: AppContext, fake_mic) -> None:  # type: ignore[no-untyped-def]
    fake_mic(silent=True)
    panel = await _panel(qtbot, ctx)
    messages: list[str] = []
    panel.status_changed.connect(messages.append)
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.recording_state == "recording")
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.recording_state == "idle" and bool(messages), 10)
    assert "Nothing was recorded" in messages[-1]
    assert panel.history.count() == 0 and panel.source is None
    await panel.shutdown()


async def test_closing_the_panel_while_recording_deletes_the_file(
    qtbot, ctx: AppContext, fake_mic
) -> None:  # type: ignore[no-untyped-def]
    fake_mic(pace=0.01)
    panel = await _panel(qtbot, ctx)
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.recording_state == "recording")
    await until(lambda: panel.meter.readings > 3)
    await panel.shutdown()
    assert list((ctx.paths.cache / "recordings").iterdir()) == []
    assert ctx.store.list_transcriptions() == []


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


async def _play_into_sink(clip: Clip) -> None:
    assert await asyncio.wait_for(Player().play(clip), 30) == "finished"
    await asyncio.sleep(0.8)  # the sink's buffer plays out before the recording stops


@pytest.mark.audio
@pytest.mark.slow
async def test_a_recorded_tone_is_transcribed_with_its_pitch(
    qtbot, ctx: AppContext, sink_awake: None
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    assert panel.record_button.isEnabled() and panel.input.isEnabled()
    panel.response_format.setCurrentText("verbose_json")
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.recording_state == "recording")
    assert panel.record_button.text() == "■ Stop" and not panel.input.isEnabled()
    recording_file = panel.recorder.recorder._capture.sink.path  # type: ignore[union-attr]
    await _play_into_sink(Clip.from_array(tone(550.0, 1.5, samplerate=44_100, pad=0.2), 44_100))
    assert panel.meter.readings > 30 and panel.meter.loudest_dbfs > -20
    assert panel.elapsed.text() != "0:00"
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.history.count() == 1 and not panel.transcribing, 30)
    text = panel.transcript.toPlainText()
    assert "at 16000 Hz, dominant frequency 550 Hz" in text, text
    item = ctx.store.list_transcriptions()[0]
    assert item.duration_s is not None and item.duration_s > 1.5
    assert item.source is not None and ctx.store.blob_path(item.source).exists()
    assert not recording_file.exists()  # the cache copy is gone once it is in the store
    await panel.shutdown()


@pytest.mark.audio
@pytest.mark.slow
async def test_recorded_speech_reaches_the_server_whole(
    qtbot, ctx: AppContext, sink_awake: None, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    speech = decode(make_speech(tmp_path / "say.wav", "Palaver transcribes what you say."))
    panel = await _panel(qtbot, ctx)
    panel.response_format.setCurrentText("json")
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.recording_state == "recording")
    padding = np.zeros((round(0.3 * speech.samplerate), 1), dtype=np.float32)
    # Silence around it: a new playback stream's first ~0.1-0.3 s may be lost in the sink.
    await _play_into_sink(
        Clip(np.concatenate([padding, speech.samples, padding]), speech.samplerate)
    )
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.history.count() == 1 and not panel.transcribing, 30)
    item = ctx.store.list_transcriptions()[0]
    assert item.source is not None
    sent, rate = sf.read(str(ctx.store.blob_path(item.source)), dtype="float32")
    # The server heard the whole recording, and the recording holds the whole sentence.
    assert item.duration_s == pytest.approx(len(sent) / rate, abs=0.01)
    assert f"{len(sent) / rate:.2f} seconds at 16000 Hz" in panel.transcript.toPlainText()
    heard, said = loud_part(sent, rate), loud_part(speech.samples, speech.samplerate)
    assert len(heard) / rate == pytest.approx(len(said) / speech.samplerate, abs=0.3)
    assert float(band_profile(heard, rate) @ band_profile(said, speech.samplerate)) > 0.85
    await panel.shutdown()


@pytest.mark.audio
@pytest.mark.slow
async def test_max_length_ends_the_recording_and_sends_it(
    qtbot, ctx: AppContext, sink_awake: None
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    panel.max_seconds = lambda: 0.5  # type: ignore[method-assign]  # minutes in the UI
    qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.recording_state == "recording")
    path = panel.recorder.recorder._capture.sink.path  # type: ignore[union-attr]
    await until(lambda: panel.history.count() == 1 and not panel.transcribing, 30)
    assert panel.status.text() == "Done."
    assert "0.50 seconds" in panel.transcript.toPlainText()
    assert not path.exists()
    await panel.shutdown()


@pytest.mark.audio
@pytest.mark.slow
async def test_the_mic_button_dictates_into_a_text_box(
    qtbot, ctx: AppContext, sink_awake: None
) -> None:  # type: ignore[no-untyped-def]
    button = MicButton(ctx)
    qtbot.addWidget(button)
    texts: list[str] = []
    button.transcribed.connect(texts.append)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    await until(lambda: button.state == "recording")
    await _play_into_sink(Clip.from_array(tone(440.0, 1.0, samplerate=44_100, pad=0.2), 44_100))
    assert button.text().startswith("Stop ")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    await until(lambda: bool(texts) and button.state == "idle", 30)
    assert "dominant frequency 440 Hz" in texts[0]
    assert ctx.store.list_transcriptions()[0].options["file_name"] == "Voice input"
    await button.shutdown()
