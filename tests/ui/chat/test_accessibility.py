"""The painted rows through Qt's accessibility API: a list of messages, live while streaming."""

from __future__ import annotations

from PySide6.QtGui import QAccessible
from pytestqt.qtbot import QtBot

from app.ui.chat.message_view import ConversationView
from app.ui.chat.messages import Attached, DisplayMessage, Role, Status

Text = QAccessible.Text


def _messages() -> list[DisplayMessage]:
    return [
        DisplayMessage(1, Role.USER, "What is a monad?", attachments=(Attached("notes.md"),)),
        DisplayMessage(
            2,
            Role.ASSISTANT,
            "A **monoid** in the category",
            model="gpt-x",
            branch_index=1,
            branch_count=3,
        ),
        DisplayMessage(3, Role.USER, "And a functor?"),
        DisplayMessage(
            4, Role.ASSISTANT, "", model="gpt-x", status=Status.ERROR, error="Out of credits."
        ),
    ]


def test_each_message_is_an_accessible_list_item(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages(_messages())
    view.grab()
    iface = QAccessible.queryAccessibleInterface(view)
    assert iface.role() == QAccessible.Role.List and iface.childCount() == 4
    items = [iface.child(i) for i in range(4)]
    assert [i.role() for i in items] == [QAccessible.Role.ListItem] * 4
    assert [i.text(Text.Name) for i in items] == ["You", "gpt-x", "You", "gpt-x"]
    assert items[1].text(Text.Value) == "A **monoid** in the category"
    assert items[1].text(Text.Description) == "Message 2 of 4, version 2 of 3"
    assert "attached: notes.md" in items[0].text(Text.Description)
    assert "failed" in items[3].text(Text.Description) and "Out of credits." in items[3].text(
        Text.Value
    )
    assert all(iface.indexOfChild(item) == n for n, item in enumerate(items))
    assert items[0].parent().object() is view
    assert not items[3].rect().isEmpty()  # where it is on screen, for magnifiers
    view.select_row(1)
    assert items[1].state().selected and not items[0].state().selected


def test_a_streaming_answer_is_read_as_it_grows(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages(_messages()[:1])
    view.append_message(
        DisplayMessage(9, Role.ASSISTANT, "", model="gpt-x", status=Status.STREAMING)
    )
    view.start_stream(9)
    item = QAccessible.queryAccessibleInterface(view).child(1)
    assert "streaming" in item.text(Text.Description) and item.state().busy
    view.append_delta(9, "Hello there")
    qtbot.waitUntil(lambda: item.text(Text.Value) == "Hello there", timeout=2000)
    view.finish_stream(9, DisplayMessage(9, Role.ASSISTANT, "Hello there.", model="gpt-x"))
    assert item.text(Text.Value) == "Hello there." and not item.state().busy


def test_rows_that_leave_take_their_items_with_them(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages(_messages())
    iface = QAccessible.queryAccessibleInterface(view)
    last = iface.child(3)
    assert last.isValid()
    view.keep_until(2)
    assert iface.childCount() == 2 and not last.isValid()
