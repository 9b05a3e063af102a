"""Record from an input device straight into a WAV or FLAC file.

Threads: PortAudio's callback only copies each block into a :class:`FileSink` queue; the
sink's writer thread appends it to the file and measures the level; levels and the end of
the recording reach the asyncio loop through ``call_soon_threadsafe``. Memory stays flat
however long the recording runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app import log
from app.audio import _backend
from app.audio._devices import DeviceChoice, NoDevice, find_device
from app.audio._errors import (
    AudioError,
    DeviceError,
    EmptyRecording,
    EncodeError,
    NoDeviceError,
)
from app.audio._level import Level
from app.audio._sink import RECORD_FORMATS, FileSink
from app.audio._threads import open_in_thread, post

_log = log.get("audio.recorder")

RecordFormat = Literal["wav", "flac"]
RecordingEnd = Literal["stopped", "max-length", "interrupted"]

STOP_GRACE_SECONDS = 0.5
"""How long a stop waits for PortAudio to end the stream before aborting it."""

MIN_LATENCY_SECONDS = 0.2
"""Least input buffering: PortAudio's ``'high'`` (~35 ms on PulseAudio's ALSA plugin)
overflows and loses audio on a loaded machine; the level meter can lag a little."""


@dataclass(frozen=True, slots=True)
class Recording:
    """A finished recording on disk."""

    path: Path
    duration: float
    samplerate: int
    channels: int
    format: RecordFormat
    frames: int
    ended: RecordingEnd
    """``stopped`` by the caller, ``max-length`` reached, or ``interrupted`` by the device."""
    dropped_frames: int = 0
    """Audio lost because the disk could not keep up (normally 0)."""


@dataclass(frozen=True, slots=True)
class RecorderStats:
    """How the file writer kept up: its queue depth never exceeds ``queue_capacity``."""

    queue_peak: int
    queue_capacity: int
    dropped_frames: int
    frames_written: int


class _Capture:
    """State of one recording shared with PortAudio's thread (which only runs ``callback``
    and ``finished``)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sink: FileSink,
        max_frames: int | None,
        format: RecordFormat,
        done: asyncio.Future[Recording | None],
        on_finished: Callable[[_Capture], None],
    ) -> None:
        self.loop = loop
        self.sink = sink
        self.max_frames = max_frames
        self.format = format
        self.captured = 0
        self.stop_requested = False
        self.cancelled = False
        self.ended: RecordingEnd = "interrupted"
        self.stream: Any = None
        self.stop_signal: type[BaseException] = Exception
        self.done = done
        self.finalizing = False
        self._on_finished = on_finished

    def callback(self, indata: Any, frames: int, time: Any, status: Any) -> None:
        # PortAudio's thread: copy the block to the writer queue, nothing more.
        if self.stop_requested:
            self.ended = "stopped"
            raise self.stop_signal
        block = indata
        at_limit = self.max_frames is not None and self.captured + frames >= self.max_frames
        if at_limit and self.max_frames is not None:
            block = indata[: self.max_frames - self.captured]
        if len(block):
            self.sink.offer(block.copy())
            self.captured += len(block)
        if at_limit:
            self.ended = "max-length"
            raise self.stop_signal

    def finished(self) -> None:
        post(self.loop, self._on_finished, self)


