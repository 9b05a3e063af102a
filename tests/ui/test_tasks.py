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
