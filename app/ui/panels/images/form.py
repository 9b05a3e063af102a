"""The request form: prompt, size (the provider's spelling), count, quality, style, format,
and free-form extra JSON (validated as you type)."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.images import (
    MAX_IMAGES,
    ImageJobError,
    ImageOptions,
    ImageRequest,
    parse_extra,
    parse_size,
)
from app.ui.dialogs.common import named, note, set_tone

DEFAULT = "Provider default"
FORMAT_LABELS = {"b64_json": "Inline (b64_json)", "url": "Link (url), downloaded"}
EXTRA_HINT = '{"negative_prompt": "blurry, text", "seed": 42}'


class _PromptEdit(QPlainTextEdit):
    """Ctrl+Enter asks to generate."""

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class ImageForm(QWidget):
    """What to generate. ``request()`` builds an ``ImageRequest`` or raises ``ImageJobError``."""

    submitted = Signal()
    validity_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageForm")
        self.options = ImageOptions(False, (), (), (), ())
        self.prompt_edit = named(
            _PromptEdit(), "imagePromptEdit", "Image prompt", "Describe the image (Ctrl+Enter)"
        )
        self.prompt_edit.setPlaceholderText("Describe the image…  (Ctrl+Enter to generate)")
        self.prompt_edit.setTabChangesFocus(True)
        self.size_combo = named(
            QComboBox(), "imageSizeCombo", "Image size", "Pick a size or type one, e.g. 640x480"
        )
        self.size_combo.setEditable(True)
        self.size_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.count_spin = named(QSpinBox(), "imageCountSpin", "Number of images")
        self.count_spin.setRange(1, MAX_IMAGES)
        self.quality_combo = named(QComboBox(), "imageQualityCombo", "Image quality")
        self.style_combo = named(QComboBox(), "imageStyleCombo", "Image style")
        self.format_combo = named(
            QComboBox(), "imageFormatCombo", "Response format",
            "Inline: the picture comes in the answer. Link: Palaver downloads it (up to 10 MB).",
        )  # fmt: skip
        self.extra_edit = named(
            QPlainTextEdit(),
            "imageExtraEdit",
            "Extra parameters (JSON)",
            "Sent as they are, e.g. a negative prompt or a seed",
        )
        self.extra_edit.setPlaceholderText(EXTRA_HINT)
        self.extra_edit.setTabChangesFocus(True)
        self.extra_edit.setFixedHeight(self.extra_edit.fontMetrics().lineSpacing() * 3 + 14)
        self.extra_status = note("", "imageExtraStatus")
        self.extra_status.hide()
        self.via_chat_note = note(
            "This model answers in chat with a picture: only the prompt and the number of "
            "images apply.",
            "imageViaChatNote",
        )
        self.via_chat_note.hide()

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._labels: dict[QWidget, QLabel] = {}
        for text, field in (
            ("Size", self.size_combo),
            ("Images", self.count_spin),
            ("Quality", self.quality_combo),
            ("Style", self.style_combo),
            ("Format", self.format_combo),
        ):
            label = QLabel(text)
            label.setBuddy(field)
            self._labels[field] = label
            form.addRow(label, field)
        extra_label = QLabel("Extra (JSON)")
        extra_label.setBuddy(self.extra_edit)
        form.addRow(extra_label, self.extra_edit)
        form.addRow("", self.extra_status)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        prompt_label = QLabel("Prompt")
        prompt_label.setBuddy(self.prompt_edit)
        layout.addWidget(prompt_label)
        layout.addWidget(self.prompt_edit, 1)
        layout.addWidget(self.via_chat_note)
        layout.addLayout(form)
        self._connect_signals()
        self.set_options(self.options)

    def _connect_signals(self) -> None:
        self.prompt_edit.submitted.connect(self.submitted)
        self.prompt_edit.textChanged.connect(self.on_input_changed)
        self.extra_edit.textChanged.connect(self.on_input_changed)

    # -- options -----------------------------------------------------------------------

    def set_options(self, options: ImageOptions) -> None:
        """Offer what the chosen provider and model take; keep choices that still apply."""
        self.options = options
        size = self.size_value()
        self.size_combo.clear()
        self.size_combo.addItem(DEFAULT, None)
        for canonical in options.sizes:
            self.size_combo.addItem(options.spell(canonical), canonical)
        self._select_size(size)
        for combo, values in (
            (self.quality_combo, options.qualities),
            (self.style_combo, options.styles),
        ):
            keep = combo.currentData()
            combo.clear()
            combo.addItem(DEFAULT, None)
            for value in values:
                combo.addItem(value, value)
            self._select(combo, keep)
        keep = self.format_combo.currentData()
        self.format_combo.clear()
        for value in options.formats:
            self.format_combo.addItem(FORMAT_LABELS.get(value, value), value)
        self._select(self.format_combo, keep)
        for field, values in (
            (self.size_combo, options.sizes),
            (self.quality_combo, options.qualities),
            (self.style_combo, options.styles),
            (self.format_combo, options.formats),
        ):
            shown = bool(values)
            field.setVisible(shown)
            self._labels[field].setVisible(shown)
        self.via_chat_note.setVisible(options.via_chat)

    @staticmethod
    def _select(combo: QComboBox, value: object) -> None:
        index = combo.findData(value) if value is not None else 0
        combo.setCurrentIndex(max(index, 0))

    def _select_size(self, size: str | None) -> None:
        """A listed size is selected; another is typed in the provider's spelling."""
        index = self.size_combo.findData(size) if size is not None else 0
        if index >= 0:
            self.size_combo.setCurrentIndex(index)
        else:
            self.size_combo.setEditText(self.options.spell(size or ""))

    # -- values ------------------------------------------------------------------------

    def size_value(self) -> str | None:
        """The chosen size, canonical (``640x480``); a named size as typed; None: default."""
        text = self.size_combo.currentText().strip()
        if not text or text == DEFAULT:
            return None
        index = self.size_combo.findText(text)
        if index >= 0:
            data = self.size_combo.itemData(index)
            return data if isinstance(data, str) else None
        parsed = parse_size(text)
        return f"{parsed[0]}x{parsed[1]}" if parsed else text

    def request(self, provider_id: str, model: str) -> ImageRequest:
        """The request to send; raises ``ImageJobError`` when something is not right."""
        prompt = self.prompt_edit.toPlainText().strip()
        if not prompt:
            raise ImageJobError("Describe the image first: the prompt is empty.")
        extra = parse_extra(self.extra_edit.toPlainText())
        o = self.options
        return ImageRequest(
            provider_id,
            model,
            prompt,
            n=self.count_spin.value(),
            size=self.size_value() if o.sizes else None,
            quality=self.quality_combo.currentData() if o.qualities else None,
            style=self.style_combo.currentData() if o.styles else None,
            response_format=self.format_combo.currentData() if o.formats else None,
            extra=extra,
        )

    def load(self, request: ImageRequest) -> None:
        """Fill the form from an earlier request (reuse prompt and settings)."""
        self.prompt_edit.setPlainText(request.prompt)
        self.count_spin.setValue(request.n)
        self._select_size(request.size)
        self._select(self.quality_combo, request.quality)
        self._select(self.style_combo, request.style)
        self._select(self.format_combo, request.response_format)
        self.extra_edit.setPlainText(
            json.dumps(request.extra, ensure_ascii=False) if request.extra else ""
        )

    def is_valid(self) -> bool:
        if not self.prompt_edit.toPlainText().strip():
            return False
        try:
            parse_extra(self.extra_edit.toPlainText())
        except ImageJobError:
            return False
        return True

    # -- slots -------------------------------------------------------------------------

    def on_input_changed(self) -> None:
        try:
            parse_extra(self.extra_edit.toPlainText())
        except ImageJobError as exc:
            self.extra_status.setText(exc.user_message)
            set_tone(self.extra_status, "error")
            self.extra_status.show()
        else:
            self.extra_status.hide()
        self.validity_changed.emit(self.is_valid())
