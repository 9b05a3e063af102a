"""Real audio through the virtual sound device: play into the null sink, record its monitor.

Assertions are on pitch, level and shape, never on samples: the sink resamples, and under
load PulseAudio may drop a few milliseconds (hence silence padding and latency='high').
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.audio import (
    Clip,
    Level,
    PlaybackEnd,
    Player,
    PlayerState,
    Recorder,
    Recording,
    decode,
    decode_pcm,
    encode,
)
from tests.audio.events import ElapsedEvent, PositionEvent
from tests.helpers.audio_env import (
    band_profile,
    dominant_frequency,
    loud_part,
    rms_dbfs,
    tone,
    virtual_device_problem,
)

pytestmark = pytest.mark.audio


@pytest.fixture(scope="module", autouse=True)
def _sink_kept_awake() -> Iterator[None]:
    """Keep the null sink rendering while this module runs.

    An idle null sink takes ~1.5-2 s (its 2 s latency) before a new stream's audio starts
    to flow; a monitor stream held open keeps it running, so each test does not pay that.
    """
    problem = virtual_device_problem()
    if problem is not None:
        pytest.skip(f"needs the virtual sound device: {problem}")
    import sounddevice as sd

    with sd.InputStream(channels=1, latency=0.2, callback=lambda *args: None):
        yield


class TailWatcher:
    """An ``on_level`` callback whose ``done`` is set once, after :meth:`arm`, sound was heard
    and ``quiet`` seconds of silence followed it: the sink's buffers have played out."""

    def __init__(self, quiet: float = 0.5, threshold_dbfs: float = -50.0) -> None:
        self.done = asyncio.Event()
        self.quiet = quiet
        self.threshold = threshold_dbfs
        self.last_loud: float | None = None
        self.armed = False  # pauses inside speech must not count as its end

    def arm(self) -> None:
        self.armed = True

    def __call__(self, level: Level) -> None:
        if level.rms_dbfs > self.threshold:
            self.last_loud = level.elapsed
        elif (
            self.armed
            and self.last_loud is not None
            and level.elapsed - self.last_loud >= self.quiet
        ):
            self.done.set()


async def play_and_record(
    clip: Clip, path: Path, format: str = "wav"
) -> tuple[Recording, Recorder]:
    tail = TailWatcher()
    recorder = Recorder(format=format, on_level=tail)  # type: ignore[arg-type]
    await recorder.start(path)
    try:
        end = await asyncio.wait_for(Player().play(clip), 30)
        tail.arm()
        # Playback "finishes" when PortAudio has taken the last block; PulseAudio may still
        # be rendering it, so keep recording until the sound has died away.
        await asyncio.wait_for(tail.done.wait(), 10)
    finally:
        recording = await asyncio.wait_for(recorder.stop(), 10)
    assert end == PlaybackEnd.FINISHED
    return recording, recorder


@pytest.mark.slow
async def test_a_tone_comes_back_at_its_pitch_and_level(tmp_path: Path) -> None:
    source = tone(440.0, 1.0, samplerate=44_100, amplitude=0.5, pad=0.3)
    recording, recorder = await play_and_record(Clip.from_array(source, 44_100), tmp_path / "t.wav")
    data, rate = sf.read(str(recording.path), dtype="float32")
    heard = loud_part(data, rate)
    assert len(heard) > 0.5 * rate, "the tone did not reach the recording"
    assert dominant_frequency(heard, rate) == pytest.approx(440.0, abs=3.0)
    assert rms_dbfs(heard) == pytest.approx(rms_dbfs(loud_part(source, 44_100)), abs=3.0)
    stats = recorder.stats
    assert stats is not None and stats.dropped_frames == 0
    assert stats.queue_peak < stats.queue_capacity


