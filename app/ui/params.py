"""The conversation settings drawer: system prompt, sampling parameters, presets.

Each parameter is optional (unchecked = not sent, the provider's default applies). Values
are checked with the client's own rules (``ChatRequest.check``) so the message names the
field exactly as a send would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.api import ApiError
from app.settings import write_atomic
from app.ui.dialogs.common import named, set_tone

_FLOATS = {
    "temperature": ("Temperature", 0.0, 2.0, 0.1, 1.0),
    "top_p": ("Top P", 0.0, 1.0, 0.05, 1.0),
    "presence_penalty": ("Presence penalty", -2.0, 2.0, 0.1, 0.0),
    "frequency_penalty": ("Frequency penalty", -2.0, 2.0, 0.1, 0.0),
}
_INTS = {
    "max_tokens": ("Max tokens", 1, 1_000_000, 1024),
    "n": ("Answers (n)", 1, 16, 1),
    "seed": ("Seed", 0, 2**31 - 1, 42),
}
_TEXTS = {
    "stop": ("Stop sequences", "up to 4, separated by |"),
    "logit_bias": ("Logit bias", 'JSON, e.g. {"50256": -100}'),
    "user": ("User id", "an id for your end user"),
}
FORMATS = {"text": None, "JSON object": {"type": "json_object"}}
MODES = {"Chat": "chat", "Text completion": "completion"}


def parse_params(raw: dict[str, str]) -> dict[str, Any]:
    """Turn the text fields into request values; raise ``ValueError`` naming the field."""
    params: dict[str, Any] = {}
    if raw.get("stop"):
        stops = [s for s in raw["stop"].split("|") if s]
        params["stop"] = stops[0] if len(stops) == 1 else stops
    if raw.get("logit_bias"):
        try:
            bias = json.loads(raw["logit_bias"])
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"Logit bias must be JSON: {exc.msg} (at character {exc.pos})."
            ) from exc
        if not isinstance(bias, dict) or not all(isinstance(v, int | float) for v in bias.values()):
            raise ValueError(
                'Logit bias must be a JSON object of token ids to numbers, e.g. {"50256": -100}.'
            )
        params["logit_bias"] = bias
    if raw.get("user"):
        params["user"] = raw["user"]
    return params


def check_params(params: dict[str, Any]) -> str | None:
    """The client's validation message for these parameters, or None when they are fine."""
    from app.api import ChatRequest  # pydantic: loaded on the first check, not at start-up

    request_params = {k: v for k, v in params.items() if k != "mode"}
    try:
        ChatRequest.build(
            model="check", messages=[{"role": "user", "content": "x"}], **request_params
        ).check()
    except ApiError as exc:
        return exc.user_message
    return None


