"""The parameters drawer: optional values, the client's validation, presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ui.params import ParamsDrawer, ParamsPresets, check_params, parse_params


@pytest.fixture
def drawer(qtbot, tmp_path: Path) -> ParamsDrawer:  # type: ignore[no-untyped-def]
    widget = ParamsDrawer(ParamsPresets(tmp_path / "presets.json"))
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_unchecked_values_are_not_sent(drawer: ParamsDrawer) -> None:
    assert drawer.params() == {}
    drawer.enabled["temperature"].setChecked(True)
    drawer.floats["temperature"].setValue(0.3)
    drawer.enabled["max_tokens"].setChecked(True)
    drawer.ints["max_tokens"].setValue(256)
    drawer.texts["stop"].setText("END|STOP")
    drawer.response_format.setCurrentText("JSON object")
    assert drawer.params() == {
        "temperature": 0.3,
        "max_tokens": 256,
        "stop": ["END", "STOP"],
        "response_format": {"type": "json_object"},
    }


def test_bad_values_name_the_field(qtbot, drawer: ParamsDrawer) -> None:  # type: ignore[no-untyped-def]
    drawer.texts["logit_bias"].setText("{not json")
    drawer.on_value_edited()
    assert drawer.problem.isVisible() and "Logit bias must be JSON" in drawer.problem.text()
    drawer.texts["logit_bias"].setText('{"50256": -500}')
    drawer.on_value_edited()
    assert "between -100 and 100" in drawer.problem.text()
    drawer.texts["logit_bias"].setText("")
    drawer.texts["stop"].setText("a|b|c|d|e")
    drawer.on_value_edited()
    assert "at most 4" in drawer.problem.text()
    drawer.texts["stop"].setText("")
    with qtbot.waitSignal(drawer.changed):
        drawer.on_value_edited()
    assert not drawer.problem.isVisible()


def test_presets_round_trip(drawer: ParamsDrawer, tmp_path: Path) -> None:
    drawer.enabled["seed"].setChecked(True)
    drawer.ints["seed"].setValue(7)
    drawer.system_prompt.setPlainText("Be terse.")
    drawer._save_preset("terse", drawer.params())
    drawer.set_values({})
    assert drawer.params() == {}
    index = drawer.preset_combo.findText("terse")
    drawer.on_preset_activated(index)
    assert drawer.params() == {"seed": 7}
    assert drawer.system_prompt.toPlainText() == "Be terse."
    assert "terse" in (tmp_path / "presets.json").read_text()


def test_parse_and_check_helpers() -> None:
    assert parse_params({"stop": "only"}) == {"stop": "only"}
    assert check_params({"temperature": 3.0}) is not None
    assert check_params({"temperature": 1.0}) is None


def test_text_completion_mode(drawer: ParamsDrawer) -> None:
    drawer.mode.setCurrentText("Text completion")
    assert drawer.params() == {"mode": "completion"}
    drawer.set_values({"mode": "completion", "seed": 1})
    assert drawer.mode.currentText() == "Text completion"
    drawer.set_values({})
    assert drawer.mode.currentText() == "Chat" and drawer.params() == {}
