"""Fixtures for the audio engine tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.audio import _backend
from tests.audio.fake_sounddevice import FakeSoundDevice


@pytest.fixture
def fake_sd(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., FakeSoundDevice]]:
    """Install a :class:`FakeSoundDevice` as the audio backend: ``fake_sd(**options)``."""

    def install(**options: Any) -> FakeSoundDevice:
        fake = FakeSoundDevice(**options)
        monkeypatch.setattr(_backend, "sounddevice", lambda: fake)
        return fake

    yield install


@pytest.fixture(autouse=True)
def _no_stream_left_open() -> Iterator[None]:
    """Every test must close what it opens: the backend's open-stream count returns to 0."""
    before = _backend._open_streams
    yield
    assert _backend._open_streams == before, "a test left an audio stream open"
