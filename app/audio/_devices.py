"""Input and output devices, with "no device" as a typed result instead of an exception.

The first call imports sounddevice and so initialises PortAudio (~150 ms, more with many
devices); later calls read PortAudio's cached list (well under a millisecond). From the
event loop prefer :func:`list_devices_async`, which does the first call on a worker thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from app.audio import _backend
from app.audio._errors import AudioUnavailable, Kind, NoDevice

DeviceChoice = int | str | None
"""How callers name a device: ``None`` for the system default, an index, or a name.

Names survive restarts and re-plugging, indices do not: store names in settings.
"""


@dataclass(frozen=True, slots=True)
class Device:
    """One PortAudio device."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float

    @property
    def label(self) -> str:
        """A name to show in a device picker."""
        return self.name


@dataclass(frozen=True, slots=True)
class Devices:
    """What a device picker needs: the lists and the defaults (a Device or a NoDevice)."""

    inputs: tuple[Device, ...]
    outputs: tuple[Device, ...]
    default_input: Device | NoDevice
    default_output: Device | NoDevice
    unavailable: str | None = None
    """Set when the audio library itself cannot load; then both lists are empty."""


# ALSA plugins PortAudio lists beside the real devices: routing plumbing, not something a
# user picks. "default", "pulse", "pipewire" and the "(hw:N,M)" devices stay.
_ALSA_PLUMBING = frozenset(
    {
        "sysdefault", "front", "rear", "center_lfe", "side", "surround21", "surround40",
        "surround41", "surround50", "surround51", "surround71", "iec958", "spdif", "hdmi",
        "dmix", "dsnoop", "lavrate", "samplerate", "speexrate", "upmix", "vdownmix",
        "modem", "phoneline", "null", "jack", "oss",
    }
)  # fmt: skip


def _no_device(kind: Kind, unavailable: str | None = None) -> NoDevice:
    return NoDevice(kind, unavailable or f"No {kind} device found.")


def list_devices(*, rescan: bool = False) -> Devices:
    """Every input and output device and the defaults; never raises for missing audio.

    With ``rescan`` PortAudio is re-initialised first so newly plugged devices show up
    (skipped while a player or recorder has a stream open).
    """
    try:
        sd = _backend.sounddevice()
        if rescan:
            _backend.rescan()
        raw = [dict(d) for d in sd.query_devices()]
        hostapis = [dict(h) for h in sd.query_hostapis()]
        default_in, default_out = _default_indices(sd)
        default_api = _default_hostapi(sd)
    except AudioUnavailable as exc:
        reason = str(exc)
        return Devices((), (), _no_device("input", reason), _no_device("output", reason), reason)
    devices = [_device(d, hostapis) for d in raw]
    # On Windows each device is listed once per host API (MME, DirectSound, WASAPI, ...);
    # keep the default host API's so a picker does not show every name four times.
    if default_api is not None and any(d["hostapi"] == default_api for d in raw):
        devices = [dev for dev, d in zip(devices, raw, strict=True) if d["hostapi"] == default_api]
    devices = [d for d in devices if not (d.hostapi == "ALSA" and d.name in _ALSA_PLUMBING)]
    inputs = tuple(d for d in devices if d.max_input_channels > 0)
    outputs = tuple(d for d in devices if d.max_output_channels > 0)
    return Devices(
        inputs,
        outputs,
        _pick_default("input", inputs, default_in),
        _pick_default("output", outputs, default_out),
    )


async def list_devices_async(*, rescan: bool = False) -> Devices:
    """:func:`list_devices` on a worker thread, so PortAudio's start-up never stalls the loop."""
    return await asyncio.to_thread(list_devices, rescan=rescan)


def find_device(kind: Kind, choice: DeviceChoice = None) -> Device | NoDevice:
    """The device ``choice`` names (default, index or name), or a NoDevice saying why not."""
    devices = list_devices()
    pool = devices.inputs if kind == "input" else devices.outputs
    default = devices.default_input if kind == "input" else devices.default_output
    if devices.unavailable is not None or choice is None or not pool:
        return default
    if isinstance(choice, int):
        for device in pool:
            if device.index == choice:
                return device
        return NoDevice(kind, f"The {kind} device #{choice} is not available.")
    exact = [d for d in pool if d.name == choice]
    loose = [d for d in pool if choice.casefold() in d.name.casefold()]
    if exact or loose:
        return (exact or loose)[0]
    return NoDevice(kind, f"The {kind} device “{choice}” is not connected.")


def _device(raw: dict[str, Any], hostapis: list[dict[str, Any]]) -> Device:
    api = raw.get("hostapi", -1)
    return Device(
        index=int(raw["index"]),
        name=str(raw["name"]),
        hostapi=str(hostapis[api]["name"]) if 0 <= api < len(hostapis) else "",
        max_input_channels=int(raw["max_input_channels"]),
        max_output_channels=int(raw["max_output_channels"]),
        default_samplerate=float(raw["default_samplerate"]),
    )


def _default_indices(sd: Any) -> tuple[int, int]:
    pair = sd.default.device
    try:
        return int(pair[0]), int(pair[1])
    except (TypeError, ValueError, IndexError):
        return -1, -1


def _default_hostapi(sd: Any) -> int | None:
    try:
        api = int(sd.default.hostapi)
    except (TypeError, ValueError, sd.PortAudioError):
        return None
    return api if api >= 0 else None


def _pick_default(kind: Kind, pool: tuple[Device, ...], index: int) -> Device | NoDevice:
    for device in pool:
        if device.index == index:
            return device
    # PortAudio names no default (or one we filtered out): the first device is the best guess.
    return pool[0] if pool else _no_device(kind)
