"""Play a :class:`Clip` on an output device, with pause, resume, stop and seek.

PortAudio's thread runs only the stream callback of one :class:`_Playback`: it copies
samples from the clip, follows pause/seek/stop requests, and posts the position (~30 times
a second) and the end of the stream to the asyncio loop with ``call_soon_threadsafe``.
Pausing keeps the stream open and plays silence, so resuming is instant.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from app import log
from app.audio import _backend
from app.audio._clip import Clip
from app.audio._devices import DeviceChoice, NoDevice, find_device
from app.audio._errors import DeviceError, NoDeviceError
from app.audio._threads import open_in_thread, post

_log = log.get("audio.player")

STOP_GRACE_SECONDS = 0.5
"""How long a stop waits for PortAudio to end the stream before aborting it."""

MIN_LATENCY_SECONDS = 0.25
"""Least output buffering. PortAudio's ``'high'`` latency is only ~35 ms on PulseAudio's
ALSA plugin, which underruns audibly on a loaded 2-core machine; speech playback does not
need to react faster than a quarter second (pause and seek take effect after it)."""


class PlayerState(StrEnum):
    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"


class PlaybackEnd(StrEnum):
    FINISHED = "finished"
    """The clip played to its end."""
    STOPPED = "stopped"
    """:meth:`Player.stop`, a new :meth:`Player.play`, or cancellation ended it."""
    INTERRUPTED = "interrupted"
    """The device stopped the stream (unplugged, server gone)."""


class _Playback:
    """One play-through; its ``callback`` and ``finished`` run on PortAudio's thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, player: Player) -> None:
        self.loop = loop
        self.player = player
        self.samples: Any = None
        self.samplerate = 1
        self.cursor = 0
        self.floor = 0  # frame of the last seek (or the start)
        self.paused = False
        self.stop_requested = False
        self.start_seconds = 0.0
        self.reached_end = False
        self.error: str | None = None
        self.seeks: deque[int] = deque()  # appended by the loop, drained by the callback
        self.report_every = 1
        self._unreported = 0
        self.stream: Any = None
        self.stop_signal: type[BaseException] = Exception
        self.abort_signal: type[BaseException] = Exception
        self.done: asyncio.Future[None] = loop.create_future()
        self.stop_event = asyncio.Event()
        self.closed = asyncio.Event()

    def request_stop(self) -> None:
        """Loop thread: the next callback aborts the stream."""
        self.stop_requested = True
        self.stop_event.set()

    def callback(self, outdata: Any, frames: int, time: Any, status: Any) -> None:
        try:
            self._fill(outdata, frames, _buffered_seconds(time))
        except (self.stop_signal, self.abort_signal):
            raise
        except Exception as exc:  # never let an error kill PortAudio's thread silently
            self.error = str(exc)
            raise self.abort_signal from exc

    def _fill(self, outdata: Any, frames: int, buffered: float) -> None:
        if self.stop_requested:
            outdata.fill(0)
            raise self.abort_signal
        while self.seeks:
            self.cursor = self.floor = self.seeks.popleft()
            self._unreported = self.report_every  # report the new place at once
        if self.paused:
            outdata.fill(0)
            return
        # What is heard now left the callback ``buffered`` seconds ago; never report a
        # point before the last seek (the audio still buffered from before it is not "there").
        heard = max(self.floor / self.samplerate, self.cursor / self.samplerate - buffered)
        chunk = self.samples[self.cursor : self.cursor + frames]
        count = len(chunk)
        outdata[:count] = chunk
        if count < frames:
            outdata[count:] = 0
        self.cursor += count
        self._unreported += count
        at_end = self.cursor >= len(self.samples)
        if self._unreported >= self.report_every or at_end:
            self._unreported = 0
            post(self.loop, self.player._on_progress, self, heard)
        if at_end:
            self.reached_end = True
            raise self.stop_signal  # lets the buffered tail play out, then ``finished``

    def finished(self) -> None:
        post(self.loop, self.player._on_stream_finished, self)


