"""Pieces the UI benchmarks share: the test server as a separate, lower-priority process
(it stands in for a remote provider and must not take the UI thread's core), and a
heartbeat timer that measures the Qt thread's longest stall."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.openai_server", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.nice(10),  # a remote provider does not share our cores
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the test server did not start")


class Heartbeat:
    """A 5 ms timer on the Qt thread; the longest gap between ticks is the worst stall."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self.beat)
        self.last = self.cpu = 0.0
        self.worst = self.worst_cpu = 0.0
        self.beats = 0
        self.over_50 = 0

    def start(self) -> None:
        self.last, self.cpu = time.perf_counter(), time.thread_time()
        self.worst = self.worst_cpu = 0.0
        self.beats = self.over_50 = 0
        self.timer.start()

    def beat(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gap = (now - self.last) * 1000
        if gap > self.worst:
            # The Qt thread's own CPU in that gap: near the gap means our work, far below
            # it means the thread was waiting (other processes on the cores, the GIL).
            self.worst, self.worst_cpu = gap, (cpu - self.cpu) * 1000
        self.over_50 += gap >= 50
        self.last, self.cpu = now, cpu
        self.beats += 1

    def stop(self) -> float:
        self.timer.stop()
        return self.worst