@pytest.mark.slow
async def test_speech_comes_back_with_the_same_spectrum(tmp_path: Path, speech_wav: Path) -> None:
    speech = decode(speech_wav)
    padding = np.zeros((round(0.3 * speech.samplerate), 1), dtype=np.float32)
    clip = Clip(np.concatenate([padding, speech.samples, padding]), speech.samplerate)
    recording, _ = await play_and_record(clip, tmp_path / "speech.flac", "flac")
    data, rate = sf.read(str(recording.path), dtype="float32")
    heard, said = loud_part(data, rate), loud_part(speech.samples, speech.samplerate)
    similarity = float(band_profile(heard, rate) @ band_profile(said, speech.samplerate))
    assert similarity > 0.9
    assert len(heard) / rate == pytest.approx(len(said) / speech.samplerate, abs=0.3)
    assert rms_dbfs(heard) == pytest.approx(rms_dbfs(said), abs=3.0)


async def test_the_recording_is_on_disk_while_it_runs(tmp_path: Path) -> None:
    reached = ElapsedEvent(0.6)
    recorder = Recorder(format="wav", on_level=reached)
    path = tmp_path / "live.wav"
    await recorder.start(path)
    try:
        await asyncio.wait_for(reached.wait(), 10)
        assert recorder.recording
        # At least half a second of 16-bit audio is already in the file.
        assert path.stat().st_size > 44 + 0.5 * recorder.elapsed * 2 * 44_100 * 0.5
    finally:
        recording = await asyncio.wait_for(recorder.stop(), 10)
    assert recording.duration >= 0.6
    # Level readings arrive ~30 times per second of audio, with rising elapsed times.
    assert len(reached.levels) == pytest.approx(30 * reached.levels[-1].elapsed, abs=2)


async def test_max_length_stops_the_recording(tmp_path: Path) -> None:
    recorder = Recorder(format="flac", samplerate=16_000, max_seconds=0.3)
    await recorder.start(tmp_path / "limit.flac")
    recording = await asyncio.wait_for(recorder.wait(), 10)
    assert recording.ended == "max-length"
    assert recording.samplerate == 16_000  # PulseAudio resamples to any rate
    assert recording.frames == round(0.3 * recording.samplerate)
    assert sf.info(str(recording.path)).frames == recording.frames


async def test_cancel_deletes_the_recording(tmp_path: Path) -> None:
    reached = ElapsedEvent(0.1)
    recorder = Recorder(format="flac", on_level=reached)
    path = tmp_path / "gone.flac"
    await recorder.start(path)
    await asyncio.wait_for(reached.wait(), 10)
    await recorder.cancel()
    assert not path.exists()


async def test_pause_holds_the_position_and_stop_ends_playback() -> None:
    player = Player()
    player.on_position = started = PositionEvent(0.2)
    task = asyncio.create_task(player.play(Clip.from_array(tone(330.0, 5.0), 44_100)))
    await asyncio.wait_for(started.wait(), 10)
    player.pause()
    assert player.state == PlayerState.PAUSED
    await asyncio.sleep(0.1)  # let reports already on their way land
    held = player.position
    await asyncio.sleep(0.3)
    assert player.position == held
    player.resume()
    player.seek(4.0)
    assert player.position == pytest.approx(4.0)
    player.stop()
    assert await asyncio.wait_for(task, 10) == PlaybackEnd.STOPPED
    assert player.state == PlayerState.STOPPED


@pytest.mark.parametrize("format", ["wav", "flac", "ogg", "opus", "mp3", "pcm"])
async def test_every_speech_format_plays_to_the_end(format: str) -> None:
    clip = Clip.from_array(tone(440.0, 0.3, samplerate=24_000), 24_000)
    if format == "pcm":
        decoded = decode_pcm((clip.samples[:, 0] * 32767).astype("<i2").tobytes())
    else:
        decoded = decode(encode(clip, format))
    positions: list[float] = []
    player = Player(on_position=positions.append)
    assert await asyncio.wait_for(player.play(decoded), 10) == PlaybackEnd.FINISHED
    assert positions[-1] == pytest.approx(decoded.duration)
