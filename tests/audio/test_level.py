"""Level readings in dBFS."""

from __future__ import annotations

import numpy as np
import pytest

from app.audio import dbfs
from app.audio._level import SILENCE_DBFS, LevelMeter
from tests.helpers.audio_env import tone


def test_dbfs() -> None:
    assert dbfs(1.0) == 0.0
    assert dbfs(0.5) == pytest.approx(-6.0206)
    assert dbfs(0.0) == SILENCE_DBFS
    assert dbfs(1e-9) == SILENCE_DBFS


@pytest.mark.parametrize("block", [100, 480, 1024, 1600])
def test_thirty_readings_per_second_whatever_the_block_size(block: int) -> None:
    samples = tone(1000.0, 2.0, samplerate=48_000, amplitude=1.0)[:, np.newaxis]
    meter = LevelMeter(48_000)
    readings = [
        level
        for start in range(0, len(samples), block)
        if (level := meter.add(samples[start : start + block])) is not None
    ]
    assert len(readings) == 60
    assert readings[-1].elapsed == pytest.approx(2.0, abs=block / 48_000)
    assert readings[10].peak_dbfs == pytest.approx(0.0, abs=0.01)
    assert readings[10].rms_dbfs == pytest.approx(-3.01, abs=0.05)


def test_silence_reads_as_the_floor() -> None:
    meter = LevelMeter(48_000)
    level = meter.add(np.zeros((1600, 1), dtype=np.float32))
    assert level is not None
    assert level.rms_dbfs == level.peak_dbfs == SILENCE_DBFS


def test_blocks_longer_than_a_frame_give_one_reading_each() -> None:
    meter = LevelMeter(48_000)
    block = np.full((4800, 1), 0.25, dtype=np.float32)
    readings = [meter.add(block) for _ in range(5)]
    assert all(level is not None for level in readings)
    assert readings[-1] is not None and readings[-1].elapsed == pytest.approx(0.5)
