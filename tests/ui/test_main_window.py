"""The main window opens with its panels, all findable by objectName; others build lazily."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QTabWidget

from app.paths import AppPaths
from app.ui.main_window import LAZY_PANELS, PANEL_TITLES, MainWindow
from tests.helpers.app_context import open_context


async def test_window_has_every_panel(qtbot, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    ctx = await open_context(AppPaths.from_root(data_dir))
    try:
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.show()
        tabs = window.findChild(QTabWidget, "panelTabs")
        assert tabs is not None
        assert tuple(tabs.tabText(i) for i in range(tabs.count())) == PANEL_TITLES
        for name in (
            "chatPanel",
            "composerInput",
            "sendButton",
            "messageList",
            "sidebarSearch",
            "newChatButton",
        ):
            assert window.findChild(object, name) is not None, name
        # Other panels are built when their tab is first shown.
        for index, (key, _title) in enumerate(LAZY_PANELS, start=1):
            tabs.setCurrentIndex(index)
            assert key in window._panels
            assert window._panels[key].isVisible()
        await window.shutdown()
    finally:
        await ctx.close()


def test_start_up_imports_no_other_panel() -> None:
    import subprocess

    code = (
        "import sys\n"
        "import app.ui.main_window\n"
        "heavy = [m for m in sys.modules if m.startswith(('app.ui.panels.compare', 'app.ui.panels.images', "
        "'app.ui.panels.usage', 'app.ui.panels.speech', 'app.ui.panels.transcribe', 'PySide6.QtCharts'))]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
