"""Benchmark of recording and transcription (run from the repo root: python tests/bench/bench_audio.py).

No sound card is needed: a stand-in sound device (``tests/audio/fake_sounddevice.py``)
delivers a 440 Hz tone in 10 ms blocks.

1. ``record_10min_peak_mb``: a 10-minute 48 kHz mono recording to FLAC through the engine's
   ``Recorder``, fed as fast as the writer takes it; the process's resident memory is
   sampled every 50 ms and the peak above the level before recording is reported (a
   recording held in memory would be ~115 MB of float32). ``record_10min_tracemalloc_mb``
   is the peak of Python allocations (numpy included) during it.
2. ``meter_fps`` and ``max_stall_ms``: the real ``TranscribePanel`` (offscreen) records
   8 s in real time while it uploads a 3-minute WAV (~17 MB) to the local test server (a
   niced subprocess standing in for a provider). ``meter_fps`` = level readings shown per
   second; ``max_stall_ms`` = the longest gap of a 5 ms heartbeat timer on the Qt thread.

The last line printed is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import soundfile as sf  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.api import ProviderProfile  # noqa: E402
from app.audio import Recorder, _backend  # noqa: E402
from app.paths import AppPaths  # noqa: E402
from app.ui.loop import loop_factory  # noqa: E402
from tests.audio.fake_sounddevice import FakeSoundDevice, sine_source  # noqa: E402
from tests.helpers.app_context import open_context  # noqa: E402
from tests.helpers.audio_env import tone  # noqa: E402
from tests.helpers.bench_tools import Heartbeat, start_server  # noqa: E402
from tests.helpers.waiting import until  # noqa: E402

RATE = 48_000
RECORD_SECONDS = 600
LIVE_SECONDS = 8.0
UPLOAD_SECONDS = 180


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def install(fake: FakeSoundDevice) -> None:
    _backend.sounddevice = lambda: fake  # type: ignore[assignment]


async def record_ten_minutes(folder: Path) -> dict[str, float]:
    # 500 ms blocks every 10 ms: fifty times real time (the benchmark stays under a
    # minute), which the FLAC writer keeps up with (dropped frames are reported).
    install(
        FakeSoundDevice(samplerate=RATE, source=sine_source(440.0, RATE), block=24000, pace=0.01)
    )
    recorder = Recorder(format="flac", max_seconds=RECORD_SECONDS)
    base = rss_mb()
    peak = base
    tracemalloc.start()
    started = time.perf_counter()
    await recorder.start(folder / "ten-minutes.flac")
    done = asyncio.ensure_future(recorder.wait())
    while not done.done():
        peak = max(peak, rss_mb())
        await asyncio.sleep(0.05)
    recording = done.result()
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stats = recorder.stats
    figures = {
        "record_10min_peak_mb": round(peak - base, 1),
        "record_10min_tracemalloc_mb": round(traced / 1e6, 1),
        "record_10min_seconds": round(recording.duration, 1),
        "record_10min_wall_s": round(time.perf_counter() - started, 1),
        "record_10min_file_mb": round(recording.path.stat().st_size / 1e6, 1),
        "record_10min_dropped_frames": stats.dropped_frames if stats else -1,
    }
    print(
        f"10-minute recording: {figures['record_10min_seconds']} s of audio in "
        f"{figures['record_10min_wall_s']} s; resident memory peak +{figures['record_10min_peak_mb']} MB, "
        f"Python allocations peak {figures['record_10min_tracemalloc_mb']} MB; FLAC "
        f"{figures['record_10min_file_mb']} MB; dropped frames {figures['record_10min_dropped_frames']}"
    )
    return figures


async def record_while_uploading(root: Path, base_url: str) -> dict[str, float]:
    from app.ui.panels.transcribe import TranscribePanel

    # Real time: the panel records at 16 kHz; 10 ms blocks, one every 10 ms.
    install(
        FakeSoundDevice(samplerate=16_000, source=sine_source(440.0, 16_000), block=160, pace=0.01)
    )
    big = root / "three-minutes.wav"
    sf.write(str(big), tone(330.0, UPLOAD_SECONDS, samplerate=RATE, amplitude=0.3), RATE)
    ctx = await open_context(AppPaths.from_root(root / "profile"))
    ctx.registry.add(
        ProviderProfile(
            id="local",
            name="Local",
            base_url=base_url,
            kind="local",
            key_required=False,
            capabilities={"transcription": True},
        )
    )
    panel = TranscribePanel(ctx)
    panel.resize(1000, 760)
    panel.show()
    panel.auto_transcribe.setChecked(False)
    await until(lambda: panel.devices is not None, 60)
    # The provider's client is made before timing: building its TLS context costs ~80 ms on
    # the loop thread once per provider (the client pool's start-up cost, not this panel's).
    await ctx.clients.get("local")
    heart = Heartbeat()
    heart.start()
    panel.on_record_clicked()
    await until(lambda: panel.recording_state == "recording", 60)
    readings_at, started = panel.meter.readings, time.perf_counter()
    if not os.environ.get("BENCH_NO_UPLOAD"):
        panel.set_file(big)
        panel.on_transcribe_clicked()
    await asyncio.sleep(LIVE_SECONDS)
    wall = time.perf_counter() - started
    readings = panel.meter.readings - readings_at
    await panel.stop_recording()
    await until(lambda: not panel.transcribing, 120)
    stall = heart.stop()
    uploaded = "dominant frequency 330 Hz" in panel.transcript.toPlainText()
    await panel.shutdown()
    await ctx.close()
    figures = {
        "meter_fps": round(readings / wall, 1),
        "meter_paints_per_s": round(panel.meter.paints / wall, 1),
        "max_stall_ms": round(stall, 1),
        "stall_cpu_ms": round(heart.worst_cpu, 1),
        "upload_mb": round(big.stat().st_size / 1e6, 1),
        "upload_ok": uploaded,
    }
    print(
        f"recording {LIVE_SECONDS:.0f} s while uploading {figures['upload_mb']} MB "
        f"(transcribed: {uploaded}): meter {figures['meter_fps']} readings/s, "
        f"{figures['meter_paints_per_s']} paints/s; longest Qt-thread stall "
        f"{figures['max_stall_ms']} ms (its own CPU {figures['stall_cpu_ms']} ms)"
    )
    return figures


async def main() -> dict[str, float]:
    server, base_url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            figures = await record_ten_minutes(root)
            figures.update(await record_while_uploading(root, base_url))
    finally:
        server.kill()
        server.wait()
    return figures


if __name__ == "__main__":
    app = QApplication([])
    with asyncio.Runner(loop_factory=loop_factory) as runner:  # closing it stops the loop's threads
        result = runner.run(main())
    print(json.dumps(result))
