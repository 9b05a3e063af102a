"""Queries for the prompt library: saved prompts and assistants.

Functions take a ``sqlite3.Connection`` and run through the store's entry points
(``await store.write(prompt_queries.save_prompt, ...)``), called by ``app.core.prompts``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from app.store.errors import NotFoundError

__all__ = [
    "Prompt", "delete_prompt", "import_prompt", "list_prompts", "prompt_json", "save_prompt",
]  # fmt: skip

_COLUMNS = "id, kind, name, body, provider, model, params, created_at, updated_at"
KINDS = ("prompt", "assistant")


@dataclass(frozen=True, slots=True)
class Prompt:
    """A saved prompt (``body`` goes into the composer) or an assistant (``body`` is its
    system prompt; ``provider``/``model`` and ``params`` are its defaults)."""

    id: int
    kind: str
    name: str
    body: str
    provider: str | None = None
    model: str | None = None
    params: dict[str, Any] | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def is_assistant(self) -> bool:
        return self.kind == "assistant"


def _from_row(row: tuple[Any, ...]) -> Prompt:
    params = json.loads(row[6]) if row[6] else {}
    return Prompt(row[0], row[1], row[2], row[3], row[4], row[5], params, row[7], row[8])


def list_prompts(conn: sqlite3.Connection) -> list[Prompt]:
    """Every prompt and assistant, assistants first, then by name."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM prompts ORDER BY kind = 'prompt', name COLLATE NOCASE, id"
    )
    return [_from_row(r) for r in rows]


def save_prompt(
    conn: sqlite3.Connection,
    kind: str,
    name: str,
    body: str,
    *,
    provider: str | None = None,
    model: str | None = None,
    params: dict[str, Any] | None = None,
    prompt_id: int | None = None,
    created_at: float | None = None,
) -> Prompt:
    """Insert (``prompt_id`` None) or update one; returns it as stored."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    name = name.strip()
    if not name:
        raise ValueError("A prompt needs a name.")
    now = time.time()
    encoded = json.dumps(params or {})
    if prompt_id is None:
        cur = conn.execute(
            "INSERT INTO prompts (kind, name, body, provider, model, params, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, name, body, provider, model, encoded, created_at or now, now),
        )
        prompt_id = int(cur.lastrowid or 0)
    else:
        cur = conn.execute(
            "UPDATE prompts SET kind = ?, name = ?, body = ?, provider = ?, model = ?, "
            "params = ?, updated_at = ? WHERE id = ?",
            (kind, name, body, provider, model, encoded, now, prompt_id),
        )
        if cur.rowcount == 0:
            raise NotFoundError(f"Prompt {prompt_id} does not exist.")
    row = conn.execute(f"SELECT {_COLUMNS} FROM prompts WHERE id = ?", (prompt_id,)).fetchone()
    return _from_row(row)


def delete_prompt(conn: sqlite3.Connection, prompt_id: int) -> None:
    if conn.execute("DELETE FROM prompts WHERE id = ?", (prompt_id,)).rowcount == 0:
        raise NotFoundError(f"Prompt {prompt_id} does not exist.")


def prompt_json(p: Prompt) -> dict[str, Any]:
    """How a prompt is written in an export (and read back by the import)."""
    return {
        "kind": p.kind, "name": p.name, "body": p.body, "provider": p.provider,
        "model": p.model, "params": p.params or {}, "created_at": p.created_at,
    }  # fmt: skip


def import_prompt(conn: sqlite3.Connection, item: dict[str, Any]) -> bool:
    """Insert an exported prompt unless the same one is already there; True if inserted."""
    kind, name, body = item.get("kind"), item.get("name"), item.get("body")
    if kind not in KINDS or not isinstance(name, str) or not isinstance(body, str):
        raise ValueError("a prompt needs a kind, a name and a body")
    same = conn.execute(
        "SELECT 1 FROM prompts WHERE kind = ? AND name = ? AND body = ?", (kind, name, body)
    ).fetchone()
    if same:
        return False
    params = item.get("params")
    save_prompt(
        conn, kind, name, body,
        provider=item.get("provider") if isinstance(item.get("provider"), str) else None,
        model=item.get("model") if isinstance(item.get("model"), str) else None,
        params=params if isinstance(params, dict) else None,
        created_at=item.get("created_at") if isinstance(item.get("created_at"), int | float) else None,
    )  # fmt: skip
    return True
