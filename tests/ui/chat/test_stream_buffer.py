"""The per-frame coalescing buffer and the staggering frame scheduler."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.ui.chat.stream_buffer import FrameScheduler, StreamBuffer


class Recorder:
    def __init__(self, log: list[str], name: str) -> None:
        self.log = log
        self.name = name

    def flush_pending(self) -> None:
        self.log.append(self.name)


def test_buffer_joins_deltas_per_message() -> None:
    buffer = StreamBuffer()
    buffer.add(1, "Hel")
    buffer.add(2, "x")
    buffer.add(1, "lo")
    assert buffer.take_one(2) == "x"
    assert buffer.take() == {1: "Hello"}
    assert not buffer


def test_scheduler_flushes_one_view_per_tick(qtbot: QtBot) -> None:
    scheduler = FrameScheduler()
    log: list[str] = []
    a, b, c = (Recorder(log, n) for n in "abc")
    for target in (a, b, c, a):  # a second request while waiting does not queue twice
        scheduler.request(target)  # type: ignore[arg-type]
    scheduler._on_timer_timeout()  # one frame
    assert log == ["a"]  # staggered: one view per tick, not all at once
    scheduler._on_timer_timeout()
    scheduler._on_timer_timeout()
    assert log == ["a", "b", "c"]
    scheduler.request(b)  # type: ignore[arg-type]
    scheduler.cancel(b)  # type: ignore[arg-type]
    scheduler.request(c)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: len(log) == 4, timeout=1000)  # the real timer ticks
    qtbot.wait(50)
    assert log == ["a", "b", "c", "c"]
