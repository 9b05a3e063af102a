"""One answer column: title, live figures, the streamed answer, and its own buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.api import Waiting
from app.core.compare import ColumnFigures, ColumnStatus
from app.ui.chat.message_view import ConversationView
from app.ui.dialogs.common import named
from app.ui.stream_presenter import NO_ROW, StreamPresenter
from app.ui.widgets.wait_notice import WaitNotice

_STATUS_WORDS = {
    ColumnStatus.PENDING: "Starting…",
    ColumnStatus.WAITING: "Waiting for the rate limit…",
    ColumnStatus.STREAMING: "Streaming…",
    ColumnStatus.COMPLETE: "Done",
    ColumnStatus.STOPPED: "Stopped",
    ColumnStatus.INTERRUPTED: "Interrupted",
    ColumnStatus.ERROR: "Failed",
}


def figures_text(f: ColumnFigures) -> str:
    """``TTFT 0.21 s · ≈312 tok · 498 tok/s · $0.0012 · 4.1 s``."""
    approx = "≈" if f.estimated else ""
    parts = [f"TTFT {f.ttft_s:.2f} s" if f.ttft_s is not None else "TTFT –"]
    parts.append(f"{approx}{f.tokens:,} tok")
    parts.append(f"{f.tokens_per_s:.0f} tok/s" if f.tokens_per_s is not None else "– tok/s")
    if f.cost is not None:
        parts.append(f"{approx}${f.cost:.4f}" if f.cost < 1 else f"${f.cost:.2f}")
    else:
        parts.append("$ –")
    parts.append(f"{f.elapsed_s:.1f} s" if f.elapsed_s is not None else "– s")
    return " · ".join(parts)


class ColumnWidget(QFrame):
    """Signals carry the column's index in the run (not its place on screen)."""

    stop_clicked = Signal(int)
    retry_clicked = Signal(int)
    best_clicked = Signal(int)
    continue_clicked = Signal(int)

    def __init__(self, index: int, slot: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(260)

        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status = QLabel()
        self.figures = QLabel()
        self.figures.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        small = self.figures.font()
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.9))
        self.figures.setFont(small)
        self.status.setFont(small)
        self.view = ConversationView()
        self.presenter = StreamPresenter(self.view, single=True)
        """Maps the column's events onto its view (one answer shown at a time)."""
        for name in ("deleteMessageButton", "readAloudButton"):  # no meaning in a column
            hidden = self.view.findChild(QToolButton, name)
            if hidden is not None:
                hidden.hide()

        def button(text: str, tip: str) -> QToolButton:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            return b

        self.stop_button = button("Stop", "Stop this answer")
        self.retry_button = button("Retry", "Ask this model again")
        self.best_button = button("★ Best", "Vote this answer the best")
        self.continue_button = button("Continue…", "Continue as a conversation with this model")

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title, 1)
        head.addWidget(self.status)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(2)
        for b in (self.stop_button, self.retry_button, self.best_button, self.continue_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self.figures)
        layout.addWidget(self.view, 1)
        self.wait_notice = WaitNotice("columnWait")
        layout.addWidget(self.wait_notice)
        layout.addLayout(buttons)
        self._connect_signals()
        self.assign(index, slot)

    @property
    def message_id(self) -> int | None:
        """The store id of the answer on show (None: none, or a failure without a row)."""
        ids = self.view.message_ids()
        return ids[0] if ids and ids[0] != NO_ROW else None

    def assign(self, index: int, slot: int) -> None:
        """Ready for column ``index`` of a new run, on screen at ``slot`` (names follow the
        letter users see, so tests and screen readers find "column B")."""
        self.index = index
        self.presenter.reset()
        letter = chr(ord("A") + slot)
        named(self, f"compareColumn{letter}", f"Answer column {letter}")
        named(self.title, f"columnTitle{letter}", f"Model of column {letter}")
        named(self.status, f"columnStatus{letter}", f"Status of column {letter}")
        named(self.figures, f"columnFigures{letter}", f"Figures of column {letter}")
        notice = self.wait_notice
        named(notice, f"columnWait{letter}", f"Waiting before trying again (column {letter})")
        named(notice.retry_button, f"columnWaitRetryButton{letter}", f"Retry now (column {letter})")
        named(
            notice.stop_button, f"columnWaitStopButton{letter}", f"Stop waiting (column {letter})"
        )
        named(self.view, f"columnView{letter}", f"Answer {letter}")
        for b, name, accessible in (
            (self.stop_button, "columnStopButton", "Stop this answer"),
            (self.retry_button, "columnRetryButton", "Ask this model again"),
            (self.best_button, "columnBestButton", "Vote this answer the best"),
            (self.continue_button, "columnContinueButton", "Continue with this model"),
        ):
            named(b, f"{name}{letter}", f"{accessible} (column {letter})")
        self.view.set_messages([])
        self.set_title("")
        self.figures.clear()
        self.set_state(ColumnStatus.PENDING, voting=False)

    def _connect_signals(self) -> None:
        self.stop_button.clicked.connect(lambda: self.stop_clicked.emit(self.index))
        self.retry_button.clicked.connect(lambda: self.retry_clicked.emit(self.index))
        self.wait_notice.stop_requested.connect(lambda: self.stop_clicked.emit(self.index))
        self.best_button.clicked.connect(lambda: self.best_clicked.emit(self.index))
        self.continue_button.clicked.connect(lambda: self.continue_clicked.emit(self.index))
        self.view.retry_requested.connect(lambda _id: self.retry_clicked.emit(self.index))
        self.view.regenerate_requested.connect(lambda _id: self.retry_clicked.emit(self.index))

    def set_title(self, text: str, *, winner: bool = False) -> None:
        self.title.setText(f"★ {text}" if winner else text)
        self.title.setToolTip(text)
        self.setProperty("winner", winner)
        self.setStyleSheet(
            "ColumnWidget { border: 2px solid palette(highlight); }" if winner else ""
        )

    def set_state(
        self, status: ColumnStatus, *, voting: bool, waiting: Waiting | None = None
    ) -> None:
        word = _STATUS_WORDS[status]
        if status is ColumnStatus.WAITING and waiting is not None:
            word = "Waiting…"  # the countdown shows under the answer
            self.wait_notice.show_wait(waiting)
        else:
            self.wait_notice.end()
        self.status.setText(word)
        active = status.active
        self.stop_button.setEnabled(active)
        self.retry_button.setEnabled(not active)
        self.retry_button.setVisible(
            status in (ColumnStatus.ERROR, ColumnStatus.INTERRUPTED, ColumnStatus.STOPPED)
        )
        shown = self.view.message(self.message_id) if self.message_id else None
        has_text = shown is not None and bool(shown.text)
        self.best_button.setEnabled(voting and not active and has_text)
        self.continue_button.setEnabled(not active and has_text)

    def set_figures(self, figures: ColumnFigures) -> None:
        text = figures_text(figures)
        self.figures.setText(text)
        self.figures.setToolTip(text.replace(" · ", "\n"))  # whole, should the column be narrow
