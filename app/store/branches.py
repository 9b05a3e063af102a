"""Where each message stands among its alternatives (edits, regenerations): "2/3"."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence


def branch_positions(
    conn: sqlite3.Connection, message_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """``{message_id: (index, count)}`` among its siblings, for the given messages.

    Two indexed queries for a whole page, instead of one query per message.
    """
    if not message_ids:
        return {}
    marks = ",".join("?" * len(message_ids))
    rows = conn.execute(
        f"SELECT id, parent_id, conversation_id FROM messages WHERE id IN ({marks})",
        list(message_ids),
    ).fetchall()
    parents = sorted({row[1] for row in rows if row[1] is not None})
    roots = sorted({row[2] for row in rows if row[1] is None})
    family: dict[tuple[str, int], list[int]] = {}
    if parents:
        marks = ",".join("?" * len(parents))
        for sibling, parent in conn.execute(
            f"SELECT id, parent_id FROM messages WHERE parent_id IN ({marks}) ORDER BY id", parents
        ):
            family.setdefault(("parent", parent), []).append(sibling)
    for conversation in roots:
        family[("root", conversation)] = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS NULL ORDER BY id",
                (conversation,),
            )
        ]
    positions: dict[int, tuple[int, int]] = {}
    for message_id, parent, conversation in rows:
        group = family.get(
            ("parent", parent) if parent is not None else ("root", conversation), [message_id]
        )
        positions[message_id] = (group.index(message_id), len(group))
    return positions
