"""The right side of the providers dialog: the editor, the empty state when there is no
provider yet, and the bar that confirms removing one."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.dialogs.common import named, note, object_named
from app.ui.dialogs.provider_editor import ProviderEditor


class EditorPane(QWidget):
    """Widgets and layout only; the dialog connects and drives them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("providerEditorPane")
        self.editor = ProviderEditor()
        self.empty_label = note(
            "No provider yet. Use \u201cAdd provider\u201d to pick a known service, a local server, "
            "or any OpenAI-compatible URL.",
            "providersEmptyLabel",
        )
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_add_button = named(
            QPushButton("Choose a provider…"), "emptyAddProviderButton", "Choose a provider to add"
        )
        self.empty_page = object_named(QWidget(), "providersEmptyPage")
        empty_layout = QVBoxLayout(self.empty_page)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.empty_label)
        empty_layout.addWidget(self.empty_add_button, 0, Qt.AlignmentFlag.AlignHCenter)
        empty_layout.addStretch(1)
        self.pages = object_named(QStackedWidget(), "providerPages")
        self.pages.addWidget(self.empty_page)
        self.pages.addWidget(self.editor)

        self.confirm_bar = object_named(QFrame(), "removeConfirmBar")
        self.confirm_bar.setFrameShape(QFrame.Shape.StyledPanel)
        confirm_layout = QHBoxLayout(self.confirm_bar)
        confirm_layout.setContentsMargins(8, 4, 8, 4)
        self.confirm_label = object_named(QLabel(), "removeConfirmLabel")
        self.confirm_remove_button = named(
            QPushButton("Remove"), "confirmRemoveButton", "Confirm removing the provider"
        )
        self.cancel_remove_button = named(
            QPushButton("Keep"), "cancelRemoveButton", "Keep the provider"
        )
        confirm_layout.addWidget(self.confirm_label, 1)
        confirm_layout.addWidget(self.confirm_remove_button)
        confirm_layout.addWidget(self.cancel_remove_button)
        self.confirm_bar.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.confirm_bar)
