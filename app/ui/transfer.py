"""File ▸ Import / Export: non-modal file dialogs, work on the store's threads, one message.

Imports run in one transaction (a bad file imports nothing); exports are a lossless zip
(all history, files included) or Markdown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from app.store import ImportFormatError, ImportReport, Store, StoreWriteError
from app.ui.tasks import TaskOwner


def describe_import(report: ImportReport) -> str:
    """One sentence: what came in, and what was skipped and why."""
    parts = [
        f"Imported {report.conversations} conversation{'s' if report.conversations != 1 else ''} ({report.messages} messages)"
    ]
    if report.prompts:
        parts.append(f"{report.prompts} saved prompt{'s' if report.prompts != 1 else ''}")
    if report.duplicates:
        parts.append(f"{report.duplicates} already here")
    skipped = report.skipped_conversations + report.skipped_messages + report.skipped_parts
    if skipped:
        parts.append(
            f"skipped {report.skipped_conversations} conversations, {report.skipped_messages} messages "
            f"and {report.skipped_parts} parts it could not read"
        )
    return "; ".join(parts) + "."


class Transfer:
    """Owns the dialogs and tasks of import/export for one window."""

    def __init__(
        self,
        parent: QWidget,
        store: Store,
        tasks: TaskOwner,
        say: Callable[[str], None],
        imported: Callable[[], None],
    ) -> None:
        self.parent = parent
        self.store = store
        self.tasks = tasks
        self.say = say
        self.imported = imported

    def _dialog(
        self, title: str, name: str, *, save: bool, filters: list[str], default: str = ""
    ) -> QFileDialog:
        dialog = QFileDialog(self.parent, title)
        dialog.setObjectName(name)
        dialog.setAcceptMode(
            QFileDialog.AcceptMode.AcceptSave if save else QFileDialog.AcceptMode.AcceptOpen
        )
        dialog.setFileMode(
            QFileDialog.FileMode.AnyFile if save else QFileDialog.FileMode.ExistingFile
        )
        dialog.setNameFilters(filters)
        if default:
            dialog.selectFile(default)
        return dialog

    def ask_import(self) -> None:
        dialog = self._dialog(
            "Import history", "importDialog", save=False,
            filters=["Chats (*.zip *.json)", "All files (*)"],
        )  # fmt: skip
        dialog.fileSelected.connect(lambda path: self.import_file(Path(path)))
        dialog.open()

    def import_file(self, path: Path) -> None:
        async def run() -> None:
            self.say(f"Importing {path.name}…")
            try:
                report = await self.store.import_file(path)
            except ImportFormatError as exc:
                self.say(f"Nothing was imported: {exc}")
                return
            except StoreWriteError as exc:
                self.say(f"Nothing was imported: the history could not be saved ({exc}).")
                return
            self.say(describe_import(report))
            self.imported()

        self.tasks.start("import", run())

    def ask_export_all(self) -> None:
        default = f"palaver-export-{dt.date.today().isoformat()}.zip"
        dialog = self._dialog(
            "Export all history",
            "exportDialog",
            save=True,
            filters=["Palaver export (*.zip)"],
            default=default,
        )
        dialog.fileSelected.connect(lambda path: self.export_all(Path(path)))
        dialog.open()

    def export_all(self, dest: Path) -> None:
        async def run() -> None:
            try:
                written = await self.store.export_json(dest)
            except (OSError, StoreWriteError) as exc:
                self.say(f"The export could not be written: {exc}")
                return
            self.say(f"Exported all history to {written}.")

        self.tasks.start("export", run())

    def ask_export_markdown(self, conversation_id: int) -> None:
        title = self.store.get_conversation(conversation_id).title or "conversation"
        safe = (
            "".join(c if c.isalnum() or c in " -_" else "_" for c in title).strip()[:60]
            or "conversation"
        )
        dialog = self._dialog(
            "Export as Markdown",
            "exportMarkdownDialog",
            save=True,
            filters=["Markdown (*.md)"],
            default=f"{safe}.md",
        )
        dialog.fileSelected.connect(lambda path: self.export_markdown(conversation_id, Path(path)))
        dialog.open()

    def export_markdown(self, conversation_id: int, dest: Path) -> None:
        try:
            dest.write_text(self.store.export_markdown(conversation_id), encoding="utf-8")
        except OSError as exc:
            self.say(f"The Markdown file could not be written: {exc.strerror or exc}")
            return
        self.say(f"Saved {dest.name}.")
