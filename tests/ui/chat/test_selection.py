"""Selecting text in the conversation view with the mouse, within and across messages."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from app.ui.chat.message_view import ConversationView
from app.ui.chat.messages import DisplayMessage, Role

FIRST = "First message with some words here."
SECOND = "Second message text.\n\nAnother paragraph after it."


def _point_in(view: ConversationView, message_id: int, dx: int, dy: int = 6) -> QPoint:
    """A viewport point ``dx`` px into the first line of a message's first part."""
    index = view._index[message_id]
    _part, origin, _k = view._part_origins(index)[0]
    return QPoint(origin.x() + dx, origin.y() + dy - view.verticalScrollBar().value())


def _drag(qtbot: QtBot, view: ConversationView, start: QPoint, end: QPoint) -> None:
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    for t in (0.25, 0.5, 0.75, 1.0):
        qtbot.mouseMove(vp, start + (end - start) * t)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)


def test_a_drag_across_two_messages_copies_both_parts(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages(
        [DisplayMessage(1, Role.USER, FIRST), DisplayMessage(2, Role.ASSISTANT, SECOND)]
    )
    view.grab()
    _drag(qtbot, view, _point_in(view, 1, 60), _point_in(view, 2, 60))
    assert view._has_selection()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    copied = QGuiApplication.clipboard().text()
    tail_of_first, _, head_of_second = copied.partition("\n\n")
    assert tail_of_first and FIRST.endswith(tail_of_first) and tail_of_first != FIRST
    assert head_of_second and SECOND.startswith(head_of_second) and head_of_second != SECOND
    view.grab()  # paints with the selection highlighted (must not fail)


def test_a_click_clears_the_selection_and_ctrl_c_copies_the_message(
    qtbot: QtBot, view: ConversationView
) -> None:
    view.set_messages([DisplayMessage(3, Role.ASSISTANT, SECOND)])
    view.grab()
    _drag(qtbot, view, _point_in(view, 3, 5), _point_in(view, 3, 80))
    assert view._has_selection()
    point = _point_in(view, 3, 40)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert not view._has_selection()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == SECOND
