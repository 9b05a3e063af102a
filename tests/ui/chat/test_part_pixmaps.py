"""Finished parts are blitted from pixmaps; the streaming block is drawn afresh."""

from __future__ import annotations

from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from app.ui.chat.message_view import ConversationView
from app.ui.chat.messages import DisplayMessage, Role, Status

ANSWER = "Euler:\n\n$$e^{i\\pi} + 1 = 0$$\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nDone."


def _frame(view: ConversationView) -> QImage:
    return view.viewport().grab().toImage()


def test_a_finished_answer_looks_the_same_from_the_cache(
    qtbot: QtBot, view: ConversationView
) -> None:
    view.set_messages(
        [
            DisplayMessage(1, Role.USER, "Show me **Euler**"),
            DisplayMessage(2, Role.ASSISTANT, ANSWER, model="m"),
        ]
    )
    drawn = _frame(view)  # first paint: drawn directly
    assert len(view._pixmaps) == 0
    second = _frame(view)  # unchanged: now kept as pixmaps
    assert len(view._pixmaps) > 0
    assert _frame(view) == drawn == second


def test_the_streaming_block_is_never_cached(qtbot: QtBot, view: ConversationView) -> None:
    view.append_message(DisplayMessage(7, Role.ASSISTANT, "", model="m", status=Status.STREAMING))
    view.start_stream(7)
    for word in ["One ", "two ", "three ", "four"]:
        view.append_delta(7, word)
        view.flush_pending()
        _frame(view)
    assert len(view._pixmaps) == 0  # its only block changed on every frame
    view.append_delta(7, "\n\nA second paragraph")
    view.flush_pending()
    _frame(view)
    _frame(view)
    assert len(view._pixmaps) == 1  # the finished first paragraph; not the streaming one


def test_a_theme_change_redraws_rather_than_blits(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages([DisplayMessage(1, Role.ASSISTANT, ANSWER, model="m")])
    _frame(view)
    light = _frame(view)
    pal = view.palette()
    pal.setColor(pal.ColorRole.Base, pal.color(pal.ColorRole.Text))
    pal.setColor(pal.ColorRole.Text, light.pixelColor(1, 1))
    view.setPalette(pal)
    assert _frame(view) != light
