"""Audio test helpers: the virtual sound device, test signals, and signal analysis.

Tests marked ``@pytest.mark.audio`` need PulseAudio's null sink as the default output with
its monitor as the default input (``packaging/with-test-services.sh`` sets that up); without
it they skip and say why. Registered as a pytest plugin in ``tests/conftest.py``.
"""

from __future__ import annotations

import functools
import itertools
import shutil
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

Signal = npt.NDArray[np.float32]

SAMPLERATE = 44_100


@functools.cache
def virtual_device_problem() -> str | None:
    """Why the audio tests cannot run here, or ``None`` when the null sink is ready."""
    if shutil.which("pactl") is None:
        return "PulseAudio (pactl) is not installed"
    try:
        info = subprocess.run(["pactl", "info"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"PulseAudio is not reachable: {exc}"
    if info.returncode != 0:
        return "no PulseAudio server is running (run tests under packaging/with-test-services.sh)"
    source = next(
        (line.split(":", 1)[1].strip() for line in info.stdout.splitlines()
         if line.startswith("Default Source:")),
        "",
    )  # fmt: skip
    # Recording the default source must give back what was played: only true for a monitor.
    if not source.endswith(".monitor"):
        return "the default PulseAudio source is not a sink monitor (a real microphone?)"
    from app.audio import Device, list_devices

    devices = list_devices()
    if not isinstance(devices.default_input, Device) or not isinstance(
        devices.default_output, Device
    ):
        return f"PortAudio sees no default device: {devices.unavailable or 'no pulse device'}"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("audio") is not None:
        problem = virtual_device_problem()
        if problem is not None:
            pytest.skip(f"needs the virtual sound device: {problem}")


@pytest.fixture
def speech_wav(tmp_path: Path) -> Path:
    """Real speech (espeak-ng, 22.05 kHz mono WAV) saying a short sentence."""
    return make_speech(tmp_path / "speech.wav", "Hello from Palaver. Testing one two three.")


def make_speech(path: Path, text: str) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    subprocess.run(
        ["espeak-ng", "-w", str(path), text], check=True, capture_output=True, timeout=30
    )
    return path


def tone(
    frequency: float = 440.0,
    seconds: float = 1.0,
    samplerate: int = SAMPLERATE,
    amplitude: float = 0.5,
    pad: float = 0.0,
) -> Signal:
    """A mono sine, optionally with ``pad`` seconds of silence on both sides."""
    t = np.arange(round(seconds * samplerate)) / samplerate
    wave = (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    silence = np.zeros(round(pad * samplerate), dtype=np.float32)
    return np.concatenate([silence, wave, silence])


def mono(samples: npt.ArrayLike) -> Signal:
    array = np.asarray(samples, dtype=np.float32)
    return array.mean(axis=1) if array.ndim == 2 else array


def dominant_frequency(samples: npt.ArrayLike, samplerate: int) -> float:
    """The strongest frequency in Hz (Hann window, parabolic peak interpolation)."""
    x = mono(samples).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spectrum[0] = 0.0
    k = int(np.argmax(spectrum))
    if 0 < k < len(spectrum) - 1:
        a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
        k_exact = k + 0.5 * (a - c) / (a - 2 * b + c)
    else:
        k_exact = float(k)
    return float(k_exact * samplerate / len(x))


def rms_dbfs(samples: npt.ArrayLike) -> float:
    x = mono(samples).astype(np.float64)
    rms = float(np.sqrt(np.mean(x * x))) if x.size else 0.0
    return 20 * np.log10(rms) if rms > 0 else -120.0


def band_profile(
    samples: npt.ArrayLike, samplerate: int, bands: int = 40
) -> npt.NDArray[np.float64]:
    """Normalised energy in ``bands`` equal bands from 80 Hz to 5 kHz (a speech fingerprint)."""
    x = mono(samples).astype(np.float64)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / samplerate)
    edges = np.linspace(80, 5000, bands + 1)
    energy = np.array(
        [power[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in itertools.pairwise(edges)]
    )
    return energy / (np.linalg.norm(energy) or 1.0)


def loud_part(samples: npt.ArrayLike, samplerate: int, threshold_db: float = -40.0) -> Signal:
    """The span between the first and last 10 ms window louder than ``threshold_db``."""
    x = mono(samples)
    window = max(1, samplerate // 100)
    count = len(x) // window
    if count == 0:
        return x
    frames = x[: count * window].reshape(count, window)
    loud = np.flatnonzero(20 * np.log10(np.sqrt((frames**2).mean(axis=1)) + 1e-12) > threshold_db)
    if loud.size == 0:
        return x[:0]
    return x[loud[0] * window : (loud[-1] + 1) * window]