class Player:
    """Plays one clip at a time; create one per panel and reuse it.

    ``on_position(seconds)``, ``on_state(PlayerState)`` and ``on_finished(PlaybackEnd)``
    run on the asyncio loop. ``device`` (default, index or name) applies from the next
    :meth:`play`.
    """

    def __init__(
        self,
        *,
        device: DeviceChoice = None,
        on_position: Callable[[float], None] | None = None,
        on_state: Callable[[PlayerState], None] | None = None,
        on_finished: Callable[[PlaybackEnd], None] | None = None,
    ) -> None:
        self.device = device
        self.on_position = on_position
        self.on_state = on_state
        self.on_finished = on_finished
        self._run: _Playback | None = None
        self._state = PlayerState.STOPPED
        self._position = 0.0
        self._duration = 0.0

    @property
    def state(self) -> PlayerState:
        return self._state

    @property
    def position(self) -> float:
        """Seconds into the clip being heard now (corrected for the device's buffering)."""
        return self._position

    @property
    def duration(self) -> float:
        """Length of the current (or last) clip in seconds."""
        return self._duration

    async def play(self, clip: Clip, *, start: float = 0.0) -> PlaybackEnd:
        """Play ``clip`` from ``start`` seconds; returns when it has finished or was stopped.

        A playback already running is stopped first. Cancelling the awaiting task stops
        playback. Raises :class:`AudioUnavailable`, :class:`NoDeviceError` or
        :class:`DeviceError`.
        """
        await self.close()
        loop = asyncio.get_running_loop()
        run = _Playback(loop, self)
        run.start_seconds = start
        self._run = run
        self._duration = clip.duration
        self._set_position(min(max(0.0, start), clip.duration))
        self._set_state(PlayerState.PLAYING)
        end = PlaybackEnd.STOPPED
        try:
            run.stream = await open_in_thread(lambda: self._open(run, clip), _close)
            end = await self._until_end(run)
        finally:
            # Shielded: a second cancellation must not leave the stream open.
            await asyncio.shield(asyncio.ensure_future(self._teardown(run)))
        if self.on_finished is not None:
            self.on_finished(end)
        return end

    async def _teardown(self, run: _Playback) -> None:
        try:
            if self._run is run:
                self._run = None
            if run.stream is not None and not run.done.done():  # cancelled: stop PortAudio
                run.request_stop()
                with contextlib.suppress(Exception):
                    await self._until_end(run)
            if run.stream is not None:
                stream, run.stream = run.stream, None
                await asyncio.to_thread(_close, stream)
        finally:
            if self._run is None:
                self._set_state(PlayerState.STOPPED)
            run.closed.set()

    def pause(self) -> None:
        run = self._run
        if run is not None and not run.paused:
            run.paused = True
            self._set_state(PlayerState.PAUSED)

    def resume(self) -> None:
        run = self._run
        if run is not None and run.paused:
            run.paused = False
            self._set_state(PlayerState.PLAYING)

    def stop(self) -> None:
        """Ask the playback to stop; the pending :meth:`play` then returns ``STOPPED``."""
        run = self._run
        if run is not None:
            run.request_stop()

    def seek(self, seconds: float) -> None:
        """Jump to ``seconds`` (clamped to the clip) while playing or paused."""
        run = self._run
        if run is None:
            return
        seconds = min(max(0.0, seconds), self._duration)
        if run.samples is not None:
            run.seeks.append(min(round(seconds * run.samplerate), len(run.samples)))
        else:  # still opening: _open starts from here
            run.start_seconds = seconds
        self._set_position(seconds)

    async def close(self) -> None:
        """Stop any playback and wait until its stream is closed."""
        run = self._run
        if run is None:
            return
        self.stop()
        await run.closed.wait()

    def _open(self, run: _Playback, clip: Clip) -> Any:
        # Worker thread: device lookup and stream start can take tens of milliseconds.
        sd = _backend.sounddevice()
        device = find_device("output", self.device)
        if isinstance(device, NoDevice):
            raise NoDeviceError(device)
        if clip.channels > device.max_output_channels:
            clip = clip.mixed_to(max(1, min(2, device.max_output_channels)))
        try:
            sd.check_output_settings(
                device=device.index,
                channels=clip.channels,
                dtype="float32",
                samplerate=clip.samplerate,
            )
        except sd.PortAudioError:  # e.g. a hw device fixed at 48 kHz: resample ourselves
            clip = clip.resampled(int(device.default_samplerate))
        run.samples = clip.samples
        run.samplerate = clip.samplerate
        run.report_every = max(1, clip.samplerate // 30)
        run.cursor = run.floor = min(
            max(0, round(run.start_seconds * clip.samplerate)), clip.frames
        )
        run.stop_signal = sd.CallbackStop
        run.abort_signal = sd.CallbackAbort
        try:
            stream = sd.OutputStream(
                device=device.index,
                samplerate=clip.samplerate,
                channels=clip.channels,
                dtype="float32",
                latency=_backend.latency(device.index, "output", MIN_LATENCY_SECONDS),
                callback=run.callback,
                finished_callback=run.finished,
            )
        except sd.PortAudioError as exc:
            raise DeviceError(f"Could not play on “{device.name}”: {exc}") from exc
        _backend.stream_opened()
        try:
            stream.start()
        except sd.PortAudioError as exc:
            _close(stream)
            raise DeviceError(f"Could not play on “{device.name}”: {exc}") from exc
        return stream

    async def _until_end(self, run: _Playback) -> PlaybackEnd:
        stop_wait = asyncio.ensure_future(run.stop_event.wait())
        waiting: set[asyncio.Future[Any]] = {run.done, stop_wait}
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_wait.cancel()
        if not run.done.done():
            try:
                await asyncio.wait_for(asyncio.shield(run.done), STOP_GRACE_SECONDS)
            except TimeoutError:
                _log.warning("output stream did not stop in time; aborting it")
                if run.stream is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.to_thread(run.stream.abort)
                if not run.done.done():
                    run.done.set_result(None)
        if run.error is not None:
            raise DeviceError(f"Playback failed: {run.error}")
        if run.stop_requested:
            return PlaybackEnd.STOPPED
        return PlaybackEnd.FINISHED if run.reached_end else PlaybackEnd.INTERRUPTED

    def _on_progress(self, run: _Playback, seconds: float) -> None:
        if run is self._run and not run.seeks:
            self._set_position(seconds)

    def _on_stream_finished(self, run: _Playback) -> None:
        if run.reached_end and run is self._run:
            self._set_position(self._duration)
        if not run.done.done():
            run.done.set_result(None)

    def _set_position(self, seconds: float) -> None:
        self._position = seconds
        if self.on_position is not None:
            self.on_position(seconds)

    def _set_state(self, state: PlayerState) -> None:
        if state != self._state:
            self._state = state
            if self.on_state is not None:
                self.on_state(state)


def _buffered_seconds(time: Any) -> float:
    """How long until the block being filled is heard (0 if PortAudio cannot tell)."""
    try:
        delay = float(time.outputBufferDacTime - time.currentTime)
    except (AttributeError, TypeError, ValueError):
        return 0.0
    # Some host APIs report 0 for both or nonsense after a clock jump.
    return delay if 0.0 < delay < 5.0 else 0.0


def _close(stream: Any) -> None:
    try:
        stream.close()
    finally:
        _backend.stream_closed()
