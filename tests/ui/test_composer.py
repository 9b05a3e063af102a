"""The composer: send keys, attachments, estimate, busy state."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QColor, QImage

from app.ui.composer import AttachmentError, Composer, estimate_tokens, load_attachment


@pytest.fixture
def composer(qtbot) -> Composer:  # type: ignore[no-untyped-def]
    widget = Composer()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_enter_sends_and_shift_enter_breaks_line(qtbot, composer: Composer) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClicks(composer.input, "hello")
    qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.input, "world")
    with qtbot.waitSignal(composer.send_requested) as sent:
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert sent.args == ["hello\nworld", []]


def test_ctrl_enter_mode(qtbot, composer: Composer) -> None:  # type: ignore[no-untyped-def]
    composer.set_send_on_enter(False)
    qtbot.keyClicks(composer.input, "a")
    qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert composer.text() == "a\n"
    with qtbot.waitSignal(composer.send_requested) as sent:
        qtbot.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent.args[0] == "a"


def test_empty_message_is_not_sent(qtbot, composer: Composer) -> None:  # type: ignore[no-untyped-def]
    with qtbot.assertNotEmitted(composer.send_requested):
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)


def test_busy_swaps_send_for_stop(qtbot, composer: Composer) -> None:  # type: ignore[no-untyped-def]
    composer.set_busy(True)
    assert composer.stop_button.isVisible() and not composer.send_button.isVisible()
    with qtbot.waitSignal(composer.stop_requested):
        qtbot.mouseClick(composer.stop_button, Qt.MouseButton.LeftButton)
    composer.set_busy(False)
    assert composer.send_button.isVisible()


def test_dropped_files_become_attachments(qtbot, composer: Composer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    notes = tmp_path / "notes.md"
    notes.write_text("# hi\n")
    picture = tmp_path / "p.png"
    image = QImage(4, 4, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    image.save(str(picture))
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in (notes, picture, binary)])
    errors: list[str] = []
    composer.error_occurred.connect(errors.append)
    composer.input.insertFromMimeData(mime)
    assert [a.name for a in composer.attachments] == ["notes.md", "p.png"]
    assert composer.attachments[1].mime == "image/png" and composer.attachments[1].is_image
    assert errors and "blob.bin" in errors[0]
    qtbot.keyClicks(composer.input, "look")
    with qtbot.waitSignal(composer.send_requested) as sent:
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert [a.name for a in sent.args[1]] == ["notes.md", "p.png"]


def test_pasted_image_is_attached(composer: Composer) -> None:
    mime = QMimeData()
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(QColor("blue"))
    mime.setImageData(image)
    composer.input.insertFromMimeData(mime)
    assert len(composer.attachments) == 1 and composer.attachments[0].is_image


def test_token_estimate_updates(qtbot, composer: Composer) -> None:  # type: ignore[no-untyped-def]
    composer.set_text("x" * 400)
    qtbot.waitUntil(lambda: "100" in composer.token_label.text(), timeout=2000)
    assert estimate_tokens("abcd" * 10) == 10


def test_non_utf8_text_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "latin.txt"
    bad.write_bytes("café".encode("latin-1"))
    with pytest.raises(AttachmentError, match="not UTF-8"):
        load_attachment(bad)
