"""The gallery: a list model of every kept image, thumbnails decoded off the Qt thread.

One row per image (a generation with ``n`` images gives ``n`` rows). Rows are read from the
store a page of generations at a time (``fetchMore`` as the view scrolls), thumbnails are
decoded and scaled by ``QImageReader`` on a small thread pool only when a row is painted,
and kept in a bounded cache; the view never holds a widget per image.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter, QPixmap
from PySide6.QtWidgets import QListView

from app.store import BlobRef, ImageGeneration, Store

THUMB = 160
PAGE = 60
CACHE_LIMIT = 300  # ~30 MB of 160 px thumbnails; a screen shows far fewer
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
SHA_ROLE = Qt.ItemDataRole.UserRole + 2

_ModelIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class GalleryItem:
    """One image of one generation."""

    generation: ImageGeneration
    index: int

    @property
    def ref(self) -> BlobRef:
        return self.generation.images[self.index]

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.generation.id, self.index, self.ref.sha256)


def read_image(path: Path, longest: int | None = None) -> QImage:
    """Decode ``path`` (scaled so its longest side is ``longest``); a null image on failure.

    Safe on any thread: QImage and QImageReader do not touch the GUI.
    """
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    if longest is not None:
        size = reader.size()
        if size.isValid() and max(size.width(), size.height()) > longest:
            reader.setScaledSize(size.scaled(longest, longest, Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


def read_thumbnail(path: Path, side: int = THUMB) -> QImage:
    """The picture scaled into a ``side`` square, centred (every cell lines up); null on failure."""
    image = read_image(path, side)
    if image.isNull():
        return image
    square = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    square.fill(Qt.GlobalColor.transparent)
    painter = QPainter(square)
    painter.drawImage((side - image.width()) // 2, (side - image.height()) // 2, image)
    painter.end()
    return square


class ImageLoader(QObject):
    """Decodes images on its own pool; ``loaded`` arrives on the Qt thread."""

    loaded = Signal(str, QImage)  # key, image (null when unreadable)

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._pending: set[str] = set()
        self.loaded.connect(self._on_loaded)

    def request(self, key: str, path: Path) -> None:
        """Decode a thumbnail of ``path``; ``loaded(key, image)`` follows."""
        if key in self._pending:
            return
        self._pending.add(key)

        def work() -> None:
            # Emitting from the worker queues the call to the receiver's (Qt) thread.
            self.loaded.emit(key, read_thumbnail(path))

        self.pool.start(work)

    def _on_loaded(self, key: str, _image: QImage) -> None:
        self._pending.discard(key)

    def stop(self) -> None:
        """Drop queued work and wait for the running decodes (shutdown)."""
        self.pool.clear()
        self.pool.waitForDone(3000)
        self._pending.clear()


class GalleryModel(QAbstractListModel):
    """Kept images, newest first, paged in from the store."""

    def __init__(self, store: Store, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.items: list[GalleryItem] = []
        self._generations_read = 0
        self._exhausted = False
        self._thumbs: OrderedDict[str, QPixmap] = OrderedDict()
        self._missing: set[str] = set()
        self.loader = ImageLoader(self)
        self._by_sha: dict[str, list[int]] | None = None
        self.placeholder = _placeholder()
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.loader.loaded.connect(self.on_loader_loaded)
        for signal in (self.rowsInserted, self.rowsRemoved, self.modelReset):
            signal.connect(self.on_rows_changed)

    def on_rows_changed(self, *_args: object) -> None:
        self._by_sha = None

    # -- Qt model ------------------------------------------------------------------------

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.items)

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.items):
            return None
        item = self.items[index.row()]
        gen = item.generation
        if role == Qt.ItemDataRole.DisplayRole:
            return _one_line(gen.prompt, 40)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnail(item)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return describe(item)
        if role == ITEM_ROLE:
            return item
        if role == SHA_ROLE:
            return item.ref.sha256
        return None

    def canFetchMore(self, parent: _ModelIndex) -> bool:
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: _ModelIndex) -> None:
        if parent.isValid() or self._exhausted:
            return
        page = self.store.list_image_generations(PAGE, self._generations_read)
        self._generations_read += len(page)
        if len(page) < PAGE:
            self._exhausted = True
        rows = [GalleryItem(g, i) for g in page for i in range(len(g.images))]
        if rows:
            first = len(self.items)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self.items.extend(rows)
            self.endInsertRows()

    # -- changes -------------------------------------------------------------------------

    def reload(self) -> None:
        self.beginResetModel()
        self.items = []
        self._generations_read = 0
        self._exhausted = False
        self.endResetModel()
        self.fetchMore(QModelIndex())

    def prepend(self, generation: ImageGeneration) -> None:
        """A new generation goes on top (it is also counted as read)."""
        rows = [GalleryItem(generation, i) for i in range(len(generation.images))]
        if not rows:
            return
        self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
        self.items[0:0] = rows
        self._generations_read += 1
        self.endInsertRows()

    def update_generation(self, generation_id: int, generation: ImageGeneration | None) -> None:
        """Show a generation's images as they are now (None: it was deleted)."""
        rows = [r for r, it in enumerate(self.items) if it.generation.id == generation_id]
        if not rows:
            return
        first, last = rows[0], rows[-1]
        self.beginRemoveRows(QModelIndex(), first, last)
        del self.items[first : last + 1]
        self.endRemoveRows()
        if generation is None or not generation.images:
            self._generations_read = max(0, self._generations_read - 1)
            return
        fresh = [GalleryItem(generation, i) for i in range(len(generation.images))]
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        self.items[first:first] = fresh
        self.endInsertRows()

    def forget_thumbnail(self, sha: str) -> None:
        self._thumbs.pop(sha, None)
        self._missing.discard(sha)

    def row_of(self, generation_id: int, index: int = 0) -> int:
        for row, item in enumerate(self.items):
            if item.generation.id == generation_id and item.index == index:
                return row
        return -1

    # -- thumbnails ------------------------------------------------------------------------

    def thumbnail(self, item: GalleryItem) -> QPixmap:
        sha = item.ref.sha256
        cached = self._thumbs.get(sha)
        if cached is not None:
            self._thumbs.move_to_end(sha)
            return cached
        if sha not in self._missing:
            self.loader.request(f"thumb:{sha}", self.store.blob_path(sha))
        return self.placeholder

    def has_thumbnail(self, sha: str) -> bool:
        return sha in self._thumbs

    def on_loader_loaded(self, key: str, image: QImage) -> None:
        if not key.startswith("thumb:"):
            return
        sha = key[len("thumb:") :]
        if image.isNull():
            self._missing.add(sha)  # a missing or broken file keeps the placeholder
            self._thumbs[sha] = _placeholder(broken=True)
        else:
            self._thumbs[sha] = QPixmap.fromImage(image)
        while len(self._thumbs) > CACHE_LIMIT:
            self._thumbs.popitem(last=False)
        for row in self._rows_of_sha().get(sha, ()):
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def _rows_of_sha(self) -> dict[str, list[int]]:
        """Rows showing each file (rebuilt only after rows changed)."""
        if self._by_sha is None:
            self._by_sha = {}
            for row, item in enumerate(self.items):
                self._by_sha.setdefault(item.ref.sha256, []).append(row)
        return self._by_sha


