"""Starting the app: the no-display message, portable data dir, smoke test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _run(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _env_without_display() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(key, None)
    return env


def test_no_display_gives_a_clear_message() -> None:
    result = _run([], _env_without_display())
    assert result.returncode == 2
    assert "xvfb-run" in result.stderr
    assert "display" in result.stderr.lower()


def test_smoke_test_exits_zero_and_keeps_state_in_data_dir(data_dir: Path) -> None:
    env = {**_env_without_display(), "QT_QPA_PLATFORM": "offscreen"}
    result = _run(["--smoke-test", "--data-dir", str(data_dir)], env)
    assert result.returncode == 0, result.stderr
    assert "shut down cleanly" in result.stderr
    assert (data_dir / "logs" / "palaver.log").is_file()
    assert (data_dir / "config").is_dir()
