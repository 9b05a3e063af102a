"""The demo wiring runs end to end (it is also the integrator's example)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_opens_every_screen_and_exits(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    shots = tmp_path / "shots"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.ui.dialogs.demo",
            "--data-dir",
            str(tmp_path / "profile"),
            "--screenshots",
            str(shots),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    for name in ("welcome.png", "providers.png", "settings.png"):
        assert (shots / name).stat().st_size > 5_000, name
