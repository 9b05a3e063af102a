"""Shared fixtures: offscreen Qt, a qasync loop for async tests, a throwaway data dir."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.helpers.fixtures", "tests.helpers.audio_env"]

# Tests never need a real display unless marked xvfb (those set DISPLAY themselves).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _uses_qt(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return "qtbot" in names or "qapp" in names


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], object]]:
    """Async tests that use Qt run on the app's own qasync loop; the rest on asyncio's."""
    if _uses_qt(item):
        from app.ui.loop import loop_factory

        return {"qasync": loop_factory}
    import asyncio

    return {"asyncio": asyncio.new_event_loop}


@pytest.fixture(autouse=True)
def collect_garbage_on_the_main_thread() -> Iterator[None]:
    """Python's cycle collector runs on whichever thread allocates past a threshold: on a
    keyring, store or server thread it can free Qt objects of an earlier test there and
    crash the GUI thread later (seen: a segfault in ``QTimerInfoList::activateTimers``).
    The app collects on the Qt thread only (``app.ui.collector``); tests do the same:
    automatic collection is off during a test and garbage is collected after it, here."""
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
def keep_running_when_a_window_closes(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test's widget is often its only window: closing it must not quit the event loop
    the test runs on (in the app, quitting is the ordered shutdown's job). Only Qt tests
    (those using ``qtbot`` or ``qapp``) load Qt: the engine's tests run without it."""
    if not _uses_qt(request.node):
        yield
        return
    from PySide6.QtGui import QGuiApplication

    before = QGuiApplication.quitOnLastWindowClosed()
    QGuiApplication.setQuitOnLastWindowClosed(False)
    try:
        yield
    finally:
        QGuiApplication.setQuitOnLastWindowClosed(before)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A portable profile root for one test (the ``--data-dir`` of the app)."""
    root = tmp_path / "profile"
    root.mkdir()
    return root
