"""File ▸ Import / Export through the window, with real files and a real store."""

from __future__ import annotations

from pathlib import Path

from app.paths import AppPaths
from app.ui.main_window import MainWindow
from tests.helpers.app_context import open_context
from tests.helpers.waiting import until

CHATGPT = Path(__file__).resolve().parents[1] / "store" / "data" / "chatgpt-conversations.json"


async def test_import_chatgpt_export_then_export_all(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx = await open_context(AppPaths.from_root(tmp_path / "a"))
    messages: list[str] = []
    try:
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.statusBar().messageChanged.connect(
            lambda text: messages.append(text) if text else None
        )
        window.transfer.import_file(CHATGPT)
        await until(lambda: any(m.startswith("Imported") for m in messages))
        assert window.sidebar.model.rowCount() > 1  # a group header and the imported chats
        window.transfer.import_file(tmp_path / "missing.json")
        await until(lambda: any(m.startswith("Nothing was imported") for m in messages))
        dest = tmp_path / "all.zip"
        window.transfer.export_all(dest)
        await until(lambda: any(m.startswith("Exported all history") for m in messages))
        conversation_id = ctx.store.list_conversations()[0].id
        markdown = tmp_path / "one.md"
        window.transfer.export_markdown(conversation_id, markdown)
        assert markdown.read_text(encoding="utf-8").startswith("#")
        await window.shutdown()
    finally:
        await ctx.close()
    other = await open_context(AppPaths.from_root(tmp_path / "b"))
    try:
        report = await other.store.import_file(dest)
        assert report.conversations == len(other.store.list_conversations()) > 0
    finally:
        await other.close()
