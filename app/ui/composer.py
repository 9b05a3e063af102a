"""The chat composer: multi-line input, attachments, a live token estimate, send and stop.

The composer knows nothing about providers or the store. It emits
``send_requested(text, attachments)`` and ``stop_requested()``; the chat panel decides.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chat import Attachment
from app.ui.dialogs.common import named
from app.ui.icons import icon
from app.ui.widgets.prompt_menu import PromptMenu

MIN_LINES, MAX_LINES = 2, 10
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_TEXT_BYTES = 512 * 1024
TEXT_SUFFIXES = {
    ".txt", ".md", ".py", ".json", ".csv", ".tsv", ".yaml", ".yml", ".toml", ".ini", ".cfg",
    ".js", ".ts", ".tsx", ".jsx", ".html", ".css", ".xml", ".sql", ".sh", ".rs", ".go", ".c",
    ".h", ".cpp", ".hpp", ".java", ".kt", ".rb", ".php", ".swift", ".log", ".tex", ".rst",
}  # fmt: skip


class AttachmentError(ValueError):
    """A file that cannot be attached, with a message for the user."""


def load_attachment(path: Path) -> Attachment:
    """Read a file the user picked or dropped, as an image or a text attachment."""
    import mimetypes  # loaded with the first attachment, not at start-up

    mime = mimetypes.guess_type(path.name)[0] or ""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AttachmentError(f"Cannot read {path.name}: {exc.strerror or exc}") from exc
    if mime.startswith("image/"):
        if size > MAX_IMAGE_BYTES:
            raise AttachmentError(f"{path.name} is larger than {MAX_IMAGE_BYTES // 2**20} MB.")
        return Attachment(path.name, mime, path.read_bytes())
    if path.suffix.lower() in TEXT_SUFFIXES or mime.startswith("text/"):
        if size > MAX_TEXT_BYTES:
            raise AttachmentError(
                f"{path.name} is larger than {MAX_TEXT_BYTES // 1024} KB of text."
            )
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AttachmentError(f"{path.name} is not UTF-8 text.") from exc
        return Attachment(path.name, mime or "text/plain", data)
    raise AttachmentError(f"{path.name}: only images and text files can be attached.")


def image_attachment(image: QImage, name: str = "pasted.png") -> Attachment:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs miss the QIODevice overload
    return Attachment(name, "image/png", bytes(data.data()))


def estimate_tokens(text: str) -> int:
    """About four characters per token: the usual rule of thumb for English text."""
    return (len(text) + 3) // 4


class _Input(QPlainTextEdit):
    """The text box: Enter or Ctrl+Enter sends (per settings); files and images drop in."""

    submitted = Signal()
    files_dropped = Signal(list)
    image_pasted = Signal(QImage)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("composerInput")
        self.setAccessibleName("Message")
        self.setPlaceholderText("Ask anything…  (Enter to send, Shift+Enter for a new line)")
        self.send_on_enter = True
        self.menu: PromptMenu | None = None  # the "/" menu: its keys come through here
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.textChanged.connect(self._fit_height)
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow with the text from 2 to 10 lines, then scroll."""
        lines = max(MIN_LINES, min(MAX_LINES, int(self.document().size().height())))
        margins = self.contentsMargins()
        height = lines * self.fontMetrics().lineSpacing() + 2 * int(
            self.document().documentMargin()
        )
        self.setFixedHeight(height + margins.top() + margins.bottom() + 2 * self.frameWidth())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()  # wrapping changes the line count

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.menu is not None and self.menu.isVisible() and self._menu_key(event):
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            mods = event.modifiers()
            ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
            shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
            if (self.send_on_enter and not shift and not ctrl) or (not self.send_on_enter and ctrl):
                self.submitted.emit()
                return
        super().keyPressEvent(event)

    def _menu_key(self, event: QKeyEvent) -> bool:
        """Up/Down move in the "/" menu, Enter/Tab pick, Esc closes it; True if used."""
        assert self.menu is not None
        key = event.key()
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.menu.step(-1 if key == Qt.Key.Key_Up else 1)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
            return self.menu.choose_current()
        if key == Qt.Key.Key_Escape:
            self.menu.hide()
            return True
        return False

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasImage() or source.hasUrls() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        local = [Path(url.toLocalFile()) for url in source.urls() if url.isLocalFile()]
        if local:
            self.files_dropped.emit(local)
        elif source.hasImage():
            image = QImage(source.imageData())
            if not image.isNull():
                self.image_pasted.emit(image)
        else:
            super().insertFromMimeData(source)


