"""A clearly marked frame for a panel that has not been built yet."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class ComingPanel(QWidget):
    def __init__(self, key: str, title: str, blurb: str) -> None:
        super().__init__()
        self.setObjectName(f"{key}Panel")
        self.setAccessibleName(f"{title} panel")
        layout = QVBoxLayout(self)
        heading = QLabel(f"<h2>{title}</h2><p>{blurb}</p><p><i>Coming soon.</i></p>")
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        heading.setWordWrap(True)
        layout.addWidget(heading)
