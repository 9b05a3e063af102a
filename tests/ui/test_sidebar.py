"""The history sidebar: grouping, selection, debounced search, snippets."""

from __future__ import annotations

import datetime as dt
import time

from PySide6.QtCore import Qt

from app.store import Conversation, SearchHit
from app.ui.sidebar import HistorySidebar, grouped

DAY = 86400.0


def _conv(
    id: int, title: str, age_days: float, pinned: bool = False, archived: bool = False
) -> Conversation:
    ts = time.time() - age_days * DAY
    return Conversation(
        id, f"u{id}", title, ts, ts, pinned, archived, None, None, "", {}, None, [], None
    )


def test_grouping_puts_pinned_first_and_hides_archived() -> None:
    today = dt.date.today()
    groups = grouped(
        [
            _conv(1, "old", 40),
            _conv(2, "now", 0),
            _conv(3, "pin", 100, pinned=True),
            _conv(4, "gone", 0, archived=True),
            _conv(5, "y", 1),
            _conv(6, "w", 3),
        ],
        today,
    )
    labels = [label for label, _ in groups]
    assert labels[:4] == ["Pinned", "Today", "Yesterday", "Previous 7 days"]
    assert [c.title for _, items in groups for c in items][:4] == ["pin", "now", "y", "w"]
    assert all(c.title != "gone" for _, items in groups for c in items)


def test_click_selects_conversation(qtbot) -> None:  # type: ignore[no-untyped-def]
    sidebar = HistorySidebar()
    qtbot.addWidget(sidebar)
    sidebar.show()
    sidebar.set_conversations([_conv(7, "Hello", 0)])
    index = sidebar.model.index(1, 0)  # row 0 is the "Today" header
    assert index.data() == "Hello"
    rect = sidebar.tree.visualRect(index)
    with qtbot.waitSignal(sidebar.conversation_selected) as selected:
        qtbot.mouseClick(sidebar.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert selected.args == [7]


def test_search_is_debounced_and_shows_snippets(qtbot) -> None:  # type: ignore[no-untyped-def]
    sidebar = HistorySidebar()
    qtbot.addWidget(sidebar)
    sidebar.show()
    queries: list[str] = []
    sidebar.search_changed.connect(queries.append)
    qtbot.keyClicks(sidebar.search, "quick")
    qtbot.waitUntil(lambda: queries == ["quick"], timeout=2000)
    hit = SearchHit(
        "message",
        11,
        7,
        "Fox <b>facts</b>",
        (("the ", False), ("quick", True), (" <fox>", False)),
        -1.0,
        time.time(),
        "assistant",
        "gpt-test",
    )
    sidebar.set_search_results([hit])
    assert sidebar.stack.currentWidget() is sidebar.results
    rich = sidebar.results_model.item(0).data(Qt.ItemDataRole.UserRole + 3)
    assert (
        "<b>quick</b>" in rich and "&lt;fox&gt;" in rich and "Fox &lt;b&gt;facts&lt;/b&gt;" in rich
    )
    with qtbot.waitSignal(sidebar.hit_activated) as activated:
        sidebar.on_result_clicked(sidebar.results_model.index(0, 0))
    assert activated.args == [7, 11]
    sidebar.search.clear()
    assert sidebar.stack.currentWidget() is sidebar.empty_label


def test_image_hit_asks_for_its_panel(qtbot) -> None:  # type: ignore[no-untyped-def]
    sidebar = HistorySidebar()
    qtbot.addWidget(sidebar)
    hit = SearchHit("image", 42, None, "A red fox", (("red", True),), -1.0, time.time())
    sidebar.set_search_results([hit])
    with qtbot.waitSignal(sidebar.item_activated) as activated:
        sidebar.on_result_clicked(sidebar.results_model.index(0, 0))
    assert activated.args == ["image", 42]


def test_scrolling_near_the_end_asks_for_more_once_and_keeps_the_position(qtbot) -> None:  # type: ignore[no-untyped-def]
    sidebar = HistorySidebar()
    qtbot.addWidget(sidebar)
    sidebar.resize(260, 300)
    sidebar.show()
    page = [_conv(i, f"Chat {i}", i / 100) for i in range(1, 101)]
    sidebar.set_conversations(page, may_have_more=True)
    bar = sidebar.tree.verticalScrollBar()
    assert bar.maximum() > 0
    asked: list[bool] = []
    sidebar.more_requested.connect(lambda: asked.append(True))
    bar.setValue(bar.maximum() // 4)  # far from the end: nothing asked
    assert asked == []
    bar.setValue(bar.maximum())
    bar.setValue(bar.maximum() - 1)
    assert asked == [True]  # once, until the next page arrives
    position = bar.value()
    more = page + [_conv(i, f"Chat {i}", i / 100) for i in range(101, 151)]
    sidebar.set_conversations(more, may_have_more=False)
    assert bar.value() == position  # the list grew below; the view did not jump
    bar.setValue(bar.maximum())
    assert asked == [True]  # the end of the history: nothing more to ask for
    assert sidebar.model.rowCount() > 150
