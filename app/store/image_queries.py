"""Queries for the images gallery: count, fetch one, remove one image, forget unused blobs.

Functions take a ``sqlite3.Connection`` and are run through the store's entry points::

    total = store.read_now(image_queries.count_generations)
    orphan = await store.write(image_queries.remove_image, generation_id, 0, sha256)
    if orphan: store.blob_path(orphan).unlink(missing_ok=True)

A generation keeps a JSON list of its images; removing the last one removes the row (and
its full-text entry, by the table's delete trigger).
"""

from __future__ import annotations

import json
import sqlite3

from app.store.errors import NotFoundError
from app.store.media import get_image_generation
from app.store.models import BlobRef, ImageGeneration

__all__ = [
    "blob_in_use",
    "count_generations",
    "delete_generation",
    "get_generation",
    "remove_image",
]

# Every column that may name a blob by its sha256 (JSON text); a blob named nowhere is unused.
_BLOB_COLUMNS = (
    ("image_generations", "images"),
    ("messages", "parts"),
    ("speech_items", "audio"),
    ("transcriptions", "source"),
)


def count_generations(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM image_generations").fetchone()[0])


def get_generation(conn: sqlite3.Connection, generation_id: int) -> ImageGeneration:
    """One generation; raises `NotFoundError` when it was deleted."""
    return get_image_generation(conn, generation_id)


def blob_in_use(conn: sqlite3.Connection, sha256: str) -> bool:
    """True when any stored item still refers to the blob."""
    for table, column in _BLOB_COLUMNS:
        row = conn.execute(
            f"SELECT 1 FROM {table} WHERE instr({column}, ?) > 0 LIMIT 1", (sha256,)
        ).fetchone()
        if row is not None:
            return True
    return False


def _forget_if_unused(conn: sqlite3.Connection, sha256: str) -> str | None:
    if blob_in_use(conn, sha256):
        return None
    conn.execute("DELETE FROM blobs WHERE sha256 = ?", (sha256,))
    return sha256


def remove_image(
    conn: sqlite3.Connection, generation_id: int, index: int, sha256: str
) -> str | None:
    """Take the image at ``index`` out of a generation (the row goes with its last image).

    ``sha256`` must match the image there (a gallery showing stale rows removes nothing
    else). Returns the sha256 when no item refers to that file any more (the caller deletes
    the file, outside the transaction), else None. Raises `NotFoundError` for an unknown row
    or an image the row does not hold at ``index``.
    """
    row = conn.execute(
        "SELECT images FROM image_generations WHERE id = ?", (generation_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"Image generation {generation_id} does not exist.")
    images = [BlobRef.from_json(d) for d in json.loads(row[0])]
    if not 0 <= index < len(images) or images[index].sha256 != sha256:
        raise NotFoundError(f"Image generation {generation_id} has no image {sha256[:12]}… there.")
    kept = images[:index] + images[index + 1 :]
    if kept:
        conn.execute(
            "UPDATE image_generations SET images = ? WHERE id = ?",
            (json.dumps([r.to_json() for r in kept], separators=(",", ":")), generation_id),
        )
    else:
        conn.execute("DELETE FROM image_generations WHERE id = ?", (generation_id,))
    return _forget_if_unused(conn, sha256)


def delete_generation(conn: sqlite3.Connection, generation_id: int) -> list[str]:
    """Delete a whole generation; returns the sha256s no item refers to any more."""
    generation = get_image_generation(conn, generation_id)
    conn.execute("DELETE FROM image_generations WHERE id = ?", (generation_id,))
    unused = (_forget_if_unused(conn, ref.sha256) for ref in generation.images)
    return [sha for sha in unused if sha is not None]
