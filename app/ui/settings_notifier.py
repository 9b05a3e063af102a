"""The Qt face of the settings store: :class:`SettingsNotifier` re-emits
:class:`app.settings.SettingsStore` changes as a signal, so widgets react without the core
knowing about Qt::

    notifier = SettingsNotifier(store, parent=window)
    notifier.changed.connect(window.on_settings_changed)   # (Settings, frozenset[str])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal

from app.settings import Settings, SettingsStore


class SettingsNotifier(QObject):
    """Emits ``changed(settings, changed_fields)`` after every store update."""

    changed = Signal(object, object)

    def __init__(self, store: SettingsStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._unsubscribe: Callable[[], None] | None = None
        self.attach()

    def attach(self) -> None:
        """Listen to the store (again); does nothing when already listening."""
        if self._unsubscribe is None:
            self._unsubscribe = self._store.subscribe(self._on_store_changed)

    def _on_store_changed(self, settings: Settings, changed: frozenset[str]) -> None:
        if not shiboken6.isValid(self):
            # The Qt side is gone (its parent was deleted): stop listening for good.
            self.detach()
            return
        self.changed.emit(settings, changed)

    def detach(self, *_: Any) -> None:
        """Stop listening (also done when the notifier is destroyed)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
