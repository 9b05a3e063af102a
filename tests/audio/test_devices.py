"""Device lists, defaults, and "no device" as results the UI can show."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app.audio import (
    AudioUnavailable,
    Device,
    NoDevice,
    _backend,
    find_device,
    list_devices,
    list_devices_async,
)
from tests.audio.fake_sounddevice import FakeSoundDevice

FakeFactory = Callable[..., FakeSoundDevice]
ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
from app.audio import NoDevice, list_devices, find_device
devices = list_devices()
print(json.dumps({
    "inputs": len(devices.inputs),
    "outputs": len(devices.outputs),
    "default_input": str(devices.default_input),
    "default_output": str(devices.default_output),
    "no_input": isinstance(devices.default_input, NoDevice),
    "no_output": isinstance(devices.default_output, NoDevice),
    "unavailable": devices.unavailable,
    "find": str(find_device("output", "Speakers")),
}))
"""


def run_probe(env: dict[str, str], extra_path: Path | None = None) -> dict[str, object]:
    path = [str(ROOT)] + ([str(extra_path)] if extra_path else [])
    code = f"import sys; sys.path[:0] = {path!r}\n" + PROBE
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_lists_and_defaults(fake_sd: FakeFactory) -> None:
    fake_sd(inputs=2, outputs=1)
    devices = list_devices()
    assert [d.name for d in devices.inputs] == ["Fake mic 0", "Fake mic 1"]
    assert [d.name for d in devices.outputs] == ["Fake speaker 0"]
    assert isinstance(devices.default_input, Device) and devices.default_input.index == 0
    assert isinstance(devices.default_output, Device) and devices.default_output.index == 2
    assert devices.unavailable is None


async def test_async_variant(fake_sd: FakeFactory) -> None:
    fake_sd()
    devices = await list_devices_async()
    assert len(devices.inputs) == len(devices.outputs) == 1


def test_find_by_name_index_or_default(fake_sd: FakeFactory) -> None:
    fake_sd(inputs=2)
    assert find_device("input", "Fake mic 1") == list_devices().inputs[1]
    assert find_device("input", "mic 1") == list_devices().inputs[1]  # loose match
    assert find_device("input", 1) == list_devices().inputs[1]
    assert find_device("input") == list_devices().inputs[0]
    gone = find_device("input", "Blue Yeti")
    assert isinstance(gone, NoDevice) and "Blue Yeti" in gone.reason
    assert isinstance(find_device("output", 0), NoDevice)  # device 0 is a mic


def test_no_devices_are_results_not_errors(fake_sd: FakeFactory) -> None:
    fake_sd(inputs=0, outputs=0)
    devices = list_devices()
    assert devices.inputs == devices.outputs == ()
    assert devices.default_input == NoDevice("input", "No input device found.")
    assert devices.default_output == NoDevice("output", "No output device found.")
    assert str(find_device("output", "Speakers")) == "No output device found."


def test_alsa_plumbing_is_not_offered(fake_sd: FakeFactory) -> None:
    fake = fake_sd(inputs=0, outputs=0)
    names = ["HDA Intel PCH: ALC892 Analog (hw:0,0)", "sysdefault", "front", "dmix", "pulse"]
    for index, name in enumerate(names):
        fake._devices.append(
            {"index": index, "name": name, "hostapi": 0, "max_input_channels": 2,
             "max_output_channels": 2, "default_samplerate": 48_000.0}
        )  # fmt: skip
    fake.query_hostapis = lambda: [{"name": "ALSA"}]  # type: ignore[method-assign]
    fake.default.device = [4, 4]
    devices = list_devices()
    assert [d.name for d in devices.outputs] == [names[0], "pulse"]
    assert isinstance(devices.default_output, Device) and devices.default_output.name == "pulse"


def test_missing_default_falls_back_to_the_first_device(fake_sd: FakeFactory) -> None:
    fake = fake_sd()
    fake.default.device = [-1, -1]
    devices = list_devices()
    assert devices.default_input == devices.inputs[0]
    assert devices.default_output == devices.outputs[0]


def test_unavailable_audio_library_is_a_result(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> None:
        raise AudioUnavailable("Audio is unavailable: the PortAudio library could not be loaded.")

    monkeypatch.setattr(_backend, "sounddevice", unavailable)
    devices = list_devices()
    assert devices.unavailable is not None and "PortAudio" in devices.unavailable
    assert isinstance(devices.default_input, NoDevice)
    assert "PortAudio" in devices.default_output.reason  # type: ignore[union-attr]


def test_rescan_is_refused_while_a_stream_is_open(
    fake_sd: FakeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_sd()
    monkeypatch.setattr(_backend, "_open_streams", 1)
    assert _backend.rescan() is False
    assert len(list_devices(rescan=True).inputs) == 1


def test_without_a_sound_server_nothing_is_found(tmp_path: Path) -> None:
    # A process whose PulseAudio server does not exist, on a machine without sound cards
    # (like CI): the real PortAudio then lists nothing, and the API says so without raising.
    cards = Path("/proc/asound/cards")
    if cards.exists() and "no soundcards" not in cards.read_text():
        pytest.skip("this machine has sound cards, so ALSA lists devices without PulseAudio")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PULSE_SERVER": f"unix:{tmp_path}/no-such-socket",
    }
    found = run_probe(env)
    assert found["no_input"] and found["no_output"], found
    assert found["default_input"] == "No input device found."
    assert found["default_output"] == "No output device found."
    assert found["find"] == "No output device found."


def test_without_portaudio_the_reason_is_given(tmp_path: Path) -> None:
    # sounddevice raises OSError on import when libportaudio is missing; imitate that.
    (tmp_path / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    found = run_probe({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, extra_path=tmp_path)
    assert found["unavailable"] and "PortAudio" in str(found["unavailable"])
    assert found["no_input"] and found["no_output"]
    assert found["inputs"] == found["outputs"] == 0


@pytest.mark.audio
def test_the_virtual_device_is_listed() -> None:
    devices = list_devices()
    assert isinstance(devices.default_input, Device)
    assert isinstance(devices.default_output, Device)
    assert devices.default_output in devices.outputs
    names = [d.name for d in devices.outputs]
    assert "pulse" in names or "default" in names


@pytest.mark.audio
async def test_rescan_finds_the_devices_again() -> None:
    before = list_devices()
    after = await list_devices_async(rescan=True)
    assert [d.name for d in after.outputs] == [d.name for d in before.outputs]
    assert isinstance(after.default_output, Device)
