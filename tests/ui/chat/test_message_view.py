"""ConversationView driven as a user would: real widgets, offscreen."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui.chat.message_view import ConversationView
from app.ui.chat.messages import DisplayMessage, Role, Status, ToolCall
from tests.helpers.chat_view import button, click_anchor, hover

from .conftest import LONG_ANSWER, conversation
from .sample import LIVE


def test_identity_for_automation(view: ConversationView) -> None:
    assert view.objectName() == "messageList"
    assert view.accessibleName() == "Messages"
    for name in (
        "copyMessageButton",
        "readAloudButton",
        "editMessageButton",
        "regenerateButton",
        "retryButton",
        "deleteMessageButton",
        "branchPrevButton",
        "branchNextButton",
        "jumpToLatestButton",
    ):
        assert button(view, name).accessibleName()


def test_two_thousand_messages_open_at_the_end_lazily(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages(conversation(2000))
    view.grab()
    bar = view.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.maximum()
    assert view.is_sticking_to_bottom()
    laid_out = sum(1 for r in view._rows if r.body is not None)
    assert 0 < laid_out < 40  # only what is on screen was rendered


def test_scrolling_to_top_asks_for_older_and_prepend_keeps_position(
    qtbot: QtBot, view: ConversationView
) -> None:
    view.set_messages(conversation(200))
    view.grab()
    with qtbot.waitSignal(view.older_requested, timeout=1000):
        view.verticalScrollBar().setValue(0)
    assert not view.is_sticking_to_bottom()
    assert button(view, "jumpToLatestButton").isVisible()
    view.grab()
    first_visible = view.message_ids()[0]
    older = [DisplayMessage(10_000 + i, Role.USER, f"old {i}") for i in range(50)]
    view.prepend_messages(older)
    view.grab()
    bar = view.verticalScrollBar()
    top_row = view._heights.row_at(bar.value())
    assert view.message_ids()[top_row] == first_visible
    button(view, "jumpToLatestButton").click()
    assert view.is_sticking_to_bottom() and bar.value() == bar.maximum()


def test_stream_into_last_message_sticks_to_bottom(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages(conversation(2000))
    view.append_message(
        DisplayMessage(LIVE, Role.ASSISTANT, "", model="m", status=Status.STREAMING)
    )
    view.start_stream(LIVE)
    bar = view.verticalScrollBar()
    text = LONG_ANSWER * 3
    for i in range(0, len(text), 7):
        view.append_delta(LIVE, text[i : i + 7])
    qtbot.waitUntil(lambda: view.message(LIVE).text == text, timeout=3000)  # type: ignore[union-attr]
    view.grab()
    assert bar.value() == bar.maximum()
    # The user scrolls up: streaming goes on without pulling them down.
    bar.setValue(bar.maximum() - 400)
    assert not view.is_sticking_to_bottom()
    value = bar.value()
    view.append_delta(LIVE, "\n\nMore text arriving.\n\n" * 5)
    qtbot.waitUntil(lambda: "More text" in view.message(LIVE).text, timeout=3000)  # type: ignore[union-attr]
    assert bar.value() == value
    assert button(view, "jumpToLatestButton").isVisible()
    final = DisplayMessage(LIVE, Role.ASSISTANT, view.message(LIVE).text, model="m")  # type: ignore[union-attr]
    view.finish_stream(LIVE, final)
    row = view._rows[-1]
    assert row.stream is None and row.tail is None
    expected = view._renderer.render_text(final.text, type(row.ctx)())
    assert [p.html for p in row.body or []] == expected


def test_finish_with_deltas_still_buffered_equals_full_render(
    qtbot: QtBot, view: ConversationView
) -> None:
    view.set_messages([DisplayMessage(1, Role.ASSISTANT, "", status=Status.STREAMING)])
    view.start_stream(1)
    text = LONG_ANSWER * 2
    view.append_delta(1, text[:50])
    qtbot.waitUntil(lambda: view.message(1).text == text[:50], timeout=1000)  # type: ignore[union-attr]
    view.append_delta(1, text[50:])  # not flushed yet
    view.finish_stream(1, DisplayMessage(1, Role.ASSISTANT, text, status=Status.STOPPED))
    row = view._rows[0]
    assert [p.html for p in row.body or []] == view._renderer.render_text(text, type(row.ctx)())
    assert view.message(1).status is Status.STOPPED  # type: ignore[union-attr]


def test_deltas_are_only_buffered_until_the_frame(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages([DisplayMessage(1, Role.ASSISTANT, "", status=Status.STREAMING)])
    view.start_stream(1)
    view.append_delta(1, "hello")
    assert view.message(1).text == ""  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: view.message(1).text == "hello", timeout=1000)  # type: ignore[union-attr]


def test_action_buttons_emit_message_ids(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages(conversation(4))
    hover(qtbot, view, 1)
    for name, signal in (
        ("regenerateButton", view.regenerate_requested),
        ("readAloudButton", view.read_aloud_requested),
        ("deleteMessageButton", view.delete_requested),
    ):
        with qtbot.waitSignal(signal, timeout=500) as blocker:
            qtbot.mouseClick(button(view, name), Qt.MouseButton.LeftButton)
        assert blocker.args == [1]
    assert not button(view, "editMessageButton").isVisible()
    with qtbot.waitSignal(view.message_copied, timeout=500):
        qtbot.mouseClick(button(view, "copyMessageButton"), Qt.MouseButton.LeftButton)
    assert (
        QGuiApplication.clipboard().text() == "Answer 1."
        or "Heading" in QGuiApplication.clipboard().text()
    )
    hover(qtbot, view, 2)
    assert not button(view, "regenerateButton").isVisible()
    with qtbot.waitSignal(view.edit_requested, timeout=500) as blocker:
        qtbot.mouseClick(button(view, "editMessageButton"), Qt.MouseButton.LeftButton)
    assert blocker.args == [2]


def test_mouse_hover_shows_the_action_bar(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages(conversation(2))
    view.grab()
    bar = view.verticalScrollBar()
    top = view._heights.offset(1) - bar.value() + 30
    qtbot.mouseMove(view.viewport(), QPoint(200, top))
    qtbot.waitUntil(lambda: button(view, "copyMessageButton").isVisible(), timeout=1000)
    assert view._actions.message_id == 1


def test_branch_switcher(qtbot: QtBot, view: ConversationView) -> None:
    msg = DisplayMessage(2, Role.ASSISTANT, "Second try", branch_index=1, branch_count=3)
    view.set_messages([DisplayMessage(17, Role.USER, "hi"), msg])
    hover(qtbot, view, 2)
    label = view._actions.branch_label
    assert label.isVisible() and label.text() == "2/3"
    with qtbot.waitSignal(view.branch_requested, timeout=500) as blocker:
        qtbot.mouseClick(button(view, "branchPrevButton"), Qt.MouseButton.LeftButton)
    assert blocker.args == [2, -1]
    with qtbot.waitSignal(view.branch_requested, timeout=500) as blocker:
        qtbot.mouseClick(button(view, "branchNextButton"), Qt.MouseButton.LeftButton)
    assert blocker.args == [2, 1]
    view.update_message(DisplayMessage(2, Role.ASSISTANT, "Third", branch_index=2, branch_count=3))
    hover(qtbot, view, 2)
    assert label.text() == "3/3" and not button(view, "branchNextButton").isEnabled()
    # Keyboard path: Alt+Left on the current message.
    view.setFocus()
    with qtbot.waitSignal(view.branch_requested, timeout=500) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert blocker.args == [2, -1]


def test_error_row_keeps_partial_answer_and_retries(qtbot: QtBot, view: ConversationView) -> None:
    msg = DisplayMessage(
        5,
        Role.ASSISTANT,
        "Partial answer so far",
        status=Status.ERROR,
        error="Rate limited by the provider.",
        retry_at=datetime.now() + timedelta(seconds=30),
    )
    view.set_messages([msg])
    view.grab()
    row = view._rows[0]
    html = "".join(p.html for p in row.parts())
    assert "Partial answer so far" in html
    assert "Rate limited by the provider. You can retry in" in html
    with qtbot.waitSignal(view.retry_requested, timeout=1000) as blocker:
        click_anchor(qtbot, view, 5, "retry:")
    assert blocker.args == [5]
    hover(qtbot, view, 5)
    with qtbot.waitSignal(view.retry_requested, timeout=500):
        qtbot.mouseClick(button(view, "retryButton"), Qt.MouseButton.LeftButton)
    assert view._countdown.isActive()


def test_countdown_text_updates(qtbot: QtBot, view: ConversationView) -> None:
    msg = DisplayMessage(
        5,
        Role.ASSISTANT,
        "",
        status=Status.ERROR,
        error="Rate limited.",
        retry_at=datetime.now() + timedelta(seconds=1.5),
    )
    view.set_messages([msg])
    view.grab()
    qtbot.waitUntil(lambda: "You can retry now" in view._rows[0].extras[-1].html, timeout=4000)


def test_tool_call_block_expands(qtbot: QtBot, view: ConversationView) -> None:
    call = ToolCall("get_weather", '{"city": "Paris", "days": 3}')
    view.set_messages([DisplayMessage(20, Role.ASSISTANT, "Let me check.", tool_calls=(call,))])
    view.grab()
    assert "get_weather" in view._rows[0].extras[0].html
    assert "Paris" not in view._rows[0].extras[0].html
    height = view._heights[0]
    click_anchor(qtbot, view, 20, "tool:")
    assert (
        "Paris" in view._rows[0].extras[0].html
        and "\n  " in view._rows[0].extras[0].doc.toPlainText()
    )  # type: ignore[union-attr]
    assert view._heights[0] > height


def test_copy_code_to_clipboard(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages([DisplayMessage(3, Role.ASSISTANT, LONG_ANSWER)])
    view.grab()
    with qtbot.waitSignal(view.code_copied, timeout=1000) as blocker:
        click_anchor(qtbot, view, 3, "copy:")
    assert blocker.args == [3, 0]
    assert QGuiApplication.clipboard().text() == "print('hello')"


def test_http_link_is_emitted_not_opened(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages(
        [DisplayMessage(12, Role.ASSISTANT, "See [the docs](https://example.org/x).")]
    )
    view.grab()
    with qtbot.waitSignal(view.link_activated, timeout=1000) as blocker:
        click_anchor(qtbot, view, 12, "https:")
    assert blocker.args == [QUrl("https://example.org/x")]


def test_hostile_markdown_executes_loads_and_opens_nothing(
    qtbot: QtBot, view: ConversationView
) -> None:
    hostile = (
        "<script>alert(1)</script>\n\n"
        "<img src=http://evil.example/raw.png> "
        "[js](javascript:alert(1)) [file](file:///etc/passwd) [data](data:text/html,x)\n\n"
        "![](http://evil.example/x.png)"
    )
    view.set_messages([DisplayMessage(8, Role.ASSISTANT, hostile)])
    view.grab()
    row = view._rows[0]
    docs = [p.doc for p in row.parts()]
    assert all(d is not None for d in docs)
    plain = "\n".join(d.toPlainText() for d in docs if d is not None)
    assert "<script>alert(1)</script>" in plain  # shown as text
    assert "<img src=http://evil.example/raw.png>" in plain
    # No image in any document: nothing can be fetched by the layout.
    assert all(not re.search(r"<[^>]*\ssrc=", p.html) for p in row.parts())
    hrefs = [href for href, _ in view.anchor_rects(8)]
    assert hrefs == ["loadimg:0"]  # the only anchor is the click-to-load placeholder
    links: list[QUrl] = []
    images: list[QUrl] = []
    view.link_activated.connect(links.append)
    view.image_requested.connect(lambda _mid, url: images.append(url))
    # Click across every word of the message: inert text stays inert.
    bar = view.verticalScrollBar()
    top = view._heights.offset(0) - bar.value()
    for y in range(top, top + view._heights[0], 6):
        for x in range(20, view.viewport().width() - 20, 25):
            if "loadimg" in view._hit(QPoint(x, y))[1]:
                continue
            qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    assert links == [] and images == []
    # The placeholder asks the app (it does not fetch); bytes handed back show the image.
    click_anchor(qtbot, view, 8, "loadimg:")
    assert images == [QUrl("http://evil.example/x.png")]
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QImage

    img = QImage(40, 30, QImage.Format.Format_RGB32)
    img.fill(Qt.GlobalColor.red)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    assert view.set_image("http://evil.example/x.png", bytes(data.data()))
    view.grab()
    parts = view._rows[0].parts()
    assert any('src="image:0"' in p.html for p in parts)
    # The only image source is the resource the view added from the app's bytes.
    assert all(re.findall(r'src="([^"]*)"', p.html) in ([], ["image:0"]) for p in parts)


def test_keyboard_and_context_menu_reach_every_action(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages(conversation(4))
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Up)
    menu = view.build_context_menu(view._current_row)
    texts = [a.text() for a in menu.actions() if a.text()]
    assert {"Copy message", "Read aloud", "Delete"} <= set(texts)
    assert view.accessibleDescription() == "Message 4 of 4, test-model: Answer 3."
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.accessibleDescription() == "Message 3 of 4, You: Question number 2?"
    with qtbot.waitSignal(view.delete_requested, timeout=500):
        qtbot.keyClick(view, Qt.Key.Key_Delete)


def test_remove_and_update(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages(conversation(6))
    view.remove_message(3)
    assert 3 not in view.message_ids() and len(view.message_ids()) == 5
    view.update_message(DisplayMessage(5, Role.ASSISTANT, "Changed", status=Status.STOPPED))
    view.grab()
    assert "Changed" in view._rows[-1].body[0].html  # type: ignore[index]


def test_dark_palette_restyles(qtbot: QtBot, view: ConversationView) -> None:
    from PySide6.QtGui import QColor, QPalette

    view.set_messages([DisplayMessage(3, Role.ASSISTANT, LONG_ANSWER)])
    view.grab()
    light = "".join(p.html for p in view._rows[0].body or [])
    pal = view.palette()
    pal.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    pal.setColor(QPalette.ColorRole.Text, QColor("#eeeeee"))
    view.setPalette(pal)
    view.grab()
    assert view._renderer.theme.dark
    assert "".join(p.html for p in view._rows[0].body or []) != light
    assert any("#272822" in p.html for p in view._rows[0].body or [])


def test_resize_rewraps_only_visible_rows(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages(conversation(500))
    view.grab()
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum() // 2)
    view.grab()
    shown_before = [i for i, r in enumerate(view._rows) if r.body is not None]
    view.resize(420, 500)
    view.grab()
    width = view._body_width()
    rewrapped = [
        i for i, r in enumerate(view._rows) if r.body and all(p.width == width for p in r.body)
    ]
    assert rewrapped and len(rewrapped) < len(shown_before) + 20
    assert len(rewrapped) < 40  # not the whole conversation
    # Rows scrolled to later are re-wrapped then.
    view.verticalScrollBar().setValue(0)
    view.grab()
    assert all(p.width == width for p in view._rows[0].body or [])


def test_wheel_scrolls_smoothly_and_releases_stick(qtbot: QtBot, view: ConversationView) -> None:
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent

    view.set_messages(conversation(100))
    view.grab()
    bar = view.verticalScrollBar()
    start = bar.value()
    event = QWheelEvent(
        QPointF(100, 100),
        QPointF(100, 100),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)
    qtbot.waitUntil(lambda: bar.value() < start - 50, timeout=1000)
    assert not view.is_sticking_to_bottom()


def test_restyle_while_streaming_keeps_the_stream(qtbot: QtBot, view: ConversationView) -> None:
    from PySide6.QtGui import QColor, QPalette

    msg = DisplayMessage(19, Role.ASSISTANT, "", status=Status.STREAMING)
    view.set_messages([msg])
    view.start_stream(19)
    view.append_delta(19, "First paragraph.\n\n")
    qtbot.waitUntil(lambda: view.message(19).text.startswith("First"), timeout=1000)  # type: ignore[union-attr]
    pal = view.palette()
    pal.setColor(QPalette.ColorRole.Base, QColor("#101010"))
    view.setPalette(pal)
    view.append_delta(19, "```python\nx = 1\n```\n")
    qtbot.waitUntil(lambda: "x = 1" in view.message(19).text, timeout=1000)  # type: ignore[union-attr]
    view.grab()
    text = "First paragraph.\n\n```python\nx = 1\n```\n"
    view.finish_stream(19, DisplayMessage(19, Role.ASSISTANT, text))
    view.grab()
    row = view._rows[0]
    assert [p.html for p in row.body or []] == view._renderer.render_text(text, type(row.ctx)())
    assert msg.text == "" and msg.status is Status.STREAMING  # the app's object is untouched
    assert view.copy_code(19, 0)


def test_set_image_refuses_garbage_and_bombs(view: ConversationView) -> None:
    import struct
    import zlib

    from app.ui.chat import images

    view.set_messages([DisplayMessage(9, Role.ASSISTANT, "![x](https://img.example/a.png)")])
    assert not view.set_image("https://img.example/a.png", b"not an image")
    # A PNG header claiming 100,000 x 100,000 pixels is refused before decoding.
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    ihdr = b"IHDR" + header
    bomb = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    assert not view.set_image("https://img.example/a.png", bomb)
    assert not view.set_image("https://img.example/a.png", b"x" * (images.IMAGE_MAX_BYTES + 1))
    assert "https://img.example/a.png" not in view._images


def test_links_are_reachable_from_the_keyboard(qtbot: QtBot, view: ConversationView) -> None:
    text = "See [a](https://a.example/x?y=1&z=2), [a again](https://a.example/x?y=1&z=2), [bad](javascript:x) and <https://b.example>."
    view.set_messages([DisplayMessage(12, Role.ASSISTANT, text)])
    assert view.message_links(12) == ["https://a.example/x?y=1&z=2", "https://b.example"]
    menu = view.build_context_menu(0)
    sub = next(a.menu() for a in menu.actions() if a.menu() is not None)
    assert sub.objectName() == "openLinkMenu"
    with qtbot.waitSignal(view.link_activated, timeout=500) as blocker:
        sub.actions()[1].trigger()
    assert blocker.args == [QUrl("https://b.example")]
