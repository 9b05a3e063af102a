"""Conversations and messages: the SQL behind `Store`'s chat methods.

Functions take a connection first; writes expect to run inside the writer's transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from app.store.errors import NotFoundError
from app.store.models import Conversation, Message, MessagePage, MessageStatus, Usage

_CONV_SELECT = f"SELECT {Conversation.COLUMNS} FROM conversations"
_MSG_SELECT = f"SELECT {Message.COLUMNS} FROM messages"
_MSG_COLUMNS_M = ", ".join(f"m.{c.strip()}" for c in Message.COLUMNS.split(","))

CONVERSATION_FIELDS = frozenset(
    {
        "title",
        "pinned",
        "archived",
        "provider",
        "model",
        "system_prompt",
        "params",
        "folder",
        "tags",
    }
)
_JSON_FIELDS = frozenset({"params", "tags"})


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# -- conversations -------------------------------------------------------------------------


def create_conversation(
    conn: sqlite3.Connection,
    *,
    title: str = "",
    provider: str | None = None,
    model: str | None = None,
    system_prompt: str = "",
    params: dict[str, Any] | None = None,
    folder: str | None = None,
    tags: list[str] | None = None,
    pinned: bool = False,
    archived: bool = False,
    uid: str | None = None,
    created_at: float | None = None,
    updated_at: float | None = None,
) -> Conversation:
    now = time.time()
    created = created_at if created_at is not None else now
    cur = conn.execute(
        "INSERT INTO conversations (uid, title, created_at, updated_at, pinned, archived, provider, "
        "model, system_prompt, params, folder, tags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            uid or _new_uid(), title, created, updated_at if updated_at is not None else created,
            int(pinned), int(archived), provider, model, system_prompt, _dumps(params or {}), folder,
            _dumps(tags or []),
        ),
    )  # fmt: skip
    return get_conversation(conn, int(cur.lastrowid or 0))


def get_conversation(conn: sqlite3.Connection, conversation_id: int) -> Conversation:
    row = conn.execute(f"{_CONV_SELECT} WHERE id = ?", (conversation_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"Conversation {conversation_id} does not exist.")
    return Conversation.from_row(row)


def find_conversation_uid(conn: sqlite3.Connection, uid: str) -> int | None:
    row = conn.execute("SELECT id FROM conversations WHERE uid = ?", (uid,)).fetchone()
    return None if row is None else int(row[0])


def update_conversation(
    conn: sqlite3.Connection, conversation_id: int, changes: dict[str, Any]
) -> Conversation:
    unknown = set(changes) - CONVERSATION_FIELDS
    if unknown:
        raise ValueError(f"unknown conversation fields: {sorted(unknown)}")
    if changes:
        cols = ", ".join(f"{name} = ?" for name in changes)
        values = [
            _dumps(v) if k in _JSON_FIELDS else int(v) if k in ("pinned", "archived") else v
            for k, v in changes.items()
        ]
        cur = conn.execute(
            f"UPDATE conversations SET {cols}, updated_at = ? WHERE id = ?",
            (*values, time.time(), conversation_id),
        )
        if cur.rowcount == 0:
            raise NotFoundError(f"Conversation {conversation_id} does not exist.")
    return get_conversation(conn, conversation_id)


def delete_conversation(conn: sqlite3.Connection, conversation_id: int) -> None:
    # Clear the leaf first: the cascade would otherwise update a row that is being deleted.
    conn.execute("UPDATE conversations SET current_leaf_id = NULL WHERE id = ?", (conversation_id,))
    cur = conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
    if cur.rowcount == 0:
        raise NotFoundError(f"Conversation {conversation_id} does not exist.")


def list_conversations(
    conn: sqlite3.Connection,
    *,
    archived: bool | None = False,
    folder: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Conversation]:
    """Pinned first, then most recently updated."""
    where: list[str] = []
    args: list[Any] = []
    if archived is not None:
        where.append("archived = ?")
        args.append(int(archived))
    if folder is not None:
        where.append("folder = ?")
        args.append(folder)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"{_CONV_SELECT}{clause} ORDER BY pinned DESC, updated_at DESC LIMIT ? OFFSET ?",
        (*args, limit, offset),
    ).fetchall()
    return [Conversation.from_row(r) for r in rows]


def count_conversations(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM conversations").fetchone()[0])


# -- messages --------------------------------------------------------------------------------


class _Leaf:
    """Sentinel: append after the conversation's current leaf."""

    def __repr__(self) -> str:
        return "CURRENT_LEAF"


CURRENT_LEAF: Any = _Leaf()


