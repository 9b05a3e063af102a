"""Audio: record, play, encode and decode with sounddevice/soundfile. No Qt here.

Importing this package is cheap: numpy, soundfile and sounddevice load on first use of a
name that needs them (PortAudio only when a device is listed or opened), so a machine
without PortAudio still runs the app and gets :class:`AudioUnavailable` with a reason.

- Devices: :func:`list_devices_async` returns :class:`Devices`; its defaults are a
  :class:`Device` or a :class:`NoDevice` whose ``reason`` is the message to show
  ("No input device found."). Name devices by ``Device.name`` in settings.
- Clips: :func:`decode` / :func:`decode_async` (paths or bytes; ``format="pcm"`` for raw
  24 kHz speech) give a :class:`Clip`; :func:`save` / :func:`encode` write one;
  :func:`prepare_upload` returns a file a transcription endpoint accepts.
- :class:`Player` plays a clip; :class:`Recorder` records to WAV or FLAC with live
  :class:`Level` readings. Their callbacks run on the asyncio loop.
- Errors: one tree under :class:`AudioError` (see ``_errors``); ``str(error)`` is plain.

A speech panel, roughly::

    player = Player(device=settings.output_device, on_position=bar.set_seconds,
                    on_state=buttons.show_state)
    clip = await decode_async(audio_bytes, format=response_format)   # DecodeError
    await player.play(clip)            # returns FINISHED / STOPPED; pause(), seek(), stop()

and a transcription panel::

    recorder = Recorder(format="flac", max_seconds=600, on_level=meter.show)
    await recorder.start(path)          # NoDeviceError, AudioUnavailable, DeviceError
    recording = await recorder.stop()   # or await recorder.wait(); cancel() deletes
    upload = await prepare_upload_async(recording.path)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from app.audio._errors import (
    AudioError,
    AudioUnavailable,
    DecodeError,
    DeviceError,
    EmptyRecording,
    EncodeError,
    NoDeviceError,
    UnsupportedFormat,
)

if TYPE_CHECKING:
    from app.audio._clip import Clip
    from app.audio._decode import PCM_SAMPLERATE, decode, decode_async, decode_pcm, sniff
    from app.audio._devices import (
        Device,
        DeviceChoice,
        Devices,
        NoDevice,
        find_device,
        list_devices,
        list_devices_async,
    )
    from app.audio._encode import (
        ENCODINGS,
        UPLOAD_FORMATS,
        encode,
        prepare_upload,
        prepare_upload_async,
        save,
        save_async,
    )
    from app.audio._level import Level, dbfs
    from app.audio._player import PlaybackEnd, Player, PlayerState
    from app.audio._recorder import Recorder, RecorderStats, Recording

_LAZY = {
    "Clip": "_clip",
    "PCM_SAMPLERATE": "_decode",
    "decode": "_decode",
    "decode_async": "_decode",
    "decode_pcm": "_decode",
    "sniff": "_decode",
    "Device": "_devices",
    "DeviceChoice": "_devices",
    "Devices": "_devices",
    "NoDevice": "_devices",
    "find_device": "_devices",
    "list_devices": "_devices",
    "list_devices_async": "_devices",
    "ENCODINGS": "_encode",
    "UPLOAD_FORMATS": "_encode",
    "encode": "_encode",
    "prepare_upload": "_encode",
    "prepare_upload_async": "_encode",
    "save": "_encode",
    "save_async": "_encode",
    "Level": "_level",
    "dbfs": "_level",
    "PlaybackEnd": "_player",
    "Player": "_player",
    "PlayerState": "_player",
    "Recorder": "_recorder",
    "RecorderStats": "_recorder",
    "Recording": "_recorder",
}

__all__ = [
    "ENCODINGS",
    "PCM_SAMPLERATE",
    "UPLOAD_FORMATS",
    "AudioError",
    "AudioUnavailable",
    "Clip",
    "DecodeError",
    "Device",
    "DeviceChoice",
    "DeviceError",
    "Devices",
    "EmptyRecording",
    "EncodeError",
    "Level",
    "NoDevice",
    "NoDeviceError",
    "PlaybackEnd",
    "Player",
    "PlayerState",
    "Recorder",
    "RecorderStats",
    "Recording",
    "UnsupportedFormat",
    "dbfs",
    "decode",
    "decode_async",
    "decode_pcm",
    "encode",
    "find_device",
    "list_devices",
    "list_devices_async",
    "prepare_upload",
    "prepare_upload_async",
    "save",
    "save_async",
    "sniff",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