class ParamsPresets:
    """Named parameter sets in one JSON file under the config dir."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return (
            {str(k): v for k, v in data.items() if isinstance(v, dict)}
            if isinstance(data, dict)
            else {}
        )

    def save(self, name: str, preset: dict[str, Any]) -> None:
        presets = self.load()
        presets[name] = preset
        write_atomic(self.path, json.dumps(presets, indent=2, ensure_ascii=False))


class ParamsDrawer(QWidget):
    """System prompt and parameters of the open conversation; emits ``changed`` when valid."""

    changed = Signal()

    def __init__(self, presets: ParamsPresets, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "paramsDrawer", "Conversation settings")
        self.presets = presets
        self._loading = False
        self.system_prompt = named(QPlainTextEdit(), "systemPromptEdit", "System prompt")
        self.system_prompt.setPlaceholderText(
            "System prompt (optional), e.g. “You are a concise assistant.”"
        )
        self.system_prompt.setMaximumHeight(90)
        form = QFormLayout()
        self.enabled: dict[str, QCheckBox] = {}
        self.floats: dict[str, QDoubleSpinBox] = {}
        self.ints: dict[str, QSpinBox] = {}
        self.texts: dict[str, QLineEdit] = {}
        for key, (label, low, high, step, default) in _FLOATS.items():
            spin = named(QDoubleSpinBox(), f"{key}Spin", label)
            spin.setRange(low, high)
            spin.setSingleStep(step)
            spin.setDecimals(2)
            spin.setValue(default)
            self.floats[key] = spin
            form.addRow(self._toggle(key, label), spin)
        for key, (label, ilow, ihigh, idefault) in _INTS.items():
            ispin = named(QSpinBox(), f"{key}Spin", label)
            ispin.setRange(ilow, ihigh)
            ispin.setValue(idefault)
            self.ints[key] = ispin
            form.addRow(self._toggle(key, label), ispin)
        for key, (label, hint) in _TEXTS.items():
            edit = named(QLineEdit(), f"{key}Edit", label)
            edit.setPlaceholderText(hint)
            self.texts[key] = edit
            form.addRow(QLabel(label), edit)
        self.response_format = named(QComboBox(), "responseFormatCombo", "Response format")
        self.response_format.addItems(list(FORMATS))
        form.addRow(QLabel("Response format"), self.response_format)
        self.mode = named(
            QComboBox(),
            "modeCombo",
            "Mode",
            "Text completion sends your message as a raw prompt to /completions (legacy models)",
        )
        self.mode.addItems(list(MODES))
        form.addRow(QLabel("Mode"), self.mode)
        self.problem = named(QLabel(), "paramsProblem", "Parameter problem")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.preset_combo = named(QComboBox(), "presetCombo", "Parameter presets")
        self.save_preset = named(
            QPushButton("Save as preset…"), "savePresetButton", "Save parameters as a preset"
        )
        presets_row = QHBoxLayout()
        presets_row.addWidget(self.preset_combo, 1)
        presets_row.addWidget(self.save_preset)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>System prompt</b>"))
        layout.addWidget(self.system_prompt)
        layout.addWidget(
            QLabel("<b>Parameters</b> <small>(unchecked: the provider's default)</small>")
        )
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addLayout(presets_row)
        layout.addStretch(1)
        self._reload_presets()
        self._connect_signals()

    def _toggle(self, key: str, label: str) -> QCheckBox:
        box = named(QCheckBox(label), f"{key}Toggle", f"Send {label.lower()}")
        self.enabled[key] = box
        return box

    def _connect_signals(self) -> None:
        for box in self.enabled.values():
            box.toggled.connect(self.on_value_edited)
        for spin in self.floats.values():
            spin.valueChanged.connect(self.on_value_edited)
        for ispin in self.ints.values():
            ispin.valueChanged.connect(self.on_value_edited)
        for edit in self.texts.values():
            edit.editingFinished.connect(self.on_value_edited)
        self.response_format.currentIndexChanged.connect(self.on_value_edited)
        self.mode.currentIndexChanged.connect(self.on_value_edited)
        self.system_prompt.textChanged.connect(self.on_value_edited)
        self.save_preset.clicked.connect(self.on_save_preset_clicked)
        self.preset_combo.activated.connect(self.on_preset_activated)

    # --- values ------------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """The parameters to send; raises ``ValueError`` with a plain message when invalid."""
        params: dict[str, Any] = {}
        for key, spin in self.floats.items():
            if self.enabled[key].isChecked():
                params[key] = round(spin.value(), 4)
        for key, ispin in self.ints.items():
            if self.enabled[key].isChecked():
                params[key] = ispin.value()
        params.update(parse_params({k: e.text().strip() for k, e in self.texts.items()}))
        fmt = FORMATS[self.response_format.currentText()]
        if fmt is not None:
            params["response_format"] = fmt
        if MODES[self.mode.currentText()] != "chat":
            params["mode"] = MODES[self.mode.currentText()]
        problem = check_params(params)
        if problem:
            raise ValueError(problem)
        return params

    def set_values(self, params: dict[str, Any], system_prompt: str = "") -> None:
        self._loading = True
        try:
            self.system_prompt.setPlainText(system_prompt)
            for key, box in self.enabled.items():
                box.setChecked(key in params)
            for key, spin in self.floats.items():
                if key in params:
                    spin.setValue(float(params[key]))
            for key, ispin in self.ints.items():
                if key in params:
                    ispin.setValue(int(params[key]))
            stop = params.get("stop")
            self.texts["stop"].setText("|".join(stop) if isinstance(stop, list) else (stop or ""))
            bias = params.get("logit_bias")
            self.texts["logit_bias"].setText(json.dumps(bias) if bias else "")
            self.texts["user"].setText(params.get("user") or "")
            fmt = params.get("response_format")
            self.response_format.setCurrentText(
                next((k for k, v in FORMATS.items() if v == fmt), "text")
            )
            mode = params.get("mode", "chat")
            self.mode.setCurrentText(next((k for k, v in MODES.items() if v == mode), "Chat"))
            self.problem.hide()
        finally:
            self._loading = False

    def on_value_edited(self, *_: object) -> None:
        if self._loading:
            return
        try:
            self.params()
        except ValueError as exc:
            self.problem.setText(str(exc))
            set_tone(self.problem, "error")
            self.problem.show()
            return
        self.problem.hide()
        self.changed.emit()

    # --- presets -----------------------------------------------------------------------------
    def _reload_presets(self) -> None:
        self.preset_combo.clear()
        self.preset_combo.addItem("Load a preset…")
        self.preset_combo.addItems(sorted(self.presets.load()))

    def on_save_preset_clicked(self) -> None:
        try:
            params = self.params()
        except ValueError as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            return
        dialog = QInputDialog(self)
        dialog.setObjectName("presetNameDialog")
        dialog.setLabelText("Preset name:")
        dialog.textValueSelected.connect(lambda name: self._save_preset(name, params))
        dialog.open()  # non-modal: no nested event loop

    def _save_preset(self, name: str, params: dict[str, Any]) -> None:
        name = name.strip()
        if not name:
            return
        self.presets.save(
            name, {"params": params, "system_prompt": self.system_prompt.toPlainText()}
        )
        self._reload_presets()
        self.preset_combo.setCurrentText(name)

    def on_preset_activated(self, index: int) -> None:
        if index <= 0:
            return
        preset = self.presets.load().get(self.preset_combo.itemText(index))
        if preset:
            self.set_values(
                dict(preset.get("params") or {}), str(preset.get("system_prompt") or "")
            )
            self.changed.emit()
