"""The compare panel driven like a user would, against the local server over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.core.chat import AnswerFinished, ChatSession, Target
from app.core.compare import ColumnSpec, ColumnStatus
from app.core.context import AppContext
from app.paths import AppPaths
from app.store import MessageStatus, NotFoundError
from app.ui.chat.messages import Status
from app.ui.panels.compare import ComparePanel
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.openai_server import OpenAIServer
from tests.helpers.waiting import until


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path))
    context.registry.add(
        local_provider(
            openai_server,
            models=["alpha?tokens=40&rate=400", "beta?tokens=60&rate=400"],
            prices={"one?tokens=5": {"input_per_m": 5.0, "output_per_m": 20.0}},
        )
    )
    yield context
    await context.close()


async def _panel(qtbot, ctx: AppContext, *models: str) -> ComparePanel:  # type: ignore[no-untyped-def]
    panel = ComparePanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1280, 800)
    panel.show()
    for model in models:
        panel.add_model(Target("local", model))
    return panel


def _finished(panel: ComparePanel) -> bool:
    c = panel.comparison
    return c is not None and not panel.busy and all(not x.status.active for x in c.columns)


async def _run(qtbot, panel: ComparePanel, prompt: str = "Compare this") -> None:  # type: ignore[no-untyped-def]
    before = panel.comparison
    panel.prompt.setPlainText(prompt)
    await until(panel.run_button.isEnabled)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.comparison is not None and panel.comparison is not before)
    await until(lambda: _finished(panel))


def _texts(panel: ComparePanel) -> list[str]:
    out = []
    for widget in panel.columns:
        shown = widget.view.message(widget.message_id) if widget.message_id else None
        out.append(shown.text if shown is not None else "")
    return out


async def test_models_stream_side_by_side_with_figures(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "alpha?tokens=300&rate=300", "beta?tokens=300&rate=300")
    assert panel.run_button.isEnabled()
    panel.prompt.setPlainText("Stream please")
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    # Both columns stream at the same time.
    await until(
        lambda: panel.comparison is not None and all(c.chunks > 5 for c in panel.comparison.columns)
    )
    assert panel.stop_all_button.isEnabled() and not panel.run_button.isEnabled()
    assert all(c.status is ColumnStatus.STREAMING for c in panel.comparison.columns)  # type: ignore[union-attr]
    await until(
        lambda: (
            "tok/s" in panel.columns[0].figures.text() and "≈" in panel.columns[0].figures.text()
        )
    )
    await until(lambda: _finished(panel))
    assert all(_texts(panel))
    assert "300 tok" in panel.columns[0].figures.text()  # the measured figure replaces the estimate
    assert panel.columns[0].title.text().startswith("alpha")
    assert panel.tie_button.isEnabled() and panel.columns[1].best_button.isEnabled()
    assert not panel.stop_all_button.isEnabled()
    kinds = ("QPushButton", "QToolButton", "QCheckBox", "QComboBox", "QLineEdit", "QPlainTextEdit",
             "QSpinBox", "QDoubleSpinBox", "QTabWidget", "QTableWidget", "QListWidget")  # fmt: skip
    for widget in panel.findChildren(QWidget):
        if widget.objectName().startswith("qt_"):  # Qt's own parts (a spin box's line edit)
            continue
        if widget.metaObject().className() in kinds:
            assert widget.objectName() and widget.accessibleName(), widget


async def test_one_failing_column_shows_error_and_retry_while_others_finish(
    qtbot, ctx: AppContext
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(
        qtbot,
        ctx,
        "good?tokens=50&rate=400",
        "broke?fault=402&times=1",
        "missing-model",
        "cut?tokens=60&fault=drop",
    )
    await _run(qtbot, panel)
    statuses = [c.status for c in panel.comparison.columns]  # type: ignore[union-attr]
    assert statuses == [
        ColumnStatus.COMPLETE,
        ColumnStatus.ERROR,
        ColumnStatus.ERROR,
        ColumnStatus.INTERRUPTED,
    ]
    failed = panel.columns[1]
    shown = failed.view.message(failed.message_id or "")
    assert shown is not None and shown.status is Status.ERROR and "credit" in shown.error.lower()
    assert failed.retry_button.isVisible() and failed.retry_button.isEnabled()
    assert _texts(panel)[0] and _texts(panel)[3]  # the partial answer of the cut stream stays
    # Retry the one column: the fault hit only once, so now it answers.
    qtbot.mouseClick(failed.retry_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.comparison.columns[1].status is ColumnStatus.COMPLETE)  # type: ignore[union-attr]
    await until(lambda: bool(_texts(panel)[1]))
    assert panel.comparison.columns[0].status is ColumnStatus.COMPLETE  # type: ignore[union-attr]


async def test_stop_one_column_then_stop_all(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(
        qtbot, ctx, "a?tokens=3000&rate=150", "b?tokens=3000&rate=150", "c?tokens=3000&rate=150"
    )
    panel.prompt.setPlainText("long")
    panel.on_run_clicked()
    await until(
        lambda: panel.comparison is not None and all(c.chunks > 3 for c in panel.comparison.columns)
    )
    qtbot.mouseClick(panel.columns[0].stop_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.comparison.columns[0].status is ColumnStatus.STOPPED)  # type: ignore[union-attr]
    assert panel.comparison.columns[1].status is ColumnStatus.STREAMING  # type: ignore[union-attr]
    qtbot.mouseClick(panel.stop_all_button, Qt.MouseButton.LeftButton)
    await until(lambda: _finished(panel))
    assert [c.status for c in panel.comparison.columns] == [ColumnStatus.STOPPED] * 3  # type: ignore[union-attr]
    assert all(_texts(panel))
    stored = ctx.store.get_message(panel.comparison.columns[2].message_id or -1)  # type: ignore[union-attr]
    assert stored.status is MessageStatus.STOPPED


async def test_blind_mode_hides_shuffles_and_reveals_on_vote(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(
        qtbot, ctx, "one?tokens=5", "two?tokens=6", "three?tokens=7", "four?tokens=8"
    )
    qtbot.mouseClick(panel.blind_check, Qt.MouseButton.LeftButton)
    assert panel.blind_check.isChecked()
    await _run(qtbot, panel, "Blind test")
    comparison = panel.comparison
    assert comparison is not None and comparison.hidden
    titles = [w.title.text() for w in panel.columns]
    assert sorted(titles) == ["Model A", "Model B", "Model C", "Model D"]
    assert not any(m in " ".join(titles) for m in ("one", "two", "three", "four"))
    footer_models = [
        panel.columns[i].view.message(panel.columns[i].message_id or "").model for i in range(4)
    ]  # type: ignore[union-attr]
    assert all(m.startswith("Model ") for m in footer_models)
    # A price would give the priced model away: no cost is shown until the reveal.
    priced = panel.columns[0]
    assert "$ –" in priced.figures.text()
    assert panel.columns[0].view.message(priced.message_id or "").usage.cost is None  # type: ignore[union-attr]
    # Screen order follows the shuffled slots (4 columns: a 2 x 2 grid).
    for column in comparison.columns:
        row, col, _, _ = panel.grid.getItemPosition(panel.grid.indexOf(panel.columns[column.index]))
        assert (row, col) == divmod(column.slot, 2)
    assert panel.reveal_button.isVisible()
    qtbot.mouseClick(panel.columns[2].best_button, Qt.MouseButton.LeftButton)
    await until(lambda: not comparison.hidden and "three" in panel.columns[2].title.text())
    assert panel.columns[2].title.text().startswith("★")
    assert "one?tokens=5" in panel.columns[0].title.text()
    assert "$0.0" in priced.figures.text()
    assert panel.columns[0].view.message(priced.message_id or "").usage.cost  # type: ignore[union-attr]
    assert not panel.reveal_button.isVisible()
    vote = ctx.store.get_comparison(comparison.run_id).vote
    assert vote is not None and vote["model"] == "local/three?tokens=7" and vote["blind"] is True


async def test_vote_updates_the_leaderboard(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "alpha?tokens=10", "beta?tokens=12")
    for winner in (1, 1, None):
        await _run(qtbot, panel)
        panel.vote(winner)
        await until(lambda: panel.comparison is not None and panel.comparison.vote is not None)
    panel.tabs.setCurrentWidget(panel.board)
    await until(lambda: panel.board.table.rowCount() == 2)
    table = panel.board.table
    rows = {table.item(r, 1).text(): [table.item(r, c).text() for c in range(7)] for r in range(2)}
    assert rows["local/beta?tokens=12"][0] == "1"  # ranked first
    assert rows["local/beta?tokens=12"][3:7] == ["3", "2", "1", "67%"]
    assert rows["local/alpha?tokens=10"][4] == "0"
    assert panel.board.speeds.rowCount() == 2  # measured speed and cost beside it
    assert "3 voted runs" in panel.board.summary.text()
    panel.board.period.setCurrentIndex(panel.board.period.findData("day"))
    await until(lambda: panel.board.table.rowCount() == 2)


async def test_continue_with_an_answer_opens_a_conversation(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "alpha?tokens=10", "beta?tokens=12")
    await _run(qtbot, panel, "Carry on")
    opened: list[int] = []
    panel.conversation_opened.connect(opened.append)
    qtbot.mouseClick(panel.columns[1].continue_button, Qt.MouseButton.LeftButton)
    await until(lambda: bool(opened))
    conversation = ctx.store.get_conversation(opened[0])
    assert conversation.model == "beta?tokens=12" and conversation.provider == "local"
    branch = ctx.store.active_branch(opened[0])
    assert [m.text for m in branch] == ["Carry on", _texts(panel)[1]]
    assert conversation.id in {c.id for c in ctx.store.list_conversations()}


async def test_reload_from_history_offline(
    qtbot, ctx: AppContext, openai_server: OpenAIServer
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "alpha?tokens=10", "beta?tokens=12", "gamma?fault=402")
    await _run(qtbot, panel, "Remember me")
    panel.vote(0)
    await until(lambda: panel.comparison is not None and panel.comparison.vote is not None)
    texts = _texts(panel)
    openai_server.stop()  # offline from here on
    fresh = await _panel(qtbot, ctx)
    # The chosen models come back in a new panel (the next start of the app).
    assert [c.target.model for c in fresh.chips] == [
        "alpha?tokens=10",
        "beta?tokens=12",
        "gamma?fault=402",
    ]
    fresh.set_models([ColumnSpec(Target("local", "other"))])
    fresh.tabs.setCurrentWidget(fresh.history)
    assert fresh.history.list.count() == 1
    assert "Remember me" in fresh.history.list.item(0).text()
    fresh.history.list.setCurrentRow(0)
    qtbot.mouseClick(fresh.history.open_button, Qt.MouseButton.LeftButton)
    assert fresh.tabs.currentIndex() == 0
    assert _texts(fresh)[:2] == texts[:2]
    assert fresh.columns[0].title.text().startswith("★ alpha")
    assert fresh.comparison is not None and fresh.comparison.columns[2].status is ColumnStatus.ERROR
    assert fresh.columns[2].retry_button.isVisible()
    assert fresh.prompt.toPlainText() == "Remember me"
    assert [c.target.model for c in fresh.chips] == [
        "alpha?tokens=10",
        "beta?tokens=12",
        "gamma?fault=402",
    ]
    # Deleting it from the history takes its hidden conversation along.
    hidden = fresh.comparison.prompt.conversation_id
    fresh.tabs.setCurrentWidget(fresh.history)
    qtbot.mouseClick(fresh.history.delete_button, Qt.MouseButton.LeftButton)
    await until(lambda: fresh.history.list.count() == 0)
    assert fresh.comparison is None and not fresh.columns
    assert ctx.store.list_comparisons() == []
    with pytest.raises(NotFoundError):
        ctx.store.get_conversation(hidden)


async def test_diff_between_two_answers(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "alpha?tokens=20", "beta?tokens=25")
    await _run(qtbot, panel)
    qtbot.mouseClick(panel.diff_button, Qt.MouseButton.LeftButton)
    assert panel.diff_dialog.isVisible()
    await until(lambda: "%" in panel.diff_dialog.similarity.text())
    assert panel.diff_dialog.view.toPlainText()
    panel.diff_dialog.close()


async def test_per_column_overrides_and_layout_modes(
    qtbot, ctx: AppContext, openai_server: OpenAIServer
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "p?tokens=3", "q?tokens=3")
    panel.chips[0].temperature.setValue(1.3)
    panel.temperature.setValue(0.4)
    panel.system_prompt.setText("Shared")
    await _run(qtbot, panel)
    bodies = {
        r.json["model"]: r.json
        for r in openai_server.requests
        if isinstance(r.json, dict) and "model" in r.json
    }
    assert bodies["p?tokens=3"]["temperature"] == 1.3 and bodies["q?tokens=3"]["temperature"] == 0.4
    panel.layout_combo.setCurrentText("Grid")
    assert panel.grid.getItemPosition(panel.grid.indexOf(panel.columns[1]))[:2] == (0, 1)
    for i in range(4):
        panel.add_model(Target("local", f"x{i}?tokens=3"))
    assert len(panel.chips) == 6 and not panel.add_model_button.isEnabled()
    assert panel.add_model(Target("local", "seventh")) is None
    panel.on_chip_remove_clicked(panel.chips[-1])
    assert len(panel.chips) == 5 and panel.add_model_button.isEnabled()
    spec = panel.chips[0].spec()
    assert spec == ColumnSpec(Target("local", "p?tokens=3"), {"temperature": 1.3}, None)


async def test_ask_another_model_shows_both_side_by_side(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    session = ChatSession(ctx.store, ctx.clients)
    events = [e async for e in session.send("Original", Target("local", "alpha?tokens=10"))]
    answer = next(e.message for e in events if isinstance(e, AnswerFinished))
    panel = await _panel(qtbot, ctx)
    panel.ask_another_model(answer.id, Target("local", "beta?tokens=12"))
    await until(lambda: panel.comparison is not None)
    await until(lambda: _finished(panel))
    assert [c.status for c in panel.comparison.columns] == [ColumnStatus.COMPLETE] * 2  # type: ignore[union-attr]
    assert _texts(panel)[0] == answer.text and _texts(panel)[1]
    assert panel.columns[1].title.text().startswith("beta")
    assert "Original" in panel.run_label.text()
    assert len(ctx.store.siblings(answer.id)) == 2  # the new answer is a branch there


async def test_attachments_are_sent_with_the_prompt(
    qtbot, ctx: AppContext, tmp_path: Path, openai_server: OpenAIServer
) -> None:  # type: ignore[no-untyped-def]
    note = tmp_path / "note.md"
    note.write_text("# Secret sauce\nketchup", encoding="utf-8")
    bad = tmp_path / "blob.bin"
    bad.write_bytes(b"\x00\x01\xff")
    panel = await _panel(qtbot, ctx, "alpha?tokens=3", "beta?tokens=3")
    panel.add_files([note, bad])
    assert [a.name for a in panel.attachments] == ["note.md"]
    assert panel.attachments_label.isVisible() and "note.md" in panel.attachments_label.text()
    await _run(qtbot, panel, "What is in the file?")
    bodies = [
        r.json for r in openai_server.requests if isinstance(r.json, dict) and "messages" in r.json
    ]
    assert len(bodies) == 2 and all("ketchup" in b["messages"][-1]["content"] for b in bodies)
    assert panel.attachments == [] and not panel.attachments_label.isVisible()


async def test_main_window_opens_a_continued_answer_in_the_chat_panel(
    qtbot, ctx: AppContext
) -> None:  # type: ignore[no-untyped-def]
    from app.ui.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    panel = window.show_panel("compare")  # built when first shown
    assert isinstance(panel, ComparePanel)
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Compare"
    panel.add_model(Target("local", "alpha?tokens=10"))
    panel.add_model(Target("local", "beta?tokens=12"))
    await _run(qtbot, panel, "Open me in chat")
    qtbot.mouseClick(panel.columns[0].continue_button, Qt.MouseButton.LeftButton)
    await until(lambda: window.tabs.currentWidget() is window.chat)
    conversation_id = window.chat.session.conversation_id
    assert conversation_id is not None
    assert ctx.store.active_branch(conversation_id)[0].text == "Open me in chat"
    await window.shutdown()


async def test_scroll_sync_on_demand(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "long?tokens=300", "longer?tokens=500")
    await _run(qtbot, panel)
    await until(lambda: all(w.view.verticalScrollBar().maximum() > 0 for w in panel.columns))
    first, second = (w.view.verticalScrollBar() for w in panel.columns)
    first.setValue(first.maximum())
    second.setValue(second.maximum() // 3)
    assert first.value() == first.maximum()  # not synchronised yet
    qtbot.mouseClick(panel.sync_check, Qt.MouseButton.LeftButton)
    first.setValue(0)
    assert second.value() == 0
    first.setValue(first.maximum() // 2)
    assert abs(second.value() - second.maximum() // 2) <= 1
    second.setValue(second.maximum())
    assert first.value() == first.maximum()
    qtbot.mouseClick(panel.sync_check, Qt.MouseButton.LeftButton)
    first.setValue(0)
    assert second.value() == second.maximum()


async def test_a_waiting_column_counts_down_and_retry_now_goes_at_once(
    qtbot, ctx: AppContext
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx, "alpha?fault=429&times=1&retry_after=30", "beta?tokens=5")
    panel.prompt.setPlainText("Wait for it")
    await until(panel.run_button.isEnabled)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    await until(lambda: panel.columns and panel.columns[0].wait_notice.isVisible(), 10)
    notice = panel.columns[0].wait_notice
    assert notice.label.text().startswith("Waiting 30 s: rate limited (429)")
    assert notice.objectName() == "columnWaitA" and "column A" in notice.accessibleName()
    qtbot.mouseClick(notice.retry_button, Qt.MouseButton.LeftButton)
    await until(lambda: _finished(panel), 10)
    assert not notice.isVisible()
    assert [c.status for c in panel.comparison.columns] == [ColumnStatus.COMPLETE] * 2  # type: ignore[union-attr]