def insert_message(
    conn: sqlite3.Connection,
    conversation_id: int,
    role: str,
    text: str = "",
    *,
    parent_id: int | None = CURRENT_LEAF,
    parts: list[dict[str, Any]] | None = None,
    model: str | None = None,
    provider: str | None = None,
    status: MessageStatus | str = MessageStatus.COMPLETE,
    finish_reason: str | None = None,
    error: dict[str, Any] | None = None,
    usage: Usage | None = None,
    cost: float | None = None,
    latency_s: float | None = None,
    ttft_s: float | None = None,
    created_at: float | None = None,
    make_current: bool = True,
) -> Message:
    status = MessageStatus(status)
    conv = conn.execute(
        "SELECT current_leaf_id FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    if conv is None:
        raise NotFoundError(f"Conversation {conversation_id} does not exist.")
    if parent_id is CURRENT_LEAF:
        parent_id = conv[0]
    if parent_id is not None:
        owner = conn.execute(
            "SELECT conversation_id FROM messages WHERE id = ?", (parent_id,)
        ).fetchone()
        if owner is None or owner[0] != conversation_id:
            raise NotFoundError(f"Message {parent_id} is not in conversation {conversation_id}.")
    now = time.time()
    created = created_at if created_at is not None else now
    usage = usage or Usage()
    cur = conn.execute(
        "INSERT INTO messages (conversation_id, parent_id, role, text, parts, model, provider, status, "
        "finish_reason, error, prompt_tokens, completion_tokens, tokens_estimated, cost, latency_s, "
        "ttft_s, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            conversation_id, parent_id, role, text, _dumps(parts or []), model, provider, status.value,
            finish_reason, None if error is None else _dumps(error), usage.prompt_tokens,
            usage.completion_tokens, int(usage.estimated), cost, latency_s, ttft_s, created, created,
        ),
    )  # fmt: skip
    message_id = int(cur.lastrowid or 0)
    if make_current:
        conn.execute(
            "UPDATE conversations SET current_leaf_id = ?, updated_at = max(updated_at, ?) WHERE id = ?",
            (message_id, created, conversation_id),
        )
    else:
        conn.execute(
            "UPDATE conversations SET updated_at = max(updated_at, ?) WHERE id = ?",
            (created, conversation_id),
        )
    return get_message(conn, message_id)


def get_message(conn: sqlite3.Connection, message_id: int) -> Message:
    row = conn.execute(f"{_MSG_SELECT} WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"Message {message_id} does not exist.")
    return Message.from_row(row)


def write_streaming_text(conn: sqlite3.Connection, message_id: int, text: str) -> bool:
    """Save a streaming message's text so far; a message already finished is left alone."""
    cur = conn.execute(
        "UPDATE messages SET text = ?, updated_at = ? WHERE id = ? AND status = 'streaming'",
        (text, time.time(), message_id),
    )
    return cur.rowcount == 1


def finish_message(
    conn: sqlite3.Connection,
    message_id: int,
    text: str,
    status: MessageStatus | str = MessageStatus.COMPLETE,
    *,
    finish_reason: str | None = None,
    usage: Usage | None = None,
    cost: float | None = None,
    latency_s: float | None = None,
    ttft_s: float | None = None,
    error: dict[str, Any] | None = None,
    parts: list[dict[str, Any]] | None = None,
) -> Message:
    status = MessageStatus(status)
    if status is MessageStatus.STREAMING:
        raise ValueError("finish_message needs a final status, not 'streaming'")
    usage = usage or Usage()
    cur = conn.execute(
        "UPDATE messages SET text = ?, status = ?, finish_reason = ?, "
        "prompt_tokens = coalesce(?, prompt_tokens), completion_tokens = coalesce(?, completion_tokens), "
        "tokens_estimated = ?, cost = coalesce(?, cost), latency_s = coalesce(?, latency_s), "
        "ttft_s = coalesce(?, ttft_s), error = ?, parts = coalesce(?, parts), updated_at = ? WHERE id = ?",
        (
            text, status.value, finish_reason, usage.prompt_tokens, usage.completion_tokens,
            int(usage.estimated), cost, latency_s, ttft_s, None if error is None else _dumps(error),
            None if parts is None else _dumps(parts), time.time(), message_id,
        ),
    )  # fmt: skip
    if cur.rowcount == 0:
        raise NotFoundError(f"Message {message_id} does not exist.")
    return get_message(conn, message_id)


def set_parts(conn: sqlite3.Connection, message_id: int, parts: list[dict[str, Any]]) -> Message:
    """Replace a message's parts (e.g. an image fetched later), nothing else."""
    cur = conn.execute(
        "UPDATE messages SET parts = ?, updated_at = ? WHERE id = ?",
        (_dumps(parts), time.time(), message_id),
    )
    if cur.rowcount == 0:
        raise NotFoundError(f"Message {message_id} does not exist.")
    return get_message(conn, message_id)


def mark_interrupted(conn: sqlite3.Connection) -> int:
    """Rows left ``streaming`` by a crash or kill become ``interrupted``; returns how many."""
    cur = conn.execute(
        "UPDATE messages SET status = 'interrupted', updated_at = ? WHERE status = 'streaming'",
        (time.time(),),
    )
    return cur.rowcount


def delete_message(conn: sqlite3.Connection, message_id: int) -> None:
    """Delete a message and every reply below it. If the visible branch went with it, the
    parent becomes the leaf (for a first message: the newest remaining alternative)."""
    msg = get_message(conn, message_id)
    conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))
    leaf = conn.execute(
        "SELECT current_leaf_id FROM conversations WHERE id = ?", (msg.conversation_id,)
    ).fetchone()[0]
    if leaf is not None:
        return
    if msg.parent_id is not None:
        leaf = msg.parent_id
    else:
        root = conn.execute(
            "SELECT max(id) FROM messages WHERE conversation_id = ? AND parent_id IS NULL",
            (msg.conversation_id,),
        ).fetchone()[0]
        leaf = None if root is None else descend_newest(conn, root)
    conn.execute(
        "UPDATE conversations SET current_leaf_id = ?, updated_at = ? WHERE id = ?",
        (leaf, time.time(), msg.conversation_id),
    )


