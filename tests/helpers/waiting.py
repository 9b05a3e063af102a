"""Waiting in async Qt tests: poll a condition on the running loop (qtbot.waitUntil can
hang teardown inside coroutines under qasync)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(
    condition: Callable[[], bool], seconds: float = 10.0, interval: float = 0.02
) -> None:
    """Return once ``condition()`` is true; raise TimeoutError after ``seconds``."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the condition is widget state, not an event
            await asyncio.sleep(interval)
