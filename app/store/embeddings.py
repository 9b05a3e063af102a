"""Message embeddings for search by meaning: float32 vectors in SQLite, tagged with the model.

Every function takes a ``sqlite3.Connection`` and runs through ``store.write(fn, ...)``
(writer thread) or ``store.read(fn, ...)`` (reader thread); :func:`ensure_schema` creates
the table with ``IF NOT EXISTS`` (no migration step: the table is a cache that can always
be rebuilt from the messages).

A vector is kept per ``(model, message_id)``, where ``model`` is the key the caller
chooses (``provider/model``), so switching models keeps the old vectors until they are
dropped and a new model starts from zero. ``source_updated`` is the message's
``updated_at`` when it was embedded: a message changed since then counts as pending again.
Deleting a message deletes its vectors (``ON DELETE CASCADE``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_TABLE = """
CREATE TABLE IF NOT EXISTS message_embeddings (
    model          TEXT    NOT NULL,
    message_id     INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    dims           INTEGER NOT NULL,
    vector         BLOB    NOT NULL,
    source_updated REAL    NOT NULL,
    created_at     REAL    NOT NULL,
    PRIMARY KEY (model, message_id)
) WITHOUT ROWID
"""
# The cascade looks rows up by message id: without this index every deleted message
# would scan the whole table.
_INDEX = (
    "CREATE INDEX IF NOT EXISTS message_embeddings_by_message ON message_embeddings(message_id)"
)

EMBEDDED_ROLES = ("user", "assistant")
"""Only what people wrote and what models answered is searched by meaning."""

# A message is worth embedding once it has settled and has text.
_CANDIDATE = (
    "m.role IN ('user', 'assistant') AND m.status IN ('complete', 'stopped') AND m.text <> ''"
)
_MISSING = (
    "NOT EXISTS (SELECT 1 FROM message_embeddings e WHERE e.model = :model "
    "AND e.message_id = m.id AND e.source_updated >= m.updated_at)"
)


@dataclass(frozen=True, slots=True)
class PendingCount:
    """What is left to embed for a model: messages and their characters (for a cost guess)."""

    messages: int
    characters: int


@dataclass(frozen=True, slots=True)
class StoredVectors:
    """All vectors of one model: ids in order and the float32 rows concatenated."""

    ids: list[int]
    dims: int
    data: bytes


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the table and its index if missing. Run it on the writer."""
    conn.execute(_TABLE)
    conn.execute(_INDEX)


def count_pending(
    conn: sqlite3.Connection, model: str, max_chars: int | None = None
) -> PendingCount:
    """Messages without a current vector for ``model``, and their characters (each counted
    up to ``max_chars``, what would be sent)."""
    length = "length(m.text)" if max_chars is None else "min(length(m.text), :max_chars)"
    row = conn.execute(
        f"SELECT count(*), coalesce(sum({length}), 0) FROM messages m "
        f"WHERE {_CANDIDATE} AND {_MISSING}",
        {"model": model, "max_chars": max_chars},
    ).fetchone()
    return PendingCount(int(row[0]), int(row[1]))


def pending(
    conn: sqlite3.Connection, model: str, limit: int, after_id: int = 0
) -> list[tuple[int, float, str]]:
    """The next ``limit`` messages (``id > after_id``, oldest first) lacking a current
    vector for ``model``, as ``(id, updated_at, text)``."""
    return [
        (int(i), float(u), str(t))
        for i, u, t in conn.execute(
            f"SELECT m.id, m.updated_at, m.text FROM messages m "
            f"WHERE m.id > :after AND {_CANDIDATE} AND {_MISSING} ORDER BY m.id LIMIT :limit",
            {"model": model, "after": after_id, "limit": limit},
        )
    ]


def store_batch(
    conn: sqlite3.Connection,
    model: str,
    dims: int,
    rows: Sequence[tuple[int, float, bytes]],
) -> int:
    """Save ``(message_id, source_updated, float32 bytes)`` rows (replacing older ones).
    Messages deleted meanwhile are skipped; returns how many were saved."""
    now = time.time()
    saved = 0
    for message_id, updated, blob in rows:
        if len(blob) != dims * 4:
            raise ValueError(f"vector of message {message_id} is not {dims} float32 values")
        # INSERT ... SELECT: a message deleted while its batch was being embedded is skipped
        # instead of failing the foreign key (and the whole batch).
        cursor = conn.execute(
            "INSERT OR REPLACE INTO message_embeddings "
            "(model, message_id, dims, vector, source_updated, created_at) "
            "SELECT ?, id, ?, ?, ?, ? FROM messages WHERE id = ?",
            (model, dims, blob, updated, now, message_id),
        )
        saved += cursor.rowcount
    return saved


def load_vectors(
    conn: sqlite3.Connection, model: str, after_id: int = 0, limit: int | None = None
) -> StoredVectors:
    """Vectors of ``model`` with ``message_id > after_id`` (by id). Rows whose size differs
    from the first one's are left out (a model that changed its output size)."""
    sql = (
        "SELECT message_id, dims, vector FROM message_embeddings "
        "WHERE model = ? AND message_id > ? ORDER BY message_id"
    )
    params: tuple[object, ...] = (model, after_id)
    if limit is not None:
        sql += " LIMIT ?"
        params += (limit,)
    ids: list[int] = []
    chunks: list[bytes] = []
    dims = 0
    for message_id, row_dims, blob in conn.execute(sql, params):
        if not dims:
            dims = int(row_dims)
        if row_dims != dims:
            continue
        ids.append(int(message_id))
        chunks.append(blob)
    return StoredVectors(ids, dims, b"".join(chunks))


def stored_models(conn: sqlite3.Connection) -> dict[str, int]:
    """``{model: number of vectors}``."""
    return {
        str(m): int(n)
        for m, n in conn.execute(
            "SELECT model, count(*) FROM message_embeddings GROUP BY model ORDER BY model"
        )
    }


def drop_model(conn: sqlite3.Connection, model: str) -> int:
    """Forget every vector of ``model``; returns how many were deleted."""
    return conn.execute("DELETE FROM message_embeddings WHERE model = ?", (model,)).rowcount


def message_rows(conn: sqlite3.Connection, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """``(id, conversation_id, role, model, provider, text, created_at, title)`` of messages
    (in no particular order; unknown ids are skipped), for showing hits."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return conn.execute(
        "SELECT m.id, m.conversation_id, m.role, m.model, m.provider, m.text, m.created_at, "
        f"c.title FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        f"WHERE m.id IN ({marks})",
        list(ids),
    ).fetchall()
