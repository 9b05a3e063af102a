"""The main window opens with its panels, all findable by objectName."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QTabWidget

from app.paths import AppPaths
from app.ui.main_window import PANEL_TITLES, MainWindow
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
        await window.shutdown()
    finally:
        await ctx.close()
