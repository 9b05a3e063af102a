"""Player logic against a fake device: what reaches the device, pause, seek, stop, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest

from app.audio import (
    Clip,
    NoDeviceError,
    PlaybackEnd,
    Player,
    PlayerState,
    _player,
)
from tests.audio.events import PositionEvent
from tests.audio.fake_sounddevice import FakeSoundDevice

FakeFactory = Callable[..., FakeSoundDevice]
RATE = 48_000


def ramp(seconds: float) -> Clip:
    """Sample i holds (i + 1) / frames: what the device got tells which frames were played."""
    frames = round(seconds * RATE)
    return Clip.from_array(np.arange(1, frames + 1, dtype=np.float64) / frames, RATE)


def played_frames(fake: FakeSoundDevice, clip: Clip) -> np.ndarray:
    out = fake.streams[-1].output()[:, 0]
    return np.round(out[out > 0] * clip.frames).astype(int) - 1


async def test_plays_the_whole_clip_and_reports_position(fake_sd: FakeFactory) -> None:
    fake = fake_sd(block=480)
    positions: list[float] = []
    states: list[PlayerState] = []
    ends: list[PlaybackEnd] = []
    player = Player(on_position=positions.append, on_state=states.append, on_finished=ends.append)
    clip = ramp(0.5)
    assert await asyncio.wait_for(player.play(clip), 10) == PlaybackEnd.FINISHED
    assert played_frames(fake, clip).tolist() == list(range(clip.frames))
    assert positions == sorted(positions) and positions[-1] == pytest.approx(0.5)
    # ~30 position reports per second of audio, plus the start.
    assert 14 <= len(positions) <= 18
    assert states == [PlayerState.PLAYING, PlayerState.STOPPED]
    assert ends == [PlaybackEnd.FINISHED]
    assert fake.streams[-1].closed
    assert player.duration == pytest.approx(0.5)


async def test_position_follows_what_is_heard_not_what_is_buffered(fake_sd: FakeFactory) -> None:
    # The device reports 0.1 s between handing a block over and hearing it.
    fake_sd(block=480, output_delay=0.1)
    positions: list[float] = []
    clip = ramp(0.5)
    await asyncio.wait_for(Player(on_position=positions.append).play(clip), 10)
    assert positions[-1] == pytest.approx(0.5)  # set when the device has played it all
    before_end = positions[1:-1]
    assert before_end and max(before_end) <= 0.4 + 480 / RATE
    assert min(before_end) >= 0.0


async def test_start_offset(fake_sd: FakeFactory) -> None:
    fake = fake_sd(block=480)
    clip = ramp(0.5)
    await asyncio.wait_for(Player().play(clip, start=0.25), 10)
    assert played_frames(fake, clip)[0] == RATE // 4


async def test_pause_seek_resume(fake_sd: FakeFactory) -> None:
    fake = fake_sd(block=480, pace=0.004)
    clip = ramp(1.0)
    player = Player()
    paused = asyncio.Event()

    def on_position(seconds: float) -> None:
        if 0.1 <= seconds < 0.5 and not paused.is_set():
            player.pause()
            player.seek(0.8)
            paused.set()

    player.on_position = on_position
    task = asyncio.create_task(player.play(clip))
    await asyncio.wait_for(paused.wait(), 10)
    assert player.state == PlayerState.PAUSED
    assert player.position == pytest.approx(0.8)
    player.resume()
    assert player.state == PlayerState.PLAYING
    assert await asyncio.wait_for(task, 10) == PlaybackEnd.FINISHED
    played = set(played_frames(fake, clip).tolist())
    assert 0 in played and clip.frames - 1 in played
    assert round(0.6 * RATE) not in played  # skipped by the seek
    assert played >= set(range(round(0.8 * RATE), clip.frames))


async def test_stop_ends_play_with_stopped(fake_sd: FakeFactory) -> None:
    fake_sd(block=480, pace=0.004)
    player = Player()
    task = asyncio.create_task(player.play(ramp(5.0)))
    player.on_position = started = PositionEvent()
    await asyncio.wait_for(started.wait(), 10)
    player.stop()
    assert await asyncio.wait_for(task, 10) == PlaybackEnd.STOPPED
    assert player.state == PlayerState.STOPPED


async def test_cancelling_play_stops_and_closes_the_stream(fake_sd: FakeFactory) -> None:
    fake = fake_sd(block=480, pace=0.004)
    player = Player()
    task = asyncio.create_task(player.play(ramp(5.0)))
    player.on_position = started = PositionEvent()
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert fake.streams[-1].closed
    assert player.state == PlayerState.STOPPED


async def test_a_new_play_replaces_the_old_one(fake_sd: FakeFactory) -> None:
    fake_sd(block=480, pace=0.004)
    player = Player()
    first = asyncio.create_task(player.play(ramp(5.0)))
    player.on_position = started = PositionEvent()
    await asyncio.wait_for(started.wait(), 10)
    second = await asyncio.wait_for(player.play(ramp(0.1)), 10)
    assert second == PlaybackEnd.FINISHED
    assert await first == PlaybackEnd.STOPPED


async def test_a_stuck_device_is_aborted_on_stop(
    fake_sd: FakeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_sd(silent=True)
    monkeypatch.setattr(_player, "STOP_GRACE_SECONDS", 0.05)
    player = Player()
    task = asyncio.create_task(player.play(ramp(1.0)))
    await asyncio.sleep(0)
    player.stop()  # a stop requested while opening still aborts the stream once open
    assert await asyncio.wait_for(task, 10) == PlaybackEnd.STOPPED
    assert fake.streams[-1].closed


async def test_stereo_clip_on_a_mono_device_is_mixed_down(fake_sd: FakeFactory) -> None:
    fake = fake_sd(block=480)
    fake._devices[1]["max_output_channels"] = 1
    stereo = Clip.from_array(np.full((4800, 2), 0.25, dtype=np.float32), RATE)
    await asyncio.wait_for(Player().play(stereo), 10)
    assert fake.streams[-1].channels == 1
    assert np.allclose(fake.streams[-1].output()[:4800, 0], 0.25)


async def test_no_output_device_is_a_typed_error(fake_sd: FakeFactory) -> None:
    fake_sd(outputs=0)
    player = Player()
    with pytest.raises(NoDeviceError, match="No output device found"):
        await player.play(ramp(0.1))
    assert player.state == PlayerState.STOPPED


async def test_a_named_device_that_is_gone_is_a_typed_error(fake_sd: FakeFactory) -> None:
    fake_sd()
    with pytest.raises(NoDeviceError, match=r"USB headset.*not connected"):
        await Player(device="USB headset").play(ramp(0.1))


async def test_pause_resume_seek_without_playback_do_nothing() -> None:
    player = Player()
    player.pause()
    player.resume()
    player.seek(3.0)
    player.stop()
    await player.close()
    assert player.state == PlayerState.STOPPED and player.position == 0.0


async def test_a_device_lost_mid_playback_is_interrupted(fake_sd: FakeFactory) -> None:
    fake_sd(block=480, lost_after=10)
    ends: list[PlaybackEnd] = []
    player = Player(on_finished=ends.append)
    assert await asyncio.wait_for(player.play(ramp(1.0)), 10) == PlaybackEnd.INTERRUPTED
    assert ends == [PlaybackEnd.INTERRUPTED]
    assert player.state == PlayerState.STOPPED


async def test_a_rate_the_device_refuses_is_resampled(fake_sd: FakeFactory) -> None:
    fake = fake_sd(block=480, rates=(48_000,))
    clip = Clip.from_array(np.full(2_205, 0.5, dtype=np.float32), 22_050)  # 0.1 s
    assert await asyncio.wait_for(Player().play(clip), 10) == PlaybackEnd.FINISHED
    stream = fake.streams[-1]
    assert stream.samplerate == 48_000
    assert np.allclose(stream.output()[:4800, 0], 0.5)
