"""Screenshots of the main views in a real X server (Xvfb), for humans to look at.

Set ``PALAVER_SCREENSHOTS=/some/dir`` to keep them; otherwise they go to pytest's tmp dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.xvfb
@pytest.mark.slow
def test_main_views_under_xvfb(tmp_path: Path) -> None:
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed")
    out = Path(os.environ.get("PALAVER_SCREENSHOTS") or tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1280x800x24",
            sys.executable,
            "-m",
            "tests.e2e.screens",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "platform=xcb" in done.stdout
    names = [
        "01-welcome",
        "02-chat",
        "03-chat-parameters",
        "04-chat-error",
        "05-chat-dark",
        "06-search",
        "07-compare",
        "08-images",
        "09-speech",
        "10-transcribe",
        "11-usage",
    ]
    for name in names:
        shot = out / f"{name}.png"
        assert shot.stat().st_size > 20_000, name  # a real, non-blank window
