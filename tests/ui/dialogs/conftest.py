"""Shared by the dialog tests: garbage collected on the GUI thread, an in-memory keyring.

Why the collection: Python's cycle collector runs on whichever thread allocates when a
threshold is crossed. Left to itself it may run on the keyring worker or the test server's
thread and free Qt objects of an earlier test there, which crashes the GUI thread later
(seen as a segfault in ``QTimerInfoList::activateTimers``). So automatic collection is
paused during each test and garbage is collected here, on the GUI thread, after it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import keyring
import pytest

from tests.core.test_keys import MemoryKeyring


@pytest.fixture(autouse=True)
def collect_garbage_on_the_gui_thread() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


@pytest.fixture(autouse=True)
def keep_running_when_a_dialog_closes() -> Iterator[None]:
    """A test's dialog is often its only window: closing it must not quit the event loop
    the test runs on (in the app, the main window stays open)."""
    from PySide6.QtGui import QGuiApplication

    before = QGuiApplication.quitOnLastWindowClosed()
    QGuiApplication.setQuitOnLastWindowClosed(False)
    try:
        yield
    finally:
        QGuiApplication.setQuitOnLastWindowClosed(before)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Install an in-memory backend as keyring's active one; restore the old one after."""
    old = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(old)