class Recorder:
    """Records from one input device to a file; create one per panel and reuse it.

    ``on_level`` and ``on_finished`` run on the asyncio loop. A recording ends by
    :meth:`stop`, :meth:`cancel` (deletes the file), reaching ``max_seconds``, or the
    device going away; :meth:`wait` returns when it has ended by itself.

    ``samplerate=None`` records at the device's own rate. For transcription ask for
    16000: speech models work at 16 kHz, and a 10-minute FLAC then stays around 10 MB
    (at 48 kHz it can pass the 25 MB upload limit). A device that refuses the rate is
    recorded at its own rate instead; :class:`Recording` says which was used.
    """

    def __init__(
        self,
        *,
        device: DeviceChoice = None,
        format: RecordFormat = "flac",
        samplerate: int | None = None,
        channels: int = 1,
        max_seconds: float | None = None,
        on_level: Callable[[Level], None] | None = None,
        on_finished: Callable[[Recording | None], None] | None = None,
    ) -> None:
        if format not in RECORD_FORMATS:
            raise ValueError(f"format must be one of {sorted(RECORD_FORMATS)}")
        self.device = device
        self.format: RecordFormat = format
        self.samplerate = samplerate
        self.channels = channels
        self.max_seconds = max_seconds
        self.on_level = on_level
        self.on_finished = on_finished
        self._capture: _Capture | None = None
        self._last_capture: _Capture | None = None
        self._last: asyncio.Future[Recording | None] | None = None
        self._elapsed = 0.0

    @property
    def recording(self) -> bool:
        return self._capture is not None

    @property
    def elapsed(self) -> float:
        """Seconds recorded so far (updated with each level reading)."""
        return self._elapsed

    @property
    def stats(self) -> RecorderStats | None:
        """The file writer's figures for the current or last recording."""
        capture = self._capture or self._last_capture
        if capture is None:
            return None
        sink = capture.sink
        return RecorderStats(
            sink.queue_peak, sink.capacity, sink.dropped_frames, sink.frames_written
        )

    async def start(self, path: str | Path) -> None:
        """Open the device and start recording into ``path`` (overwritten if it exists).

        Raises :class:`AudioUnavailable`, :class:`NoDeviceError`, :class:`DeviceError` or
        :class:`EncodeError`; nothing is left open or on disk when it does.
        """
        if self._capture is not None:
            raise RuntimeError("already recording; stop() first")
        loop = asyncio.get_running_loop()
        self._elapsed = 0.0
        done: asyncio.Future[Recording | None] = loop.create_future()
        capture = await open_in_thread(lambda: self._open(loop, Path(path), done), _discard)
        self._capture = self._last_capture = capture
        self._last = capture.done
        # Mark the outcome as seen: a caller who never awaits stop() must not get warnings.
        capture.done.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def stop(self) -> Recording:
        """End the recording and return it once the file is complete.

        Raises :class:`EmptyRecording` (and deletes the file) if nothing was captured. After
        the recording ended by itself, returns that recording again.
        """
        capture = self._capture
        if capture is not None:
            capture.stop_requested = True
            await self._settle(capture)
        if self._last is None:
            raise RuntimeError("nothing has been recorded")
        result = await asyncio.shield(self._last)
        if result is None:
            raise EmptyRecording("The recording was cancelled.")
        return result

    async def wait(self) -> Recording:
        """Return when the current recording ends (max length, stop, device lost)."""
        if self._last is None:
            raise RuntimeError("nothing has been recorded")
        result = await asyncio.shield(self._last)
        if result is None:
            raise EmptyRecording("The recording was cancelled.")
        return result

    async def cancel(self) -> None:
        """End the recording and delete its file."""
        capture = self._capture
        if capture is None:
            return
        capture.cancelled = True
        capture.stop_requested = True
        await self._settle(capture)
        with contextlib.suppress(AudioError):
            await asyncio.shield(capture.done)

    def _open(
        self, loop: asyncio.AbstractEventLoop, path: Path, done: asyncio.Future[Recording | None]
    ) -> _Capture:
        # Worker thread: device lookup, file and stream creation may each take a while.
        sd = _backend.sounddevice()
        device = find_device("input", self.device)
        if isinstance(device, NoDevice):
            raise NoDeviceError(device)
        channels = max(1, min(self.channels, device.max_input_channels))
        native = int(device.default_samplerate or 48000)
        samplerate = int(self.samplerate or native)
        if samplerate != native:
            try:
                sd.check_input_settings(
                    device=device.index, channels=channels, dtype="float32", samplerate=samplerate
                )
            except sd.PortAudioError:  # a hardware device fixed at its own rate
                samplerate = native
        sink = FileSink(
            path,
            samplerate,
            channels,
            self.format,
            on_level=lambda level: post(loop, self._deliver_level, level),
        )
        max_frames = (
            None if self.max_seconds is None else max(1, round(self.max_seconds * samplerate))
        )
        capture = _Capture(loop, sink, max_frames, self.format, done, self._on_stream_finished)
        capture.stop_signal = sd.CallbackStop
        try:
            stream = sd.InputStream(
                device=device.index,
                samplerate=samplerate,
                channels=channels,
                dtype="float32",
                blocksize=max(64, samplerate // 100),
                latency=_backend.latency(device.index, "input", MIN_LATENCY_SECONDS),
                callback=capture.callback,
                finished_callback=capture.finished,
            )
            _backend.stream_opened()
            capture.stream = stream
            stream.start()
        except sd.PortAudioError as exc:
            _discard(capture)
            raise DeviceError(f"Could not record from “{device.name}”: {exc}") from exc
        except BaseException:
            _discard(capture)
            raise
        return capture

    def _deliver_level(self, level: Level) -> None:
        self._elapsed = level.elapsed
        if self.on_level is not None:
            self.on_level(level)

    def _on_stream_finished(self, capture: _Capture) -> None:
        if not capture.finalizing:
            capture.finalizing = True
            capture.loop.create_task(self._finalize(capture))

    async def _settle(self, capture: _Capture) -> None:
        """Wait for PortAudio to end the stream; abort it if it does not in time."""
        try:
            await asyncio.wait_for(asyncio.shield(capture.done), STOP_GRACE_SECONDS)
            return
        except TimeoutError:
            _log.warning("input stream did not stop in time; aborting it")
        except AudioError:
            return
        with contextlib.suppress(Exception):
            await asyncio.to_thread(capture.stream.abort)
        self._on_stream_finished(capture)  # in case PortAudio never calls back
        with contextlib.suppress(AudioError):
            await asyncio.shield(capture.done)

    async def _finalize(self, capture: _Capture) -> None:
        result: Recording | None = None
        error: BaseException | None = None
        try:
            await asyncio.to_thread(_close_stream, capture)
            frames = await asyncio.to_thread(capture.sink.close)
            path = capture.sink.path
            if capture.cancelled:
                path.unlink(missing_ok=True)
            elif frames == 0:
                path.unlink(missing_ok=True)
                error = EmptyRecording("Nothing was recorded: no sound reached the microphone.")
            else:
                result = Recording(
                    path=path,
                    duration=frames / capture.sink.samplerate,
                    samplerate=capture.sink.samplerate,
                    channels=capture.sink.channels,
                    format=capture.format,
                    frames=frames,
                    ended=_ending(capture),
                    dropped_frames=capture.sink.dropped_frames,
                )
                self._elapsed = result.duration
        except AudioError as exc:
            error = exc
        except OSError as exc:  # deleting a cancelled or empty file failed
            error = EncodeError(f"The recording could not be finished: {exc}")
        finally:
            if self._capture is capture:
                self._capture = None
            if error is not None:
                capture.done.set_exception(error)
            else:
                capture.done.set_result(result)
        if self.on_finished is not None and error is None:
            self.on_finished(result)


def _ending(capture: _Capture) -> RecordingEnd:
    if capture.ended == "max-length":  # even if stop() came while the file was closing
        return "max-length"
    return "stopped" if capture.stop_requested else capture.ended


def _close_stream(capture: _Capture) -> None:
    if capture.stream is not None:
        stream, capture.stream = capture.stream, None
        try:
            stream.close()
        finally:
            _backend.stream_closed()


def _discard(capture: _Capture) -> None:
    """Undo a half-made start: close the stream and delete the file."""
    capture.finalizing = True  # a finished callback from closing must not finalize it again
    with contextlib.suppress(Exception):
        _close_stream(capture)
    with contextlib.suppress(Exception):
        capture.sink.close()
    capture.sink.path.unlink(missing_ok=True)
