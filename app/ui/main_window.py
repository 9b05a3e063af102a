"""The main window: history sidebar, the panels, and the status bar."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QStatusBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME, log
from app.paths import AppPaths
from app.ui.panels.placeholder import ComingPanel
from app.ui.tasks import TaskOwner

_log = log.get("ui.window")

PANELS = (
    ("chat", "Chat", "Streamed conversations with any OpenAI-compatible model."),
    ("compare", "Compare", "Several models answering one prompt side by side."),
    ("images", "Images", "Generate, browse and keep images."),
    ("speech", "Speech", "Text-to-speech with playback."),
    ("transcribe", "Transcribe", "Microphone recording and file transcription."),
    ("usage", "Usage", "Cost, tokens, credits and rate limits."),
)


class MainWindow(QMainWindow):
    """Top-level window. Owns the panels; services are handed in, never reached for."""

    closed = Signal()

    def __init__(self, paths: AppPaths) -> None:
        super().__init__()
        self.paths = paths
        self.tasks = TaskOwner()
        self._shut_down = False
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_NAME)
        self.resize(1200, 780)
        self.setMinimumSize(720, 480)

        self.sidebar = self._build_sidebar()
        self.tabs = QTabWidget(objectName="panelTabs")
        self.tabs.setAccessibleName("Panels")
        self.tabs.setDocumentMode(True)
        for key, title, blurb in PANELS:
            self.tabs.addTab(ComingPanel(key, title, blurb), title)

        splitter = QSplitter(Qt.Orientation.Horizontal, objectName="mainSplitter")
        splitter.addWidget(self.sidebar)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 940])
        self.setCentralWidget(splitter)

        status = QStatusBar(objectName="statusBar")
        self.connection_label = QLabel("No provider configured", objectName="connectionLabel")
        status.addWidget(self.connection_label)
        self.setStatusBar(status)

    def _build_sidebar(self) -> QWidget:
        sidebar = QWidget(objectName="historySidebar")
        layout = QVBoxLayout(sidebar)
        layout.setContentsMargins(8, 8, 8, 8)
        search = QLineEdit(objectName="sidebarSearch", placeholderText="Search history (Ctrl+K)")
        search.setAccessibleName("Search history")
        layout.addWidget(search)
        empty = QLabel("No conversations yet.", objectName="sidebarEmpty")
        empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty.setEnabled(False)
        layout.addWidget(empty, 1)
        return sidebar

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()

    async def shutdown(self) -> None:
        """Ordered, once-only: cancel tasks, then close what the window owns."""
        if self._shut_down:
            return
        self._shut_down = True
        await self.tasks.wait_all()
        _log.info("shut down cleanly")
