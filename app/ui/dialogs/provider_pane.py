"""The right side of the providers dialog: the editor, the empty state when there is no
provider yet, and the bar that confirms removing one."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.api import ProviderProfile
from app.ui.dialogs.common import named, note, object_named
from app.ui.dialogs.provider_editor import ProviderEditor

NEW_ID = ""  # the list row id of a custom provider that is not saved yet


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


def add_menu(parent: QWidget, presets: Sequence[ProviderProfile]) -> QMenu:
    """The Add provider menu: presets by kind (hosted, local, others), then a custom URL."""
    menu = QMenu(parent)
    menu.setObjectName("addProviderMenu")
    menu.setAccessibleName("Add provider")
    groups = (("hosted", "Hosted services"), ("local", "Local servers"), ("custom", "Others"))
    for kind, title in groups:
        members = [p for p in presets if p.kind == kind]
        if not members:
            continue
        menu.addSection(title)
        for preset in members:
            action = menu.addAction(preset.name)
            action.setObjectName(f"addPreset_{preset.id}")
            action.setData(preset.id)
    menu.addSeparator()
    custom = menu.addAction("Custom OpenAI-compatible URL…")
    custom.setObjectName("addCustomProvider")
    custom.setData(NEW_ID)
    return menu
