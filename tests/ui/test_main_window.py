"""The main window opens with its panels, all findable by objectName."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QTabWidget

from app.paths import AppPaths
from app.ui.main_window import PANELS, MainWindow


def test_window_has_every_panel(qtbot, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(AppPaths.from_root(data_dir).ensure())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    tabs = window.findChild(QTabWidget, "panelTabs")
    assert tabs is not None
    assert [tabs.tabText(i) for i in range(tabs.count())] == [title for _, title, _ in PANELS]
    for key, _, _ in PANELS:
        assert window.findChild(object, f"{key}Panel") is not None
