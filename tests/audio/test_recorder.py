"""Recorder logic against a fake device: streaming to disk, limits, levels, cancel, errors."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.audio import (
    AudioUnavailable,
    EmptyRecording,
    EncodeError,
    Level,
    NoDeviceError,
    Recorder,
    _backend,
    _recorder,
)
from tests.audio.events import ElapsedEvent
from tests.audio.fake_sounddevice import FakeSoundDevice
from tests.helpers.audio_env import dominant_frequency

FakeFactory = Callable[..., FakeSoundDevice]


@pytest.mark.slow
async def test_ten_minute_recording_streams_to_disk_in_flat_memory(
    fake_sd: FakeFactory, tmp_path: Path
) -> None:
    # 10 minutes at 48 kHz is 115 MB of float32 samples; the recorder must hold only what
    # is queued for the writer. The fake device delivers blocks faster than any disk takes
    # them, so this also shows that a lagging writer drops blocks instead of growing.
    fake_sd(block=4800, pace=0.0)
    recorder = Recorder(format="wav", max_seconds=600)
    path = tmp_path / "long.wav"
    tracemalloc.start()
    try:
        await recorder.start(path)
        recording = await asyncio.wait_for(recorder.wait(), 60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    stats = recorder.stats
    assert stats is not None
    assert recording.ended == "max-length"
    assert stats.frames_written + stats.dropped_frames == 600 * 48_000
    assert recording.frames == stats.frames_written == sf.info(str(path)).frames
    assert stats.queue_peak <= stats.queue_capacity
    assert stats.frames_written > 60 * 48_000
    assert recording.dropped_frames == stats.dropped_frames
    assert peak < 12 * 1024 * 1024, f"peak Python memory {peak / 2**20:.1f} MiB"


async def test_max_length_stops_by_itself_at_exactly_that_length(
    fake_sd: FakeFactory, tmp_path: Path
) -> None:
    fake_sd(block=1000, pace=0.001)
    finished: list[object] = []
    recorder = Recorder(format="flac", max_seconds=0.25, on_finished=finished.append)
    await recorder.start(tmp_path / "short.flac")
    recording = await asyncio.wait_for(recorder.wait(), 10)
    assert recording.ended == "max-length"
    assert recording.frames == 12_000
    assert recording.duration == pytest.approx(0.25)
    assert finished == [recording]
    assert not recorder.recording
    # Pressing stop after it ended by itself gives the same recording back.
    assert await recorder.stop() == recording


async def test_stop_returns_a_readable_file(fake_sd: FakeFactory, tmp_path: Path) -> None:
    fake_sd(block=480, pace=0.002)
    recorder = Recorder(format="flac", on_level=(reached := ElapsedEvent(0.3)))
    await recorder.start(tmp_path / "take.flac")
    await asyncio.wait_for(reached.wait(), 10)
    recording = await asyncio.wait_for(recorder.stop(), 10)
    assert recording.ended == "stopped"
    assert recording.path == tmp_path / "take.flac"
    assert recording.samplerate == 48_000 and recording.channels == 1
    data, rate = sf.read(str(recording.path), dtype="float32")
    assert len(data) == recording.frames and rate == 48_000
    assert recording.duration == pytest.approx(recording.frames / 48_000)
    assert dominant_frequency(data, rate) == pytest.approx(440, abs=2)
    assert recorder.elapsed == pytest.approx(recording.duration)


async def test_levels_arrive_thirty_times_per_second_of_audio(
    fake_sd: FakeFactory, tmp_path: Path
) -> None:
    fake_sd(block=480, pace=0.002)
    levels: list[Level] = []
    recorder = Recorder(format="wav", max_seconds=2.0, on_level=levels.append)
    await recorder.start(tmp_path / "levels.wav")
    await asyncio.wait_for(recorder.wait(), 20)
    assert len(levels) in (59, 60, 61)
    # A 0.5-amplitude sine: peak -6.02 dBFS, RMS 3.01 dB lower.
    assert levels[-1].peak_dbfs == pytest.approx(-6.02, abs=0.1)
    assert levels[-1].rms_dbfs == pytest.approx(-9.03, abs=0.2)
    elapsed = [level.elapsed for level in levels]
    assert elapsed == sorted(elapsed) and elapsed[-1] == pytest.approx(2.0, abs=0.04)


async def test_cancel_deletes_the_file(fake_sd: FakeFactory, tmp_path: Path) -> None:
    fake_sd(block=480, pace=0.002)
    recorder = Recorder(format="wav", on_level=(reached := ElapsedEvent(0.1)))
    path = tmp_path / "cancelled.wav"
    await recorder.start(path)
    await asyncio.wait_for(reached.wait(), 10)
    assert path.exists()
    await recorder.cancel()
    assert not path.exists()
    assert not recorder.recording
    with pytest.raises(EmptyRecording):
        await recorder.stop()


async def test_a_recording_with_no_audio_is_a_clear_error(
    fake_sd: FakeFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A device that opens but never delivers a block: stop aborts it after the grace time.
    fake_sd(silent=True)
    monkeypatch.setattr(_recorder, "STOP_GRACE_SECONDS", 0.05)
    recorder = Recorder(format="flac")
    path = tmp_path / "empty.flac"
    await recorder.start(path)
    with pytest.raises(EmptyRecording, match="Nothing was recorded"):
        await asyncio.wait_for(recorder.stop(), 10)
    assert not path.exists()


async def test_starting_twice_is_refused(fake_sd: FakeFactory, tmp_path: Path) -> None:
    fake_sd(block=480, pace=0.002)
    recorder = Recorder()
    await recorder.start(tmp_path / "a.flac")
    with pytest.raises(RuntimeError):
        await recorder.start(tmp_path / "b.flac")
    await recorder.cancel()


async def test_no_input_device_is_a_typed_error_and_leaves_nothing(
    fake_sd: FakeFactory, tmp_path: Path
) -> None:
    fake_sd(inputs=0)
    path = tmp_path / "none.flac"
    with pytest.raises(NoDeviceError, match="No input device found") as caught:
        await Recorder().start(path)
    assert caught.value.no_device.kind == "input"
    assert not path.exists()


async def test_missing_portaudio_is_a_typed_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def unavailable() -> None:
        raise AudioUnavailable("Audio is unavailable: the PortAudio library could not be loaded.")

    monkeypatch.setattr(_backend, "sounddevice", unavailable)
    with pytest.raises(AudioUnavailable, match="PortAudio"):
        await Recorder().start(tmp_path / "x.flac")
    assert not (tmp_path / "x.flac").exists()


async def test_cancelling_the_awaiting_task_keeps_the_recording(
    fake_sd: FakeFactory, tmp_path: Path
) -> None:
    # The panel's task may be cancelled while stop() finishes the file: the file survives.
    fake_sd(block=480, pace=0.002)
    recorder = Recorder(format="wav", on_level=(reached := ElapsedEvent(0.1)))
    await recorder.start(tmp_path / "kept.wav")
    await asyncio.wait_for(reached.wait(), 10)
    task = asyncio.create_task(recorder.stop())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    recording = await asyncio.wait_for(recorder.wait(), 10)
    assert recording.path.exists() and recording.frames > 0
    assert np.isfinite(recording.duration)


async def test_a_device_lost_mid_recording_keeps_what_was_recorded(
    fake_sd: FakeFactory, tmp_path: Path
) -> None:
    fake_sd(block=480, lost_after=50)
    finished: list[object] = []
    recorder = Recorder(format="wav", on_finished=finished.append)
    await recorder.start(tmp_path / "unplugged.wav")
    recording = await asyncio.wait_for(recorder.wait(), 10)
    assert recording.ended == "interrupted"
    assert recording.frames == 50 * 480 == sf.info(str(recording.path)).frames
    assert finished == [recording]


async def test_stop_after_the_limit_still_says_max_length(
    fake_sd: FakeFactory, tmp_path: Path
) -> None:
    fake = fake_sd(block=480)
    recorder = Recorder(format="wav", max_seconds=0.1)
    await recorder.start(tmp_path / "limit.wav")
    # Let the device reach the limit before the loop hears of it, then press stop.
    thread = fake.streams[-1]._thread
    assert thread is not None
    thread.join(10)
    recording = await asyncio.wait_for(recorder.stop(), 10)
    assert recording.ended == "max-length"
    assert recording.frames == 4800


@pytest.mark.parametrize(("rates", "expected"), [(None, 16_000), ((48_000,), 48_000)])
async def test_a_requested_rate_falls_back_to_the_device_rate(
    fake_sd: FakeFactory, tmp_path: Path, rates: tuple[int, ...] | None, expected: int
) -> None:
    fake_sd(block=480, rates=rates)
    recorder = Recorder(format="flac", samplerate=16_000, max_seconds=0.1)
    await recorder.start(tmp_path / "voice.flac")
    recording = await asyncio.wait_for(recorder.wait(), 10)
    assert recording.samplerate == expected == sf.info(str(recording.path)).samplerate
    assert recording.duration == pytest.approx(0.1)


async def test_an_unwritable_place_is_a_typed_error(fake_sd: FakeFactory, tmp_path: Path) -> None:
    fake = fake_sd()
    with pytest.raises(EncodeError, match="Could not create the recording"):
        await Recorder().start(tmp_path / "no-such-folder" / "take.flac")
    assert fake.streams == []  # the device was never opened
