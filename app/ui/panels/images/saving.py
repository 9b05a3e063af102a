"""Saving a gallery picture as a PNG file the user names."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from app.ui.panels.images.gallery import GalleryItem, read_image


def save_dialog(parent: QWidget, item: GalleryItem) -> QFileDialog:
    """A save dialog (not yet open) for ``item``: PNG, in Pictures, named from its prompt."""
    dialog = QFileDialog(parent, "Save image as PNG")
    dialog.setObjectName("saveImageDialog")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setNameFilter("PNG images (*.png)")
    dialog.setDefaultSuffix("png")
    dialog.setDirectory(str(_pictures_dir()))
    dialog.selectFile(file_name(item))
    return dialog


async def save_png(source: Path, mime: str, dest: Path) -> None:
    """Copy a PNG as it is, convert anything else; off the Qt thread. Raises OSError."""
    if mime == "image/png":
        await asyncio.to_thread(shutil.copyfile, source, dest)
    elif not await asyncio.to_thread(_convert_to_png, source, dest):
        raise OSError("the picture could not be converted to PNG")


def file_name(item: GalleryItem) -> str:
    """``a-red-fox-20261207-093000-2.png``: prompt words, when, and which of the set."""
    words = re.sub(r"[^\w]+", "-", item.generation.prompt.lower()).strip("-")[:48] or "image"
    stamp = dt.datetime.fromtimestamp(item.generation.created_at).strftime("%Y%m%d-%H%M%S")
    suffix = f"-{item.index + 1}" if len(item.generation.images) > 1 else ""
    return f"{words}-{stamp}{suffix}.png"


def _convert_to_png(source: Path, dest: Path) -> bool:
    image = read_image(source)
    # PySide6 6.11 takes the format as str at run time (its stubs say bytes, which raises).
    return not image.isNull() and image.save(str(dest), "PNG")  # type: ignore[call-overload]


def _pictures_dir() -> Path:
    pictures = Path.home() / "Pictures"
    return pictures if pictures.is_dir() else Path.home()
