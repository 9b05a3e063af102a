"""A stand-in for the sounddevice module: deterministic streams without a sound card.

Input streams call the callback from their own thread with generated blocks as fast as the
consumer allows (so a 10-minute recording takes seconds); output streams collect what the
callback writes. Callback stop/abort and finished callbacks follow PortAudio's rules.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np


class PortAudioError(Exception):
    pass


class CallbackStop(Exception):
    pass


class CallbackAbort(Exception):
    pass


class _Status:
    input_overflow = False
    output_underflow = False


class _Default:
    def __init__(self, device: tuple[int, int]) -> None:
        self.device = list(device)
        self.hostapi = 0


Generator = Callable[[int, int], np.ndarray]


def sine_source(
    frequency: float = 440.0, samplerate: int = 48_000, amplitude: float = 0.5
) -> Generator:
    def generate(start: int, frames: int) -> np.ndarray:
        t = (np.arange(start, start + frames) / samplerate)[:, np.newaxis]
        return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)

    return generate


class FakeSoundDevice:
    """Pass an instance where ``app.audio._backend.sounddevice()`` is expected."""

    PortAudioError = PortAudioError
    CallbackStop = CallbackStop
    CallbackAbort = CallbackAbort

    def __init__(
        self,
        *,
        inputs: int = 1,
        outputs: int = 1,
        samplerate: float = 48_000.0,
        source: Generator | None = None,
        block: int = 4800,
        pace: float = 0.0,
        silent: bool = False,
        output_delay: float = 0.0,
        lost_after: int | None = None,
        rates: tuple[int, ...] | None = None,
    ) -> None:
        self._devices: list[dict[str, Any]] = []
        for i in range(inputs):
            self._devices.append(_device(len(self._devices), f"Fake mic {i}", 2, 0, samplerate))
        for i in range(outputs):
            self._devices.append(_device(len(self._devices), f"Fake speaker {i}", 0, 2, samplerate))
        first_in = 0 if inputs else -1
        first_out = inputs if outputs else -1
        self.default = _Default((first_in, first_out))
        self.source = source or sine_source(samplerate=int(samplerate))
        self.block = block
        self.pace = pace
        self.silent = silent  # streams that start but never call back (a stuck device)
        self.output_delay = output_delay  # what outputBufferDacTime - currentTime reports
        self.lost_after = lost_after  # blocks before the device "is unplugged"
        self.rates = rates  # sample rates the device accepts (None: any)
        self.streams: list[FakeStream] = []

    def query_devices(self, device: int | None = None) -> Any:
        if device is not None:
            return dict(self._devices[device], default_high_output_latency=0.03)
        return list(self._devices)

    def query_hostapis(self) -> list[dict[str, Any]]:
        return [{"name": "Fake", "devices": list(range(len(self._devices)))}]

    def check_output_settings(self, *, samplerate: float, **kwargs: Any) -> None:
        if self.rates is not None and int(samplerate) not in self.rates:
            raise PortAudioError("Invalid sample rate")

    check_input_settings = check_output_settings

    def InputStream(self, **kwargs: Any) -> FakeStream:
        stream = FakeStream(self, "input", **kwargs)
        self.streams.append(stream)
        return stream

    def OutputStream(self, **kwargs: Any) -> FakeStream:
        stream = FakeStream(self, "output", **kwargs)
        self.streams.append(stream)
        return stream


class FakeStream:
    def __init__(
        self,
        sd: FakeSoundDevice,
        kind: str,
        *,
        samplerate: int,
        channels: int,
        callback: Callable[..., None],
        finished_callback: Callable[[], None],
        **_: Any,
    ) -> None:
        self._sd = sd
        self.kind = kind
        self.samplerate = samplerate
        self.channels = channels
        self._callback = callback
        self._finished = finished_callback
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self.written: list[np.ndarray] = []
        self.closed = False
        self.finished_calls = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        position = 0
        try:
            blocks = 0
            while not self._halt.is_set():
                if self._sd.lost_after is not None and blocks >= self._sd.lost_after:
                    break
                blocks += 1
                if self._sd.silent:
                    self._halt.wait(0.01)
                    continue
                frames = self._sd.block
                if self.kind == "input":
                    data = np.repeat(self._sd.source(position, frames), self.channels, axis=1)
                else:
                    data = np.zeros((frames, self.channels), dtype=np.float32)
                position += frames
                try:
                    now = time.monotonic()
                    timing = SimpleNamespace(
                        currentTime=now,
                        inputBufferAdcTime=now,
                        outputBufferDacTime=now + self._sd.output_delay,
                    )
                    self._callback(data, frames, timing, _Status())
                except (CallbackStop, CallbackAbort):
                    if self.kind == "output":
                        self.written.append(data.copy())
                    break
                if self.kind == "output":
                    self.written.append(data.copy())
                if self._sd.pace:
                    time.sleep(self._sd.pace)
        finally:
            self.finished_calls += 1
            self._finished()

    def abort(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join()

    stop = abort

    def close(self) -> None:
        self.abort()
        self.closed = True

    def output(self) -> np.ndarray:
        return np.concatenate(self.written) if self.written else np.zeros((0, self.channels))


def _device(index: int, name: str, ins: int, outs: int, rate: float) -> dict[str, Any]:
    return {
        "index": index,
        "name": name,
        "hostapi": 0,
        "max_input_channels": ins,
        "max_output_channels": outs,
        "default_samplerate": rate,
    }
