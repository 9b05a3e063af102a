"""Guard against PySide6 6.12.0's lost reference to None on every void Qt call.

On Python 3.11 that bug aborts the process (``none_dealloc``) after tens of thousands of
calls; a streaming UI hits it within seconds. See pyproject's pin.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QTimer


def test_void_qt_calls_keep_none_refcount(qapp: object) -> None:
    obj = QObject()
    timer = QTimer()
    before = sys.getrefcount(None)
    for i in range(100_000):
        obj.setObjectName("x")
        timer.setInterval(i % 100)
    after = sys.getrefcount(None)
    # A healthy build stays within noise; the broken one falls by ~200,000.
    assert after - before > -1000, f"None refcount fell by {before - after}"
