"""The bar above the composer while a sent message is being edited: what is happening, and
Cancel to go back to writing a new message (Esc too: the window's Esc reaches the chat
panel, which stops an answer first, else cancels the edit)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.ui.dialogs.common import named


class EditBar(QFrame):
    """Hidden until :meth:`start`; ``cancelled`` when the user gives the edit up;
    ``marked`` with the id of the message being edited (None once the edit ends), for the
    view to outline it."""

    cancelled = Signal()
    marked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "editBar", "Editing a sent message")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = named(QLabel(), "editBarLabel", "What is being edited")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.cancel_button = named(
            QPushButton("Cancel"), "cancelEditButton", "Cancel editing", "Cancel editing (Esc)"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 4, 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(self.on_cancel_clicked)
        self.message_id: int | None = None  # the sent message being edited
        self.hide()

    def start(self, message_id: int, text: str) -> None:
        self.message_id = message_id
        excerpt = " ".join(text.split())
        excerpt = excerpt if len(excerpt) <= 60 else excerpt[:59] + "…"
        self.label.setText(f"Editing “{excerpt}”: send makes a new version (the old one stays).")
        self.show()
        self.marked.emit(message_id)

    def end(self) -> None:
        """The edit is over (sent, given up, or another chat opened)."""
        if self.message_id is not None:
            self.message_id = None
            self.marked.emit(None)
        self.hide()

    def on_cancel_clicked(self) -> None:
        self.end()
        self.cancelled.emit()
