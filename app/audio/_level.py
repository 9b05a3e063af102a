"""Loudness of a block of samples, in dBFS, for level meters."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.audio._clip import Samples

SILENCE_DBFS = -120.0
"""What digital silence reads as, instead of minus infinity."""


@dataclass(frozen=True, slots=True)
class Level:
    """One level-meter reading: loudness over the last ~1/30 s and time recorded so far."""

    rms_dbfs: float
    peak_dbfs: float
    elapsed: float


def dbfs(amplitude: float) -> float:
    """An amplitude (1.0 = full scale) in decibels relative to full scale."""
    if amplitude <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * math.log10(amplitude))


class LevelMeter:
    """Accumulates blocks and yields a :class:`Level` ``rate_hz`` times per second of audio.

    Blocks longer than ``1 / rate_hz`` seconds give one reading each (the recorder uses
    10 ms blocks, so it gets the full rate).
    """

    def __init__(self, samplerate: int, rate_hz: float = 30.0) -> None:
        self._samplerate = samplerate
        self._interval = samplerate / rate_hz
        self._next_at = self._interval
        self._frames = 0
        self._sum_squares = 0.0
        self._count = 0
        self._peak = 0.0

    def add(self, block: Samples) -> Level | None:
        """Feed one block; returns a reading when one is due, else ``None``."""
        if block.size:
            self._sum_squares += float(np.dot(block.ravel(), block.ravel()))
            self._count += block.size
            self._peak = max(self._peak, float(np.abs(block).max()))
        self._frames += block.shape[0]
        if self._frames < self._next_at:
            return None
        # Schedule by the total so readings average exactly rate_hz whatever the block size.
        while self._next_at <= self._frames:
            self._next_at += self._interval
        rms = math.sqrt(self._sum_squares / self._count) if self._count else 0.0
        level = Level(dbfs(rms), dbfs(self._peak), self._frames / self._samplerate)
        self._sum_squares, self._count, self._peak = 0.0, 0, 0.0
        return level
