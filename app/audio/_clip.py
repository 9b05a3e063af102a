"""A decoded piece of audio held in memory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False, slots=True)
class Clip:
    """Float32 samples in ``[-1, 1]``, shaped ``(frames, channels)``, at ``samplerate`` Hz."""

    samples: Samples
    samplerate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 2:
            raise ValueError("Clip samples must be shaped (frames, channels)")
        if self.samplerate <= 0:
            raise ValueError("Clip samplerate must be positive")

    @classmethod
    def from_array(cls, samples: npt.ArrayLike, samplerate: int) -> Clip:
        """A clip from any 1-D (mono) or 2-D ``(frames, channels)`` float array."""
        array = np.asarray(samples, dtype=np.float32)
        if array.ndim == 1:
            array = array[:, np.newaxis]
        return cls(np.ascontiguousarray(array), int(samplerate))

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.samplerate

    def resampled(self, samplerate: int) -> Clip:
        """This clip at another rate (linear interpolation: a fallback for picky devices)."""
        if samplerate == self.samplerate or self.frames == 0:
            return Clip(self.samples, samplerate) if self.frames == 0 else self
        frames = max(1, round(self.frames * samplerate / self.samplerate))
        old = np.arange(self.frames, dtype=np.float64) / self.samplerate
        new = np.arange(frames, dtype=np.float64) / samplerate
        channels = [np.interp(new, old, self.samples[:, c]) for c in range(self.channels)]
        return Clip(np.ascontiguousarray(np.stack(channels, axis=1), dtype=np.float32), samplerate)

    def mixed_to(self, channels: int) -> Clip:
        """This clip with ``channels`` channels: mono is spread, anything else averaged down."""
        if channels == self.channels:
            return self
        mono = self.samples.mean(axis=1, keepdims=True, dtype=np.float32)
        return Clip(np.ascontiguousarray(np.repeat(mono, channels, axis=1)), self.samplerate)