class Composer(QWidget):
    """Input, attachment chips, token estimate, and the send/stop button."""

    send_requested = Signal(str, list)
    stop_requested = Signal()
    error_occurred = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.attachments: list[Attachment] = []
        self._busy = False

        self.input = _Input()
        self.prompt_menu = PromptMenu(lambda: [], self)
        self.input.menu = self.prompt_menu
        self.attach_button = named(
            QToolButton(), "attachButton", "Attach files", "Attach images or text files"
        )
        self.attach_button.setIcon(icon("attach", "mail-attachment"))
        self.attach_button.setText("Attach")
        self.attach_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.send_button = named(QPushButton("Send"), "sendButton", "Send message")
        self.send_button.setDefault(True)
        self.stop_button = named(QPushButton("Stop"), "stopButton", "Stop answer")
        self.stop_button.setToolTip("Stop the answer (Esc)")
        self.stop_button.hide()
        self.attachments_label = named(QLabel(), "attachmentsLabel", "Attachments")
        self.attachments_label.hide()
        self.clear_attachments_button = named(
            QToolButton(), "clearAttachmentsButton", "Remove attachments"
        )
        self.clear_attachments_button.setText("✕")
        self.clear_attachments_button.hide()
        self.token_label = named(QLabel(), "tokenEstimate", "Token estimate")
        self.token_label.setEnabled(False)

        chips = QHBoxLayout()
        chips.addWidget(self.attachments_label, 1)
        chips.addWidget(self.clear_attachments_button)
        row = QHBoxLayout()
        row.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.token_label, 0, Qt.AlignmentFlag.AlignRight)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addWidget(self.prompt_menu)
        layout.addLayout(chips)
        layout.addLayout(row)

        # The estimate is recounted at most every 150 ms, not on every keystroke.
        self._estimate_timer = QTimer(self, singleShot=True, interval=150)
        self._connect_signals()
        self._update_estimate()

    def _connect_signals(self) -> None:
        self.input.submitted.connect(self.on_send_clicked)
        self.input.files_dropped.connect(self.add_files)
        self.input.image_pasted.connect(self.on_image_pasted)
        self.input.textChanged.connect(self._estimate_timer.start)
        self.input.textChanged.connect(self.on_input_text_changed)
        self._estimate_timer.timeout.connect(self._update_estimate)
        self.send_button.clicked.connect(self.on_send_clicked)
        self.stop_button.clicked.connect(self.stop_requested)
        self.attach_button.clicked.connect(self.on_attach_clicked)
        self.clear_attachments_button.clicked.connect(self.clear_attachments)

    # --- state -----------------------------------------------------------------------------
    def set_send_on_enter(self, on_enter: bool) -> None:
        self.input.send_on_enter = on_enter
        hint = "Enter to send, Shift+Enter for a new line" if on_enter else "Ctrl+Enter to send"
        self.input.setPlaceholderText(f"Ask anything…  ({hint})")

    def set_busy(self, busy: bool) -> None:
        """While an answer streams, Send turns into Stop."""
        self._busy = busy
        self.send_button.setVisible(not busy)
        self.stop_button.setVisible(busy)

    @property
    def busy(self) -> bool:
        return self._busy

    def text(self) -> str:
        return self.input.toPlainText()

    def on_input_text_changed(self) -> None:
        self.prompt_menu.follow(self.text())

    def set_text(self, text: str) -> None:
        self.input.setPlainText(text)
        self.input.moveCursor(self.input.textCursor().MoveOperation.End)

    def insert_text(self, text: str) -> None:
        self.input.insertPlainText(text)

    # --- attachments -------------------------------------------------------------------------
    def add_files(self, paths: list[Path]) -> None:
        for path in paths:
            try:
                self.attachments.append(load_attachment(Path(path)))
            except AttachmentError as exc:
                self.error_occurred.emit(str(exc))
        self._show_attachments()

    def on_image_pasted(self, image: QImage) -> None:
        attachment = image_attachment(image, f"pasted-{len(self.attachments) + 1}.png")
        if len(attachment.data) > MAX_IMAGE_BYTES:
            self.error_occurred.emit("The pasted image is too large to send.")
            return
        self.attachments.append(attachment)
        self._show_attachments()

    def clear_attachments(self) -> None:
        self.attachments.clear()
        self._show_attachments()

    def _show_attachments(self) -> None:
        names = ", ".join(("🖼 " if a.is_image else "📄 ") + a.name for a in self.attachments)
        self.attachments_label.setText(names)
        self.attachments_label.setVisible(bool(self.attachments))
        self.clear_attachments_button.setVisible(bool(self.attachments))
        self._update_estimate()

    def on_attach_clicked(self) -> None:
        # Non-modal: the dialog's signal delivers the files; no exec() in the event loop.
        from PySide6.QtWidgets import QFileDialog

        dialog = QFileDialog(self, "Attach files")
        dialog.setObjectName("attachDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilters(
            [
                "Images and text (*.png *.jpg *.jpeg *.gif *.webp *.txt *.md *.py *.json *.csv)",
                "All files (*)",
            ]
        )
        dialog.filesSelected.connect(lambda files: self.add_files([Path(f) for f in files]))
        dialog.open()

    # --- send --------------------------------------------------------------------------------
    def on_send_clicked(self) -> None:
        if self._busy:
            return
        text = self.text().strip()
        if not text and not self.attachments:
            return
        self.send_requested.emit(text, list(self.attachments))

    def clear(self) -> None:
        """Called by the panel once the message is safely handed over."""
        self.input.clear()
        self.clear_attachments()

    def _update_estimate(self) -> None:
        text_tokens = estimate_tokens(self.text())
        text_tokens += sum(
            estimate_tokens(a.as_text_block()) for a in self.attachments if not a.is_image
        )
        images = sum(1 for a in self.attachments if a.is_image)
        label = f"≈ {text_tokens:,} tokens"
        if images:
            label += f" + {images} image{'s' if images > 1 else ''}"
        self.token_label.setText(label)
