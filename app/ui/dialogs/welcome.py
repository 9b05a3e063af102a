"""First run with no provider: a short welcome that leads to the providers dialog.

It offers what Palaver finds by itself (``app.core.discovery``): the ``OPENAI_API_KEY`` /
``OPENAI_BASE_URL`` environment variables and local servers on their usual ports, one
click to add each. The rest of the app (history, settings) keeps working meanwhile::

    welcome = WelcomePanel(registry, presets)
    welcome.providers_requested.connect(open_providers_dialog)
    welcome.provider_added.connect(on_provider_added)      # provider id
    welcome.start_discovery()                               # or it starts when first shown
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import log
from app.api import ProviderProfile
from app.core.discovery import Discovered, discover
from app.core.providers import ProviderRegistry
from app.ui.dialogs.common import named, note, object_named, set_tone
from app.ui.tasks import TaskOwner

_log = log.get("ui.welcome")

Discover = Callable[[], Awaitable[list[Discovered]]]


class WelcomePanel(QWidget):
    """What a user sees before any provider exists."""

    providers_requested = Signal()
    settings_requested = Signal()
    provider_added = Signal(str)
    discovery_finished = Signal(int)  # how many were found

    def __init__(
        self,
        registry: ProviderRegistry,
        presets: Sequence[ProviderProfile] | None = None,
        parent: QWidget | None = None,
        *,
        discover_fn: Discover | None = None,
    ) -> None:
        super().__init__(parent)
        self.registry = registry
        if presets is None:
            from app.ui.dialogs.providers import default_presets

            presets = default_presets()
        self.presets = list(presets)
        self._discover = discover_fn or (lambda: discover(self.presets))
        self.tasks = TaskOwner(on_error=self.on_task_failed)
        self._started = False
        self.add_buttons: dict[str, QPushButton] = {}
        named(self, "welcomePanel", "Welcome")
        self._build()
        self._connect_signals()

    def _build(self) -> None:
        title = QLabel("Welcome to Palaver")
        title.setObjectName("welcomeTitle")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        intro = note(
            "Palaver talks to any OpenAI-compatible service: the big hosted ones, smaller providers, "
            "or a model running on this computer. Add one to start chatting. Your history and "
            "settings work offline, with or without a provider.",
            "welcomeIntro",
        )
        self.add_button = named(
            QPushButton("Add a provider…"), "welcomeAddProviderButton", "Add a provider"
        )
        self.add_button.setDefault(True)
        self.settings_button = named(
            QPushButton("Settings"), "welcomeSettingsButton", "Open settings"
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.settings_button)
        buttons.addStretch(1)

        found_title = QLabel("Found on this computer")
        found_title.setObjectName("welcomeFoundTitle")
        bold = QFont(found_title.font())
        bold.setBold(True)
        found_title.setFont(bold)
        self.status_label = note("Looking for local servers and API keys…", "welcomeStatusLabel")
        self.status_label.setAccessibleName("Discovery status")
        self.found_box = object_named(QFrame(), "welcomeFoundBox")
        self.found_layout = QVBoxLayout(self.found_box)
        self.found_layout.setContentsMargins(0, 0, 0, 0)
        self.rescan_button = named(
            QPushButton("Look again"), "welcomeRescanButton", "Look again for servers"
        )
        rescan_row = QHBoxLayout()
        rescan_row.addWidget(self.rescan_button)
        rescan_row.addStretch(1)

        column = QVBoxLayout()
        column.setSpacing(12)
        column.addWidget(title)
        column.addWidget(intro)
        column.addLayout(buttons)
        column.addSpacing(12)
        column.addWidget(found_title)
        column.addWidget(self.status_label)
        column.addWidget(self.found_box)
        column.addLayout(rescan_row)
        column.addStretch(1)

        holder = object_named(QWidget(), "welcomeColumn")
        holder.setLayout(column)
        holder.setMaximumWidth(640)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(24, 24, 24, 24)
        outer.addStretch(1)
        outer.addWidget(holder, 4)
        outer.addStretch(1)

    def _connect_signals(self) -> None:
        self.add_button.clicked.connect(self.providers_requested)
        self.settings_button.clicked.connect(self.settings_requested)
        self.rescan_button.clicked.connect(self.on_rescan_clicked)

    # -- public ------------------------------------------------------------------------

    def start_discovery(self) -> None:
        """Look for environment keys and local servers (replaces a search under way)."""
        self._started = True
        self.rescan_button.setEnabled(False)
        self.status_label.setText("Looking for local servers and API keys…")
        set_tone(self.status_label, "plain")
        self.tasks.start("discover", self._run_discovery())

    # -- slots ---------------------------------------------------------------------------

    def on_rescan_clicked(self) -> None:
        self.start_discovery()

    def on_add_clicked(self, found: Discovered) -> None:
        profile = self.registry.add(found.profile)
        button = self.add_buttons.get(found.profile.id)
        if button is not None:
            button.setText("Added")
            button.setEnabled(False)
        self.status_label.setText(f"Added {profile.name}. Open Providers to change it or test it.")
        set_tone(self.status_label, "ok")
        self.provider_added.emit(profile.id)

    def on_task_failed(self, error: BaseException) -> None:
        _log.warning("discovery failed", exc_info=error)
        self.rescan_button.setEnabled(True)
        self.status_label.setText("Looking around failed; you can still add a provider by hand.")
        set_tone(self.status_label, "warning")

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._started:
            self.start_discovery()

    def hideEvent(self, event: QHideEvent) -> None:
        if self.tasks.running("discover"):
            self.tasks.cancel("discover")
            self._started = False  # look again when shown next
            self.rescan_button.setEnabled(True)
        super().hideEvent(event)

    # -- internals ------------------------------------------------------------------------

    async def _run_discovery(self) -> None:
        found = await self._discover()
        self._show_found(found)
        self.rescan_button.setEnabled(True)
        self.discovery_finished.emit(len(found))

    def _show_found(self, found: list[Discovered]) -> None:
        while self.found_layout.count():
            item = self.found_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.add_buttons.clear()
        if not found:
            self.status_label.setText(
                "Nothing found: no OPENAI_API_KEY in the environment and no local server "
                "(Ollama, LM Studio, llama.cpp, vLLM) answering on its usual port."
            )
            set_tone(self.status_label, "plain")
            return
        self.status_label.setText("One click adds it; you can edit it later under Providers.")
        set_tone(self.status_label, "plain")
        for entry in found:
            self.found_layout.addWidget(self._row(entry))

    def _row(self, entry: Discovered) -> QWidget:
        row = object_named(QFrame(), f"welcomeFound_{entry.profile.id}")
        row.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(row)
        text = note(entry.description, f"welcomeFoundLabel_{entry.profile.id}")
        text.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        button = named(
            QPushButton("Add"),
            f"welcomeAdd_{entry.profile.id}",
            f"Add {entry.profile.name}",
            entry.profile.base_url,
        )
        existing = self.registry.find_by_base_url(entry.profile.base_url)
        if existing is not None:
            button.setText("Already added")
            button.setEnabled(False)
        button.clicked.connect(lambda _=False, e=entry: self.on_add_clicked(e))
        self.add_buttons[entry.profile.id] = button
        layout.addWidget(text, 1)
        layout.addWidget(button)
        return row
