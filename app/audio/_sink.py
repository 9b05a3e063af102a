"""A sound file written on its own thread from blocks the audio thread hands over.

The PortAudio callback must never block, and a long recording must not pile up in memory:
blocks go through a bounded queue (:meth:`FileSink.offer` never waits; a full queue drops
the block and counts it) to a writer thread that appends them to the file as they come.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path

from app.audio._clip import Samples
from app.audio._errors import EncodeError
from app.audio._level import Level, LevelMeter

RECORD_FORMATS: dict[str, tuple[str, str]] = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16")}


class FileSink:
    """Appends float32 blocks to a WAV or FLAC file on a writer thread."""

    def __init__(
        self,
        path: Path,
        samplerate: int,
        channels: int,
        format: str,
        *,
        capacity: int = 200,
        on_level: Callable[[Level], None] | None = None,
    ) -> None:
        """Open ``path`` for writing (raises :class:`EncodeError`); ``on_level`` runs on the
        writer thread about 30 times per second of audio."""
        import soundfile as sf

        container, subtype = RECORD_FORMATS[format]
        try:
            self._file = sf.SoundFile(
                str(path), "w", samplerate, channels, subtype=subtype, format=container
            )
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise EncodeError(f"Could not create the recording “{path.name}”: {exc}") from exc
        self.path = path
        self.samplerate = samplerate
        self.channels = channels
        self.capacity = capacity
        self._queue: queue.Queue[Samples | None] = queue.Queue(maxsize=capacity)
        self._meter = LevelMeter(samplerate)
        self._on_level = on_level
        self.frames_written = 0
        self.dropped_frames = 0
        self.queue_peak = 0
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="audio-file-writer", daemon=True)
        self._thread.start()

    def offer(self, block: Samples) -> bool:
        """Hand a block (which the sink now owns) to the writer; never blocks.

        Safe to call from the PortAudio thread. Returns ``False`` if the block was dropped
        because the writer is behind by ``capacity`` blocks.
        """
        try:
            self._queue.put_nowait(block)
        except queue.Full:
            self.dropped_frames += len(block)
            return False
        depth = self._queue.qsize()
        if depth > self.queue_peak:
            self.queue_peak = depth
        return True

    def close(self) -> int:
        """Write what is queued, close the file, and return the frames written. Blocks."""
        self._queue.put(None)
        self._thread.join()
        self._file.close()
        if self.error is not None:
            raise EncodeError(f"The recording could not be written: {self.error}")
        return self.frames_written

    def _run(self) -> None:
        while True:
            block = self._queue.get()
            if block is None:
                return
            if self.error is None:
                try:
                    self._file.write(block)
                except Exception as exc:  # disk full, file gone: keep draining, report at close
                    self.error = str(exc)
                else:
                    self.frames_written += len(block)
            level = self._meter.add(block)
            if level is not None and self._on_level is not None:
                self._on_level(level)
