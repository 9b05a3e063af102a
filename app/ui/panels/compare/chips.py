"""The compare panel's model chips: a chosen model with its own overrides."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QToolButton,
)

from app.core.chat import Target
from app.core.compare import ColumnSpec
from app.ui.dialogs.common import named


class ElidedLabel(QLabel):
    """A one-line label that shrinks with an ellipsis (the full text is its tooltip)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.full = text
        self.setToolTip(text)
        self.setMinimumWidth(60)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def sizeHint(self) -> QSize:
        return QSize(
            self.fontMetrics().horizontalAdvance(self.full) + 4, super().sizeHint().height()
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.setText(
            self.fontMetrics().elidedText(self.full, Qt.TextElideMode.ElideRight, self.width())
        )


class ModelChip(QFrame):
    """A chosen model with its own overrides (temperature, max tokens, system prompt)."""

    remove_clicked = Signal(object)
    changed = Signal()

    def __init__(self, target: Target, label: str, number: int) -> None:
        super().__init__()
        self.target = target
        named(self, f"modelChip{number}", f"Model {number}: {label}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = ElidedLabel(label)
        self.label.setObjectName(f"modelChipLabel{number}")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.options_button = named(
            QToolButton(), f"modelChipOptions{number}", f"Overrides for {label}", "Overrides"
        )
        self.options_button.setText("⚙")
        self.options_button.setCheckable(True)
        self.remove_button = named(
            QToolButton(), f"modelChipRemove{number}", f"Remove {label}", "Remove"
        )
        self.remove_button.setText("×")
        self.popup = QFrame(self, Qt.WindowType.Popup)
        self.popup.setObjectName(f"modelChipPopup{number}")
        self.temperature = named(
            QDoubleSpinBox(), f"chipTemperature{number}", f"Temperature for {label}"
        )
        self.temperature.setRange(-0.1, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setSpecialValueText("shared")
        self.temperature.setValue(-0.1)
        self.max_tokens = named(QSpinBox(), f"chipMaxTokens{number}", f"Max tokens for {label}")
        self.max_tokens.setRange(0, 1_000_000)
        self.max_tokens.setSpecialValueText("shared")
        self.system_prompt = named(
            QLineEdit(placeholderText="shared system prompt"),
            f"chipSystemPrompt{number}",
            f"System prompt for {label}",
        )
        form = QFormLayout(self.popup)
        form.addRow("Temperature", self.temperature)
        form.addRow("Max tokens", self.max_tokens)
        form.addRow("System prompt", self.system_prompt)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.label)
        layout.addWidget(self.options_button)
        layout.addWidget(self.remove_button)
        self.remove_button.clicked.connect(lambda: self.remove_clicked.emit(self))
        self.options_button.clicked.connect(self.on_options_clicked)

    def on_options_clicked(self) -> None:
        self.options_button.setChecked(False)
        corner = self.mapToGlobal(self.rect().bottomLeft())
        self.popup.move(corner)
        self.popup.show()
        self.temperature.setFocus()

    def spec(self) -> ColumnSpec:
        params: dict[str, Any] = {}
        if self.temperature.value() >= 0:
            params["temperature"] = round(self.temperature.value(), 2)
        if self.max_tokens.value() > 0:
            params["max_tokens"] = self.max_tokens.value()
        system = self.system_prompt.text().strip() or None
        return ColumnSpec(self.target, params, system)

    def overridden(self) -> bool:
        spec = self.spec()
        return bool(spec.params) or spec.system_prompt is not None
