"""The job strip: one provider job's action, cancel, busy bar, elapsed time and status.

Speech, transcription and images each run one job at a time (synthesise, transcribe,
generate). The strip owns that job: it starts the coroutine through the panel's
:class:`TaskOwner`, shows it busy until it ends, cancels it, and says how it went. Every
failure is worded by :func:`app.ui.errors.failure_text`, so a panel writes no
``try/except`` of its own and no ``on_task_failed``.

A panel keeps its own layout: the strip's parts (``action``, ``cancel``, ``progress``,
``status``) are public widgets it may place where it likes; :meth:`buttons_row` lays out
the usual pair.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton

from app import log
from app.api import ProviderProfile
from app.ui.dialogs.common import named, note, set_tone
from app.ui.errors import failure_text
from app.ui.tasks import TaskOwner

_log = log.get("ui.job")
T = TypeVar("T")


@dataclass(frozen=True)
class JobNames:
    """Object names (tests, automation) and words for one panel's strip."""

    prefix: str  # e.g. "speech": speechStatus, speechProgress
    noun: str  # e.g. "Speech": "Speech status", "Speech progress"
    action: str  # the button's label, e.g. "Synthesize"
    busy: str  # the button's label while running, e.g. "Synthesizing…"
    action_name: str  # objectName of the button
    action_accessible: str
    cancel_name: str
    cancel_accessible: str
    cancelled: str  # what the status says after Cancel
    shortcut_tip: str = "Ctrl+Enter"


class JobStrip(QObject):
    """One job at a time: ``run`` it, ``cancel`` it, ``say`` how it goes."""

    busy_changed = Signal(bool)
    status_changed = Signal(str)  # errors and outcomes worth the status bar

    def __init__(self, tasks: TaskOwner, names: JobNames, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.names = names
        self.action = named(
            QPushButton(names.action), names.action_name, names.action_accessible,
            names.shortcut_tip,
        )  # fmt: skip
        self.action.setDefault(True)
        self.cancel = named(QPushButton("Cancel"), names.cancel_name, names.cancel_accessible)
        self.cancel.setEnabled(False)
        self.cancel.hide()
        self.progress = named(QProgressBar(), f"{names.prefix}Progress", f"{names.noun} progress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress.hide()
        self.status: QLabel = note("", f"{names.prefix}Status")
        self.status.setAccessibleName(f"{names.noun} status")
        self.busy = False
        self._phase = ""
        self._clock = QElapsedTimer()
        self._tick = QTimer(self, interval=100)
        self._tick.timeout.connect(self._show_elapsed)
        self.cancel.clicked.connect(self.on_cancel_clicked)

    def buttons_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(self.action, 1)
        row.addWidget(self.cancel)
        return row

    # --- the job ----------------------------------------------------------------------------
    def run(
        self,
        coro: Coroutine[Any, Any, T],
        on_success: Callable[[T], None],
        *,
        timed: bool = False,
    ) -> None:
        """Start ``coro`` as the job; ``on_success`` gets its result; a failure is shown in
        the status. ``timed`` shows the seconds elapsed next to the phase."""
        self._set_busy(True)
        if timed:
            self._clock.start()
            self._tick.start()
            self._show_elapsed()
        self.tasks.run("job", self._owned(coro), on_success, self.show_error)

    async def _owned(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return await coro
        finally:
            self._set_busy(False)

    def on_cancel_clicked(self) -> None:
        if not self.busy:
            return
        self.tasks.cancel("job")
        self._set_busy(False)
        self.say(self.names.cancelled, "warning")

    def elapsed(self) -> float:
        """Seconds since a timed job started."""
        return self._clock.elapsed() / 1000 if self._clock.isValid() else 0.0

    # --- what it says -------------------------------------------------------------------------
    def phase(self, text: str) -> None:
        """A step of the running job ("Uploading…"); timed jobs add the seconds."""
        self._phase = text
        if self._tick.isActive():
            self._show_elapsed()
        else:
            self.say(text)

    def say(self, text: str, tone: str = "plain") -> None:
        self.status.setText(text)
        set_tone(self.status, tone)
        if tone in ("error", "warning", "ok"):
            self.status_changed.emit(text)

    def show_error(self, error: BaseException) -> None:
        """The one way a failed job is shown: logged, worded, and the strip idle again."""
        if getattr(error, "user_message", None) is None:
            _log.error("%s failed", self.names.prefix, exc_info=error)
        self._set_busy(False)
        self.say(failure_text(error), "error")

    # --- state ----------------------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        if not busy:
            self._tick.stop()
        if busy == self.busy:
            return
        self.busy = busy
        self.progress.setRange(0, 0 if busy else 1)
        self.progress.setVisible(busy)
        self.cancel.setEnabled(busy)
        self.cancel.setVisible(busy)
        self.action.setText(self.names.busy if busy else self.names.action)
        self.busy_changed.emit(busy)

    def _show_elapsed(self) -> None:
        self.status.setText(f"{self._phase}  {self.elapsed():.1f} s")
        set_tone(self.status, "plain")


def fill_providers(
    combo: QComboBox, providers: Sequence[ProviderProfile], wanted: str | None
) -> None:
    """Fill a job's provider choice (name shown, id as data), keeping ``wanted`` selected
    when it is still offered; no change signal fires while filling."""
    combo.blockSignals(True)
    combo.clear()
    for profile in providers:
        combo.addItem(profile.name, profile.id)
    combo.setCurrentIndex(max(0, combo.findData(wanted)))
    combo.blockSignals(False)
