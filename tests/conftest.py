"""Shared fixtures: offscreen Qt, a qasync loop for async tests, a throwaway data dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

pytest_plugins = ["tests.helpers.fixtures", "tests.helpers.audio_env"]

# Tests never need a real display unless marked xvfb (those set DISPLAY themselves).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], object]]:
    """Async tests that use Qt run on the app's own qasync loop; the rest on asyncio's."""
    if "qtbot" in getattr(item, "fixturenames", ()) or "qapp" in getattr(item, "fixturenames", ()):
        from app.ui.loop import loop_factory

        return {"qasync": loop_factory}
    import asyncio

    return {"asyncio": asyncio.new_event_loop}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A portable profile root for one test (the ``--data-dir`` of the app)."""
    root = tmp_path / "profile"
    root.mkdir()
    return root
