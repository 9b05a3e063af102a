"""Bulk-built histories for benchmarks: the real schema and triggers, realistic text.

Rows go straight into the database file (one transaction, FTS rebuilt once at the end),
far faster than through the store's throttled API, and the store then opens it as usual.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np

MODELS = [
    ("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("openai", "o3-mini"), ("anthropic-proxy", "claude-3-5-sonnet"),
    ("openrouter", "llama-3.1-70b"), ("openrouter", "mistral-large"), ("local", "qwen2.5-7b"), ("local", "phi-3"),
]  # fmt: skip
NOW = 1_790_000_000.0


def make_vocabulary(rng: random.Random, size: int = 30_000) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + [
        "th",
        "st",
        "ng",
        "er",
        "ion",
        "al",
    ]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(syllables, k=rng.choice((1, 2, 2, 3, 3, 4)))))
    return sorted(words, key=lambda w: (len(w), w))  # short words are the frequent ones (Zipf rank)


def zipf_weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) ** 1.05 for rank in range(n)]


def build_history(
    db: Path,
    rng: random.Random,
    vocab: list[str],
    *,
    conversations: int,
    messages: int,
    long_conversation: int,
    now: float = NOW,
) -> int:
    """Bulk-insert conversations and messages into an opened-then-closed store database;
    returns the id of the one long conversation."""
    weights = zipf_weights(len(vocab))
    conn = bulk_connection(db)
    # Bulk path: index the text in one FTS 'rebuild' after the load instead of row by row.
    fts_trigger = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_fts_insert'"
    ).fetchone()[0]
    conn.execute("BEGIN")
    conn.execute("DROP TRIGGER messages_fts_insert")
    sizes = [rng.randint(20, 180) for _ in range(conversations - 1)]
    scale = (messages - long_conversation) / sum(sizes)
    sizes = [max(2, round(s * scale)) for s in sizes]
    sizes[-1] += messages - long_conversation - sum(sizes)
    long_index = rng.randrange(conversations)
    sizes.insert(long_index, long_conversation)
    # Draw every word at once with numpy: far faster than per message. User turns ~25
    # words, answers ~100 (log-normal, long tail), words Zipf-distributed.
    nprng = np.random.default_rng(rng.randrange(1 << 30))
    lengths_np = np.where(
        np.arange(messages) % 2 == 0,
        nprng.lognormal(3.0, 0.7, messages).astype(int) + 3,
        nprng.lognormal(4.4, 0.7, messages).astype(int) + 5,
    )
    lengths = lengths_np.tolist()
    p = np.asarray(weights) / sum(weights)
    words = np.asarray(vocab, dtype=object)[
        nprng.choice(len(vocab), size=int(lengths_np.sum()), p=p)
    ].tolist()
    pos = 0
    msg_id = 0
    long_id = 0
    t = now - 365 * 86400
    message_rows: list[tuple[object, ...]] = []
    leaves: list[tuple[int, int]] = []
    for conv_index, size in enumerate(sizes):
        provider, model = MODELS[conv_index % len(MODELS)]
        conv_id = conv_index + 1
        title = " ".join(rng.choices(vocab[:5000], k=rng.randint(2, 6))).capitalize()
        conn.execute(
            "INSERT INTO conversations (id, uid, title, created_at, updated_at, provider, model) VALUES (?,?,?,?,?,?,?)",
            (conv_id, f"bench-{conv_id}", title, t, t + size * 30, provider, model),
        )
        parent: int | None = None
        for i in range(size):
            n = lengths[msg_id]
            text = " ".join(words[pos : pos + n])
            pos += n
            msg_id += 1
            role = "user" if i % 2 == 0 else "assistant"
            message_rows.append(
                (
                    msg_id,
                    conv_id,
                    parent,
                    role,
                    text,
                    model if role == "assistant" else None,
                    provider,
                    t + i * 30,
                )
            )
            parent = msg_id
        leaves.append((msg_id, conv_id))
        if size == long_conversation:
            long_id = conv_id
        t += 365 * 86400 / conversations
        if len(message_rows) > 20_000:
            insert_messages(conn, message_rows)
            message_rows = []
    insert_messages(conn, message_rows)
    conn.executemany("UPDATE conversations SET current_leaf_id = ? WHERE id = ?", leaves)
    conn.execute(fts_trigger)
    conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
    conn.execute("COMMIT")
    conn.close()
    return long_id


def insert_messages(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    conn.executemany(
        "INSERT INTO messages (id, conversation_id, parent_id, role, text, model, provider, status, created_at, "
        "updated_at) VALUES (?,?,?,?,?,?,?,'complete',?,?8)",
        rows,
    )


def bulk_connection(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")  # a throwaway database being generated
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -400000")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn
