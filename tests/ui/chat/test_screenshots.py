"""Screenshots of the conversation view for humans (light and dark), saved to a folder.

Set ``PALAVER_SCREENSHOTS=/some/dir`` to keep them; otherwise they go to pytest's tmp dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage, QPalette
from pytestqt.qtbot import QtBot

from app.ui.chat.message_view import ConversationView

from .sample import sample_conversation

ROOT = Path(__file__).resolve().parents[3]


def dark_palette() -> QPalette:
    pal = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#1f2227"),
        (QPalette.ColorRole.Base, "#16181c"),
        (QPalette.ColorRole.AlternateBase, "#24272d"),
        (QPalette.ColorRole.Text, "#e6edf3"),
        (QPalette.ColorRole.WindowText, "#e6edf3"),
        (QPalette.ColorRole.Button, "#2a2e35"),
        (QPalette.ColorRole.ButtonText, "#e6edf3"),
        (QPalette.ColorRole.PlaceholderText, "#8d96a0"),
        (QPalette.ColorRole.Highlight, "#2f81f7"),
    ):
        pal.setColor(role, QColor(colour))
    return pal


def out_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PALAVER_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def mean_lightness(image: QImage) -> float:
    small = image.scaled(32, 32)
    values = [small.pixelColor(x, y).lightness() for x in range(32) for y in range(32)]
    return sum(values) / len(values)


def shoot(qtbot: QtBot, folder: Path, name: str, palette: QPalette | None) -> QImage:
    view = ConversationView()
    qtbot.addWidget(view)
    if palette is not None:
        view.setPalette(palette)
    view.resize(900, 1400)
    view.show()
    qtbot.waitExposed(view)
    view.set_messages(sample_conversation())
    view.start_stream(8)
    view.append_delta(8, " fly.\n\n```bash\necho 'streaming code box'\n")
    view.toggle_tool_call(4, 0)
    qtbot.waitUntil(lambda: "streaming code" in view.message(8).text, timeout=2000)  # type: ignore[union-attr]
    view.select_row(1)
    view.verticalScrollBar().setValue(0)
    full = view.grab().toImage()
    full.save(str(folder / f"conversation-{name}.png"))
    view.scroll_to_bottom()
    view.resize(420, 700)  # narrow: wrapping of code, tables and the footer
    qtbot.wait(20)
    narrow = view.grab().toImage()
    narrow.save(str(folder / f"conversation-{name}-narrow.png"))
    return full


def test_screenshots_light_and_dark(qtbot: QtBot, tmp_path: Path) -> None:
    folder = out_dir(tmp_path)
    light = shoot(qtbot, folder, "light", None)
    dark = shoot(qtbot, folder, "dark", dark_palette())
    for name in ("light", "dark", "light-narrow", "dark-narrow"):
        assert (folder / f"conversation-{name}.png").stat().st_size > 10_000
    assert mean_lightness(dark) < mean_lightness(light) - 60


SCRIPT = """
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
sys.path.insert(0, {root!r})
from app.ui.chat.message_view import ConversationView
from tests.ui.chat.sample import sample_conversation
view = ConversationView()
view.resize(900, 1200)
view.show()
view.set_messages(sample_conversation())
for _ in range(20):
    app.processEvents()
view.grab().save({out!r})
print(app.platformName())
"""


@pytest.mark.xvfb
def test_screenshot_under_xvfb(tmp_path: Path) -> None:
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed")
    out = out_dir(tmp_path) / "conversation-xvfb.png"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    done = subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1280x1024x24",
            sys.executable,
            "-c",
            SCRIPT.format(root=str(ROOT), out=str(out)),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("xcb")
    assert out.stat().st_size > 10_000
