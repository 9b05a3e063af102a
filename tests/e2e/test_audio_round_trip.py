"""Speech out, speech in, through the main window and PulseAudio's null sink.

The Speech tab synthesises a clip on the local server (which speaks each voice as a tone:
"shimmer" is 880 Hz) and plays it into the sink; the Transcribe tab records the sink's
monitor and sends the recording back to the server, which says what it heard.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.core.context import AppContext
from app.paths import AppPaths
from app.ui.main_window import MainWindow
from app.ui.panels.speech import SpeechPanel
from app.ui.panels.transcribe import TranscribePanel
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.audio_env import virtual_device_problem
from tests.helpers.openai_server import OpenAIServer
from tests.helpers.waiting import until

pytestmark = pytest.mark.audio


@pytest.fixture
def sink_awake() -> Iterator[None]:
    problem = virtual_device_problem()
    if problem is not None:
        pytest.skip(f"needs the virtual sound device: {problem}")
    import sounddevice as sd

    with sd.InputStream(channels=1, latency=0.2, callback=lambda *args: None):
        yield


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path / "profile"))
    context.registry.add(
        local_provider(openai_server, capabilities={"speech": True, "transcription": True})
    )
    yield context
    await context.close()


@pytest.mark.slow
async def test_what_the_speech_tab_says_the_transcribe_tab_hears(
    qtbot, ctx: AppContext, sink_awake: None
) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    transcribe = window.show_panel("transcribe")
    assert isinstance(transcribe, TranscribePanel)
    await until(lambda: transcribe.devices is not None and transcribe.record_button.isEnabled())
    speech = window.show_panel("speech")
    assert isinstance(speech, SpeechPanel)
    await until(lambda: speech.devices is not None)

    transcribe.response_format.setCurrentText("verbose_json")
    qtbot.mouseClick(transcribe.record_button, Qt.MouseButton.LeftButton)
    await until(lambda: transcribe.recording_state == "recording")
    speech.text.setPlainText("Twenty characters at least, to last about two seconds.")
    speech.voice.setCurrentText("shimmer")
    qtbot.mouseClick(speech.synth_button, Qt.MouseButton.LeftButton)
    await until(lambda: speech.last_end is not None, 30)
    assert speech.last_end == "finished"
    ended_at = transcribe.recorder.elapsed
    # Keep recording while the tail still buffered in the sink plays out.
    await until(lambda: transcribe.recorder.elapsed >= ended_at + 0.8, 15)
    qtbot.mouseClick(transcribe.record_button, Qt.MouseButton.LeftButton)
    await until(lambda: transcribe.history.count() == 1 and not transcribe.transcribing, 30)

    assert "dominant frequency 880 Hz" in transcribe.transcript.toPlainText()
    assert transcribe.segments.rowCount() == 1
    assert ctx.store.list_speech()[0].voice == "shimmer"
    endpoints = [row["endpoint"] for row in await ctx.store.usage_entries()]
    assert endpoints == ["transcriptions", "speech"]
    await window.shutdown()
