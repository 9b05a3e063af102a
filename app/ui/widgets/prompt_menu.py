"""The composer's "/" menu: saved prompts and assistants, filtered as the user types."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from app.core.prompts import Prompt, matching
from app.ui.dialogs.common import named

_ROWS = 6  # visible at once; more scroll


class PromptMenu(QListWidget):
    """A list shown above the composer while its text is ``/`` and a few words.

    ``items`` returns the library's current prompts; :meth:`follow` shows or hides the list
    for the composer's text; Up/Down/Enter/Tab/Esc come from the composer (the focus stays
    in the text box); ``chosen`` carries the picked :class:`Prompt`.
    """

    chosen = Signal(object)  # Prompt

    def __init__(self, items: Callable[[], list[Prompt]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "promptMenu", "Saved prompts and assistants")
        self._items = items
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setUniformItemSizes(True)
        self.itemClicked.connect(self.on_item_clicked)
        self.hide()

    def set_source(self, items: Callable[[], list[Prompt]]) -> None:
        self._items = items

    def follow(self, text: str) -> None:
        """Show the matches for ``/words``; hide for anything else."""
        if not text.startswith("/") or "\n" in text or len(text) > 80:
            self.hide()
            return
        self.clear()
        found = matching(self._items(), text[1:])
        for prompt in found:
            kind = "Assistant" if prompt.is_assistant else "Prompt"
            preview = " ".join(prompt.body.split())[:80]
            item = QListWidgetItem(f"{prompt.name}  —  {kind}: {preview}")
            item.setData(Qt.ItemDataRole.UserRole, prompt)
            item.setToolTip(prompt.body[:500])
            self.addItem(item)
        if not found:
            empty = QListWidgetItem(
                "No saved prompt matches. Save one from the Prompts menu."
                if self._items()
                else "No saved prompts yet. Save one from the Prompts menu."
            )
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addItem(empty)
        self.setCurrentRow(0 if found else -1)
        rows = min(max(self.count(), 1), _ROWS)
        self.setFixedHeight(rows * max(self.sizeHintForRow(0), 1) + 2 * self.frameWidth())
        self.show()

    def step(self, delta: int) -> None:
        if self.count() and self.currentRow() >= 0:
            self.setCurrentRow(max(0, min(self.count() - 1, self.currentRow() + delta)))

    def choose_current(self) -> bool:
        """Pick the highlighted prompt; False when there is none."""
        item = self.currentItem()
        prompt = None if item is None else item.data(Qt.ItemDataRole.UserRole)
        if not isinstance(prompt, Prompt):
            return False
        self.hide()
        self.chosen.emit(prompt)
        return True

    def on_item_clicked(self, item: QListWidgetItem) -> None:
        self.setCurrentItem(item)
        self.choose_current()
