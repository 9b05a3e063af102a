"""Python's cyclic garbage collection, run only on the Qt thread.

Left automatic, the collector runs on whichever thread happens to allocate: a keyring,
store, audio or server thread can then free a cycle holding Qt objects, destroying them
off the GUI thread and crashing Qt. So the automatic collector is off, and a timer on the
Qt thread collects whenever the allocation counts pass the usual thresholds (as Anki does).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 1000


class GarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> None:
        counts = gc.get_count()
        if counts[0] > self.threshold[0]:
            # Collect the youngest generation that needs it, and the older ones it implies.
            generation = (
                2 if counts[2] > self.threshold[2] else 1 if counts[1] > self.threshold[1] else 0
            )
            gc.collect(generation)

    def stop(self) -> None:
        self.timer.stop()
        gc.collect()
        gc.enable()
