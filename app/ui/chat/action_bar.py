"""The hover bar of real buttons over the hovered (or keyboard-current) message."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from app.ui.chat.messages import DisplayMessage, Role, Status


class ActionBar(QFrame):
    """Real buttons over the hovered (or keyboard-current) row."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("messageActions")
        self.setAccessibleName("Message actions")
        self.setAutoFillBackground(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.message_id: int | None = None  # the row it is over
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.setSpacing(0)

        def button(name: str, text: str, accessible: str) -> QToolButton:
            b = QToolButton(self)
            b.setObjectName(name)
            b.setText(text)
            b.setToolTip(accessible)
            b.setAccessibleName(accessible)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            layout.addWidget(b)
            return b

        self.branch_prev = button("branchPrevButton", "‹", "Previous version")
        self.branch_label = QLabel(self)
        self.branch_label.setObjectName("branchLabel")
        self.branch_label.setAccessibleName("Version")
        layout.addWidget(self.branch_label)
        self.branch_next = button("branchNextButton", "›", "Next version")
        self.copy = button("copyMessageButton", "Copy", "Copy message")
        self.read_aloud = button("readAloudButton", "Read aloud", "Read message aloud")
        self.edit = button("editMessageButton", "Edit", "Edit and resend")
        self.regenerate = button("regenerateButton", "Regenerate", "Regenerate answer")
        self.retry = button("retryButton", "Retry", "Retry")
        self.delete = button("deleteMessageButton", "Delete", "Delete message")

    def configure(self, msg: DisplayMessage) -> None:
        self.message_id = msg.id
        branches = msg.branch_count > 1
        for w in (self.branch_prev, self.branch_label, self.branch_next):
            w.setVisible(branches)
        self.branch_label.setText(f"{msg.branch_index + 1}/{msg.branch_count}")
        self.branch_prev.setEnabled(msg.branch_index > 0)
        self.branch_next.setEnabled(msg.branch_index < msg.branch_count - 1)
        self.edit.setVisible(msg.role is Role.USER)
        self.regenerate.setVisible(
            msg.role is Role.ASSISTANT and msg.status is not Status.STREAMING
        )
        self.retry.setVisible(msg.status in (Status.ERROR, Status.INTERRUPTED))
        self.adjustSize()
