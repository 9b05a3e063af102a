"""The job strip: busy while its job runs, one wording for failures, Cancel that sticks."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QWidget

from app.api.profiles import ProviderProfile
from app.core.images import ImageJobError
from app.ui.tasks import TaskOwner
from app.ui.widgets.job_strip import JobNames, JobStrip, fill_providers
from tests.helpers.waiting import until

NAMES = JobNames(
    prefix="demo",
    noun="Demo",
    action="Run",
    busy="Running…",
    action_name="runButton",
    action_accessible="Run the demo",
    cancel_name="cancelRunButton",
    cancel_accessible="Cancel the demo",
    cancelled="Demo cancelled.",
)


class Panel(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.tasks = TaskOwner(self.on_task_failed)
        self.job = JobStrip(self.tasks, NAMES, self)
        self.results: list[object] = []
        self.job.status_changed.connect(self.results.append)

    def on_task_failed(self, error: BaseException) -> None:
        self.job.show_error(error)


async def test_a_job_is_busy_until_it_ends_and_hands_over_its_result(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = Panel()
    qtbot.addWidget(panel)
    panel.show()
    gate = asyncio.Event()
    got: list[int] = []

    async def work() -> int:
        await gate.wait()
        return 42

    panel.job.run(work(), got.append, timed=True)
    assert panel.job.busy and panel.job.cancel.isVisible() and panel.job.progress.isVisible()
    assert panel.job.action.text() == "Running…"
    panel.job.phase("Uploading…")
    assert panel.job.status.text().startswith("Uploading…") and " s" in panel.job.status.text()
    gate.set()
    await until(lambda: got == [42])
    assert not panel.job.busy and not panel.job.cancel.isVisible()
    assert panel.job.action.text() == "Run" and not panel.job.progress.isVisible()


async def test_a_failed_job_says_why_in_the_one_wording(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = Panel()
    qtbot.addWidget(panel)

    async def work() -> int:
        raise ImageJobError("The provider said no: content policy.")

    panel.job.run(work(), lambda _result: None)
    await until(lambda: not panel.job.busy)
    assert panel.job.status.text() == "The provider said no: content policy."
    assert panel.job.status.property("tone") == "error"
    assert panel.results == ["The provider said no: content policy."]

    async def crash() -> int:
        raise RuntimeError("socket gone")

    panel.job.run(crash(), lambda _result: None)
    await until(lambda: "socket gone" in panel.job.status.text())
    assert panel.job.status.text() == "Something went wrong: socket gone"


async def test_cancel_stops_the_job_and_its_result_never_arrives(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = Panel()
    qtbot.addWidget(panel)
    panel.show()
    got: list[int] = []
    finished = asyncio.Event()

    async def work() -> int:
        try:
            await asyncio.sleep(30)
        finally:
            finished.set()
        return 1

    panel.job.run(work(), got.append)
    await asyncio.sleep(0)
    qtbot.mouseClick(panel.job.cancel, Qt.MouseButton.LeftButton)
    await asyncio.wait_for(finished.wait(), 2)
    await asyncio.sleep(0.01)
    assert got == [] and not panel.job.busy
    assert panel.job.status.text() == "Demo cancelled."
    assert panel.job.action.accessibleName() == "Run the demo"
    assert panel.job.status.accessibleName() == "Demo status"


def test_fill_providers_keeps_the_wanted_choice(qtbot) -> None:  # type: ignore[no-untyped-def]
    combo = QComboBox()
    qtbot.addWidget(combo)
    changes: list[int] = []
    combo.currentIndexChanged.connect(changes.append)
    profiles = [
        ProviderProfile(id="a", name="Alpha", base_url="http://127.0.0.1:1/v1"),
        ProviderProfile(id="b", name="Beta", base_url="http://127.0.0.1:2/v1"),
    ]
    fill_providers(combo, profiles, "b")
    assert [combo.itemText(i) for i in range(combo.count())] == ["Alpha", "Beta"]
    assert combo.currentData() == "b" and changes == []
    fill_providers(combo, profiles[:1], "b")
    assert combo.currentData() == "a"
