"""TaskOwner: replace by name, route errors, and never outlive its widget."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QWidget

from app.ui.tasks import TaskOwner
from tests.helpers.waiting import until


class Panel(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.errors: list[BaseException] = []
        self.tasks = TaskOwner(self.on_task_failed)

    def on_task_failed(self, error: BaseException) -> None:
        self.errors.append(error)


async def test_a_new_task_replaces_the_old_and_errors_are_routed(qapp) -> None:  # type: ignore[no-untyped-def]
    panel = Panel()
    first = panel.tasks.start("job", asyncio.sleep(10))
    panel.tasks.start("job", asyncio.sleep(0))
    await asyncio.sleep(0.01)
    assert first.cancelled()

    async def fail() -> None:
        raise ValueError("boom")

    panel.tasks.start("bad", fail())
    await until(lambda: bool(panel.errors))
    assert isinstance(panel.errors[0], ValueError)
    panel.deleteLater()


async def test_destroying_the_widget_cancels_its_tasks(qapp) -> None:  # type: ignore[no-untyped-def]
    panel = Panel()
    task = panel.tasks.start("long", asyncio.sleep(10))
    panel.deleteLater()
    await until(task.done)
    assert task.cancelled()


async def test_run_hands_the_result_to_on_success_and_errors_to_their_handler(qapp) -> None:  # type: ignore[no-untyped-def]
    panel = Panel()
    results: list[int] = []
    own_errors: list[BaseException] = []

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def fail() -> int:
        raise KeyError("gone")

    panel.tasks.run("ok", answer(), results.append)
    panel.tasks.run("bad", fail(), results.append, own_errors.append)
    panel.tasks.run("default", fail(), results.append)  # no handler: the owner's callback
    await until(lambda: bool(results) and bool(own_errors) and bool(panel.errors))
    assert results == [42]
    assert isinstance(own_errors[0], KeyError) and isinstance(panel.errors[0], KeyError)

    slow = panel.tasks.run("slow", asyncio.sleep(10, result=1), results.append, own_errors.append)
    panel.tasks.cancel("slow")
    await asyncio.sleep(0.01)
    assert slow.cancelled() and results == [42] and len(own_errors) == 1  # cancel is silent
    panel.deleteLater()
