"""Theme and font size apply to the running app, and "system" gives back what it had."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication, QLabel

from app.settings import Settings
from app.ui.dialogs.appearance import apply_appearance
from app.ui.dialogs.common import set_tone


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    try:
        yield qapp
    finally:
        apply_appearance(qapp, Settings())  # leave the app as the other tests expect it


def test_dark_light_and_back_to_system(app: QApplication) -> None:
    original_window = app.palette().window().color().name()
    original_size = app.font().pointSize()

    apply_appearance(app, Settings(theme="dark", font_size=15))
    assert app.palette().window().color().name() == "#202124"
    assert app.style().name().lower() == "fusion"
    assert app.font().pointSize() == 15

    apply_appearance(app, Settings(theme="light"))
    assert app.palette().window().color().lightness() > 200
    assert app.font().pointSize() == original_size

    apply_appearance(app, Settings())
    assert app.palette().window().color().name() == original_window


def test_status_colours_stay_readable_on_dark(app: QApplication) -> None:
    apply_appearance(app, Settings(theme="dark"))
    label = QLabel("x")
    set_tone(label, "error")
    assert "#f28b82" in label.styleSheet()
    apply_appearance(app, Settings(theme="light"))
    other = QLabel("y")
    set_tone(other, "error")
    assert "#b3261e" in other.styleSheet()
