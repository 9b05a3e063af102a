"""Errors of the audio layer. Every message is plain and fit to show a user as it is.

::

    AudioError
     ├── AudioUnavailable       the audio library (PortAudio) cannot load on this machine
     ├── NoDeviceError          no input / no output device to open (carries a NoDevice)
     ├── DeviceError            a device refused to open, or failed while running
     ├── DecodeError            bytes or a file that are not audio we can read
     │    └── UnsupportedFormat   real audio in a format that cannot be decoded here
     ├── EncodeError            a clip or a recording could not be written
     └── EmptyRecording         a recording ended before any sound arrived
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["input", "output"]


# Here, not in _devices, so the error can carry it without the modules importing each other.
@dataclass(frozen=True, slots=True)
class NoDevice:
    """There is no usable device of this kind; ``reason`` is the message to show."""

    kind: Kind
    reason: str

    def __str__(self) -> str:
        return self.reason


class AudioError(Exception):
    """Base of every error raised by ``app.audio``; ``str(error)`` is the user message."""

    @property
    def message(self) -> str:
        return str(self)


class AudioUnavailable(AudioError):
    """The audio library cannot be loaded (e.g. PortAudio is not installed)."""


class NoDeviceError(AudioError):
    """There is no device of the needed kind; ``no_device`` says which and why."""

    def __init__(self, no_device: NoDevice) -> None:
        super().__init__(no_device.reason)
        self.no_device = no_device


class DeviceError(AudioError):
    """A device could not be opened, or stopped working during playback or recording."""


class DecodeError(AudioError):
    """The bytes or the file are not audio that can be read."""


class UnsupportedFormat(DecodeError):
    """Recognised audio (m4a, webm, aac, ...) that this layer cannot decode for playback."""

    def __init__(self, message: str, format: str) -> None:
        super().__init__(message)
        self.format = format


class EncodeError(AudioError):
    """Audio could not be written in the requested format or place."""


class EmptyRecording(AudioError):
    """The recording stopped before any audio was captured."""
