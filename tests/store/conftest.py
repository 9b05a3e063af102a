"""Fixtures for store tests: a real store in a temp data directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.store import Store

DATA = Path(__file__).parent / "data"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "data", stream_interval=0.05, daily_backup=False)
    try:
        yield opened
    finally:
        await opened.close()
