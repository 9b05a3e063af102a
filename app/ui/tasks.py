"""Owned, cancellable async work for widgets.

Each panel has one :class:`TaskOwner`. It starts named tasks (a new task under a name
cancels the old one), cancels everything on close, and routes failures to one error
callback so no exception is lost in the event loop. When the error callback belongs to a
widget, the widget's destruction cancels its tasks: work never outlives its widget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject

from app import log

_log = log.get("ui.tasks")
T = TypeVar("T")


class TaskOwner:
    def __init__(self, on_error: Callable[[BaseException], None] | None = None) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._handlers: dict[
            str,
            tuple[
                asyncio.Task[Any],
                Callable[[Any], None] | None,
                Callable[[BaseException], None] | None,
            ],
        ] = {}
        self._on_error = on_error
        owner = getattr(on_error, "__self__", None)
        if isinstance(owner, QObject):
            owner.destroyed.connect(self.cancel_all)

    def start(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as the task called ``name``, cancelling any earlier one of that name."""
        self.cancel(name)
        self._handlers.pop(name, None)
        task = asyncio.get_event_loop().create_task(coro, name=name)
        self._tasks[name] = task
        task.add_done_callback(lambda t, n=name: self._on_done(n, t))  # type: ignore[misc]
        return task

    def run(
        self,
        name: str,
        coro: Coroutine[Any, Any, T],
        on_success: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> asyncio.Task[T]:
        """Like :meth:`start`, with handlers (Anki's ``QueryOp`` shape): ``on_success`` gets
        the result on the Qt thread, a failure goes to ``on_error`` (default: the owner's
        error callback); a cancelled task calls neither."""
        task = self.start(name, coro)
        if on_success is not None or on_error is not None:
            self._handlers[name] = (task, on_success, on_error)
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
        handlers = self._handlers.get(name)
        on_success, on_error = None, self._on_error
        if handlers is not None and handlers[0] is task:
            del self._handlers[name]
            on_success, on_error = handlers[1], handlers[2] or self._on_error
        if task.cancelled():
            return
        error = task.exception()
        try:
            if error is None:
                if on_success is not None:
                    on_success(task.result())
                return
            if on_error is not None:
                on_error(error)
                return
        except RuntimeError as exc:  # the widget that would show it is gone
            _log.debug("task %s finished after its widget: %s", name, exc)
            if error is None:
                return
        _log.error("task %s failed", name, exc_info=error)
