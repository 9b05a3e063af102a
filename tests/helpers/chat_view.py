"""Drive a conversation view's rows as a user does: select a row, click its action bar."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QToolButton
from pytestqt.qtbot import QtBot

from app.ui.chat.message_view import ConversationView


def hover(qtbot: QtBot, view: ConversationView, message_id: int) -> None:
    """Make ``message_id`` the current row so its action bar shows (as hovering does)."""
    index = view.message_ids().index(message_id)
    view.select_row(index)
    qtbot.wait(10)


def button(view: ConversationView, name: str) -> QToolButton:
    found = view.findChild(QToolButton, name)
    assert found is not None, name
    return found


def click_action(qtbot: QtBot, view: ConversationView, message_id: int, name: str) -> None:
    """Click the action bar's ``name`` button (e.g. ``regenerateButton``) on a message."""
    hover(qtbot, view, message_id)
    found = button(view, name)
    assert found.isVisible(), f"{name} is not offered on message {message_id}"
    qtbot.mouseClick(found, Qt.MouseButton.LeftButton)


def click_anchor(qtbot: QtBot, view: ConversationView, message_id: int, prefix: str) -> None:
    """Click the first anchor of ``message_id`` whose href starts with ``prefix``."""
    rects = [r for href, r in view.anchor_rects(message_id) if href.startswith(prefix)]
    assert rects, f"no {prefix} anchor in {message_id}: {view.anchor_rects(message_id)}"
    centre = rects[0].center() + QPoint(1, 0)
    qtbot.mouseMove(view.viewport(), centre)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