def set_current_leaf(conn: sqlite3.Connection, conversation_id: int, message_id: int) -> None:
    owner = conn.execute(
        "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    if owner is None or owner[0] != conversation_id:
        raise NotFoundError(f"Message {message_id} is not in conversation {conversation_id}.")
    conn.execute(
        "UPDATE conversations SET current_leaf_id = ? WHERE id = ?", (message_id, conversation_id)
    )


def descend_newest(conn: sqlite3.Connection, message_id: int) -> int:
    """The leaf reached from ``message_id`` by always taking the newest reply."""
    current = message_id
    while True:
        row = conn.execute(
            "SELECT id FROM messages WHERE parent_id = ? ORDER BY id DESC LIMIT 1", (current,)
        ).fetchone()
        if row is None:
            return current
        current = int(row[0])


def select_branch(conn: sqlite3.Connection, message_id: int) -> Message:
    """Show the branch through ``message_id`` (following newest replies); returns the new leaf."""
    msg = get_message(conn, message_id)
    leaf = descend_newest(conn, message_id)
    conn.execute(
        "UPDATE conversations SET current_leaf_id = ? WHERE id = ?", (leaf, msg.conversation_id)
    )
    return get_message(conn, leaf)


def _walk_up(conn: sqlite3.Connection, start: int, limit: int) -> list[Message]:
    rows = conn.execute(
        "WITH RECURSIVE branch(id, parent_id, depth) AS ("
        " SELECT id, parent_id, 0 FROM messages WHERE id = ?"
        " UNION ALL SELECT m.id, m.parent_id, b.depth + 1 FROM messages m JOIN branch b ON m.id = b.parent_id"
        " LIMIT ?)"
        f" SELECT {_MSG_COLUMNS_M} FROM branch JOIN messages m ON m.id = branch.id ORDER BY branch.depth DESC",
        (start, limit),
    ).fetchall()
    return [Message.from_row(r) for r in rows]


def page(
    conn: sqlite3.Connection, conversation_id: int, limit: int = 50, before: int | None = None
) -> MessagePage:
    """The newest ``limit`` messages of the active branch, or those before ``before`` (a cursor)."""
    if before is None:
        row = conn.execute(
            "SELECT current_leaf_id FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"Conversation {conversation_id} does not exist.")
        start = row[0]
    else:
        row = conn.execute(
            "SELECT parent_id FROM messages WHERE id = ? AND conversation_id = ?",
            (before, conversation_id),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"Message {before} is not in conversation {conversation_id}.")
        start = row[0]
    if start is None or limit <= 0:
        return MessagePage([], None)
    messages = _walk_up(conn, start, limit)
    oldest = messages[0]
    return MessagePage(messages, oldest.id if oldest.parent_id is not None else None)


def active_branch(conn: sqlite3.Connection, conversation_id: int) -> list[Message]:
    """Every message of the active branch, oldest first (for building a request)."""
    return page(conn, conversation_id, limit=1_000_000_000).messages


def siblings(conn: sqlite3.Connection, message_id: int) -> list[Message]:
    """The message and its alternatives (same parent), oldest first."""
    msg = get_message(conn, message_id)
    if msg.parent_id is None:
        rows = conn.execute(
            f"{_MSG_SELECT} WHERE conversation_id = ? AND parent_id IS NULL ORDER BY id",
            (msg.conversation_id,),
        ).fetchall()
    else:
        rows = conn.execute(
            f"{_MSG_SELECT} WHERE parent_id = ? ORDER BY id", (msg.parent_id,)
        ).fetchall()
    return [Message.from_row(r) for r in rows]


def children(conn: sqlite3.Connection, message_id: int) -> list[Message]:
    rows = conn.execute(f"{_MSG_SELECT} WHERE parent_id = ? ORDER BY id", (message_id,)).fetchall()
    return [Message.from_row(r) for r in rows]


def all_messages(conn: sqlite3.Connection, conversation_id: int) -> list[Message]:
    """Every message of a conversation, every branch, in insertion order."""
    rows = conn.execute(
        f"{_MSG_SELECT} WHERE conversation_id = ? ORDER BY id", (conversation_id,)
    ).fetchall()
    return [Message.from_row(r) for r in rows]


def _new_uid() -> str:
    import uuid  # with platform behind it, ~4 ms: not at start-up

    return uuid.uuid4().hex
