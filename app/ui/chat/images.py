"""Decoding untrusted image bytes with limits (before anything is decoded)."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage, QImageReader

IMAGE_MAX_BYTES = 20 * 2**20
IMAGE_MAX_PIXELS = 40_000_000  # a decompression bomb stops here, before decoding


def decode_image(data: bytes) -> QImage | None:
    """A QImage from untrusted bytes, or None if unreadable or too large."""
    if len(data) > IMAGE_MAX_BYTES:
        return None
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    size = reader.size()
    if not size.isValid() or size.width() * size.height() > IMAGE_MAX_PIXELS:
        return None
    image = reader.read()
    return None if image.isNull() else image
