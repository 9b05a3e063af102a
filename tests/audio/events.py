"""asyncio events that double as player/recorder callbacks, for waiting without polling."""

from __future__ import annotations

import asyncio

from app.audio import Level


class PositionEvent(asyncio.Event):
    """An ``on_position`` callback that is set once playback is past ``seconds``."""

    def __init__(self, seconds: float = 0.0) -> None:
        super().__init__()
        self.seconds = seconds

    def __call__(self, position: float) -> None:
        if position > self.seconds:
            self.set()


class ElapsedEvent(asyncio.Event):
    """An ``on_level`` callback that is set once ``seconds`` have been recorded."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.levels: list[Level] = []

    def __call__(self, level: Level) -> None:
        self.levels.append(level)
        if level.elapsed >= self.seconds:
            self.set()
