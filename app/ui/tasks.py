"""Owned, cancellable async work for widgets.

Each panel has one :class:`TaskOwner`. It starts named tasks (a new task under a name
cancels the old one), cancels everything on close, and routes failures to one error
callback so no exception is lost in the event loop. When the error callback belongs to a
widget, the widget's destruction cancels its tasks: work never outlives its widget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject

from app import log

_log = log.get("ui.tasks")


class TaskOwner:
    def __init__(self, on_error: Callable[[BaseException], None] | None = None) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._on_error = on_error
        owner = getattr(on_error, "__self__", None)
        if isinstance(owner, QObject):
            owner.destroyed.connect(self.cancel_all)

    def start(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as the task called ``name``, cancelling any earlier one of that name."""
        self.cancel(name)
        task = asyncio.get_event_loop().create_task(coro, name=name)
        self._tasks[name] = task
        task.add_done_callback(lambda t, n=name: self._on_done(n, t))  # type: ignore[misc]
        return task

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    def cancel(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None and not task.done():
            task.cancel()

    def cancel_all(self) -> None:
        for name in list(self._tasks):
            self.cancel(name)

    async def wait_all(self, seconds: float = 2.0) -> None:
        """Cancel every task and wait (bounded) until they have finished unwinding."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        self.cancel_all()
        if tasks:
            await asyncio.wait(tasks, timeout=seconds)

    def _on_done(self, name: str, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(name) is task:
            del self._tasks[name]
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            return
        if self._on_error is not None:
            try:
                self._on_error(error)
                return
            except RuntimeError:  # the widget that would show it is gone
                pass
        _log.error("task %s failed", name, exc_info=error)
