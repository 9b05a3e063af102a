"""Lazy access to sounddevice (PortAudio).

Importing sounddevice costs ~150 ms and raises ``OSError`` when PortAudio is missing, so
nothing imports it at module level: callers ask :func:`sounddevice` when they need it and
get :class:`AudioUnavailable` with a plain reason instead of a crash.
"""

from __future__ import annotations

import threading
from types import ModuleType

from app.audio._errors import AudioUnavailable, DeviceError

_lock = threading.Lock()
_module: ModuleType | None = None
_failure: str | None = None
_open_streams = 0


def sounddevice() -> ModuleType:
    """The imported ``sounddevice`` module; raises :class:`AudioUnavailable` if it cannot load."""
    global _module, _failure
    with _lock:
        if _module is not None:
            return _module
        if _failure is not None:
            raise AudioUnavailable(_failure)
        try:
            import sounddevice as sd
        except OSError as exc:  # sounddevice raises OSError when libportaudio is not found
            _failure = f"Audio is unavailable: the PortAudio library could not be loaded ({exc})."
        except ImportError as exc:
            _failure = f"Audio is unavailable: the sounddevice package is missing ({exc})."
        else:
            _module = sd
            return sd
        raise AudioUnavailable(_failure)


def unavailable_reason() -> str | None:
    """Why audio cannot work here, or ``None`` when sounddevice loads."""
    try:
        sounddevice()
    except AudioUnavailable as exc:
        return str(exc)
    return None


def latency(index: int, kind: str, least: float) -> float:
    """PortAudio's ``'high'`` latency of device ``index`` for ``kind`` (``"input"`` or
    ``"output"``), but never below ``least`` seconds."""
    sd = sounddevice()
    try:
        high = float(sd.query_devices(index)[f"default_high_{kind}_latency"])
    except (KeyError, TypeError, ValueError, sd.PortAudioError):
        return least
    return max(high, least)


def stream_opened() -> None:
    global _open_streams
    with _lock:
        _open_streams += 1


def stream_closed() -> None:
    global _open_streams
    with _lock:
        _open_streams = max(0, _open_streams - 1)


def rescan() -> bool:
    """Re-initialise PortAudio so newly plugged devices appear; ``False`` if streams are open.

    PortAudio enumerates devices once, at initialisation; re-initialising while a stream
    is open would pull it from under the player or recorder, so that is refused.
    """
    sd = sounddevice()
    with _lock:
        if _open_streams:
            return False
        try:
            sd._terminate()
            sd._initialize()
        except sd.PortAudioError as exc:  # pragma: no cover - depends on the host's audio
            raise DeviceError(f"Could not rescan audio devices: {exc}") from exc
    return True
