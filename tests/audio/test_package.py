"""The package surface: every exported name resolves, and importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import app.audio


def test_every_exported_name_resolves() -> None:
    for name in app.audio.__all__:
        assert getattr(app.audio, name) is not None, name


def test_importing_the_package_loads_no_audio_library() -> None:
    # PortAudio may be missing and numpy/soundfile cost ~400 ms: none load on import.
    code = (
        "import sys, app.audio\n"
        "from app.audio import AudioError, NoDeviceError\n"
        "print(sorted(m for m in ('numpy', 'soundfile', 'sounddevice') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_errors_carry_plain_messages() -> None:
    error = app.audio.NoDeviceError(app.audio.NoDevice("input", "No input device found."))
    assert isinstance(error, app.audio.AudioError)
    assert error.message == str(error) == "No input device found."
    assert error.no_device.kind == "input"
