"""Queries for the speech and transcription histories: delete one item, forget unused blobs.

Functions take a ``sqlite3.Connection`` and are run through the store's entry points::

    unused = await store.write(audio_queries.delete_speech, item_id)
    for sha in unused: store.blob_path(sha).unlink(missing_ok=True)

A transcript's full-text entry goes with it (the table's delete trigger). The audio file
is removed only when no other item refers to it (blobs are shared by content).
"""

from __future__ import annotations

import json
import sqlite3

from app.store.errors import NotFoundError
from app.store.image_queries import blob_in_use

__all__ = ["delete_speech", "delete_transcription"]


def _delete(conn: sqlite3.Connection, table: str, column: str, item_id: int) -> list[str]:
    row = conn.execute(f"SELECT {column} FROM {table} WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"{table} row {item_id} does not exist.")
    conn.execute(f"DELETE FROM {table} WHERE id = ?", (item_id,))
    sha = json.loads(row[0]).get("sha256") if row[0] else None
    if not sha or blob_in_use(conn, sha):
        return []
    conn.execute("DELETE FROM blobs WHERE sha256 = ?", (sha,))
    return [sha]


def delete_speech(conn: sqlite3.Connection, item_id: int) -> list[str]:
    """Delete a speech clip; returns the sha256 of its audio when nothing else uses it."""
    return _delete(conn, "speech_items", "audio", item_id)


def delete_transcription(conn: sqlite3.Connection, item_id: int) -> list[str]:
    """Delete a transcript; returns the sha256 of its audio when nothing else uses it."""
    return _delete(conn, "transcriptions", "source", item_id)
