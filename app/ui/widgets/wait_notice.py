"""The countdown shown where an answer will appear while its request waits to be tried again
(a Retry-After, a backoff, a queued compare column): how long is left and why, "Retry now"
to go at once, and Stop to give the answer up."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.api import Waiting
from app.ui.dialogs.common import named

_TICK_MS = 250  # smooth enough for a seconds counter, idle otherwise (stops when hidden)


def countdown_words(waiting: Waiting) -> str:
    """``Waiting 42 s: rate limited (429)`` with the seconds still left, rounded up."""
    left = waiting.left()
    seconds = int(left) + (left % 1 > 0)
    return f"Waiting {seconds} s: {waiting.reason}"


class WaitNotice(QFrame):
    """Hidden until :meth:`show_wait`; hides itself when the wait is over."""

    stop_requested = Signal()
    ended = Signal()  # a wait that was shown is over (the words about it no longer hold)

    def __init__(self, name: str = "waitNotice", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, name, "Waiting before trying again")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = named(QLabel(), f"{name}Label", "How long until the next try")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.retry_button = named(
            QPushButton("Retry now"), f"{name}RetryButton", "Retry now", "Try again at once"
        )
        self.stop_button = named(
            QPushButton("Stop"), f"{name}StopButton", "Stop waiting", "Give this answer up"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 4, 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.retry_button)
        layout.addWidget(self.stop_button)
        self._waiting: Waiting | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(_TICK_MS)
        self._timer.timeout.connect(self._tick)
        self.retry_button.clicked.connect(self.on_retry_clicked)
        self.stop_button.clicked.connect(self.on_stop_clicked)
        self.hide()

    @property
    def waiting(self) -> Waiting | None:
        return self._waiting

    def show_wait(self, waiting: Waiting) -> None:
        self._waiting = waiting
        self.show()
        self._tick()
        self._timer.start()

    def end(self) -> None:
        """The wait is over (the request went, or the answer ended)."""
        was_waiting, self._waiting = self._waiting is not None, None
        self._timer.stop()
        self.hide()
        if was_waiting:
            self.ended.emit()

    def on_retry_clicked(self) -> None:
        if self._waiting is not None:
            self._waiting.skip()
        self.end()

    def on_stop_clicked(self) -> None:
        self.end()
        self.stop_requested.emit()

    def _tick(self) -> None:
        waiting = self._waiting
        if waiting is None or waiting.left() <= 0:
            self.end()
            return
        text = countdown_words(waiting)
        self.label.setText(text)
        self.setAccessibleDescription(text)