class GalleryView(QListView):
    """A grid of thumbnails with the start of each prompt beneath."""

    def __init__(self) -> None:
        super().__init__()
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 24, THUMB + 52))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setSpacing(4)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        # The whole cell shows the selection, not only the caption (the thumbnail is opaque).
        self.setStyleSheet(
            "QListView::item { border-radius: 6px; padding: 2px; }"
            "QListView::item:selected { background: palette(highlight);"
            " color: palette(highlighted-text); }"
        )

    def current_item(self) -> GalleryItem | None:
        index = self.currentIndex()
        item = index.data(ITEM_ROLE) if index.isValid() else None
        return item if isinstance(item, GalleryItem) else None

    def selected_items(self) -> list[GalleryItem]:
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        items = [self.model().index(r, 0).data(ITEM_ROLE) for r in rows]
        return [i for i in items if isinstance(i, GalleryItem)]


# --- words ---------------------------------------------------------------------------------


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(item: GalleryItem) -> str:
    """A few lines about one image: prompt, model, size, when, cost."""
    gen = item.generation
    params = gen.params
    when = dt.datetime.fromtimestamp(gen.created_at).strftime("%Y-%m-%d %H:%M")
    bits = [f"{gen.provider or '?'} / {gen.model or '?'}", when]
    size = params.get("size_sent") or params.get("size")
    if size:
        bits.append(str(size))
    if len(gen.images) > 1:
        bits.append(f"image {item.index + 1} of {len(gen.images)}")
    if gen.cost is not None:
        bits.append(f"${gen.cost:.4f}".rstrip("0").rstrip(".") if gen.cost else "$0")
    lines = [_one_line(gen.prompt, 300), " · ".join(bits)]
    if gen.revised_prompt:
        lines.append(f"Revised by the provider: {_one_line(gen.revised_prompt, 200)}")
    return "\n".join(lines)


def _placeholder(*, broken: bool = False) -> QPixmap:
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor(128, 128, 128, 160))
    painter.setBrush(QColor(128, 128, 128, 40))
    painter.drawRoundedRect(4, 4, THUMB - 8, THUMB - 8, 8, 8)
    if broken:
        painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, "File missing")
    painter.end()
    return pixmap
