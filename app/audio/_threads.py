"""Running blocking device work off the event loop without leaking what it opens."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def open_in_thread(opener: Callable[[], T], closer: Callable[[T], None]) -> T:
    """``opener()`` on a worker thread; if the caller is cancelled meanwhile, whatever it
    opened is handed to ``closer`` (also off the loop) instead of being leaked."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, opener)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:

        def close_late(done: asyncio.Future[T]) -> None:
            if not done.cancelled() and done.exception() is None:
                loop.run_in_executor(None, closer, done.result())

        future.add_done_callback(close_late)
        raise


def post(loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: object) -> None:
    """Hand ``callback(*args)`` to ``loop`` from another thread; dropped if the loop closed."""
    # A closed loop means the app is shutting down and nobody listens any more.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)
