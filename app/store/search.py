"""Full-text search (FTS5, bm25 ranking) over messages, titles, transcripts and image prompts."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.store.models import SearchHit

KINDS = ("message", "conversation", "transcription", "image")
RANKED_CANDIDATES = 2000
"""At most this many of the newest matching messages are ranked by relevance."""
_START, _END = "\x02", "\x03"
_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Narrow a search; ``None`` means no restriction. Times are Unix seconds."""

    model: str | None = None
    provider: str | None = None
    role: str | None = None
    since: float | None = None
    until: float | None = None
    conversation_id: int | None = None
    kinds: Sequence[str] = KINDS


def build_match(query: str) -> str | None:
    """Turn what a user typed into a safe FTS5 query: every word must match (prefix for the
    last word while typing, from 3 letters), ``"quoted text"`` is a phrase; FTS5 operators
    are not interpreted."""
    terms: list[str] = []
    last_is_word = False
    last_length = 0
    for phrase, word in _TOKEN.findall(query):
        cleaned = _NON_WORD.sub(" ", phrase or word).strip()
        if cleaned:
            terms.append(f'"{cleaned}"')
            last_is_word = bool(word)
            last_length = len(cleaned.rsplit(" ", 1)[-1])
    if not terms:
        return None
    # Prefix-match the word being typed, from 3 letters on (1-2 letter prefixes match a
    # large part of any history and have no prefix index).
    if last_is_word and not query[-1:].isspace() and last_length >= 3:
        terms[-1] += "*"
    return " ".join(terms)


# Markdown syntax a snippet shows as plain words: images and links by their text, no
# emphasis marks, heading hashes, quote or list markers, code fences (each piece of a
# snippet is cleaned on its own, so a link cut by a match loses its "](url)" too).
_MARKUP = (
    (re.compile(r"(?m)^\s*(?:#{1,6}|>|[-*+]\s+\[[ xX]\]|[-*+]|\d+[.)])\s+"), ""),
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\]\([^)\s]*\)?|!?\[(?=\S)"), ""),
    (re.compile(r"```[\w+-]*|`"), ""),
    (re.compile(r"\*\*|__|~~"), ""),
    (re.compile(r"(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])"), ""),
    (re.compile(r"\s+"), " "),
)


def plain_words(text: str) -> str:
    """A piece of a snippet without its Markdown syntax, on one line."""
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return text


def fragments(snippet: str) -> tuple[tuple[str, bool], ...]:
    """Split a snippet marked with \\x02…\\x03 into ``(text, highlighted)`` pieces, as
    plain words (no Markdown syntax)."""
    pieces: list[tuple[str, bool]] = []
    for i, part in enumerate(re.split(f"[{_START}{_END}]", snippet)):
        part = plain_words(part)
        if part:
            pieces.append((part, i % 2 == 1))
    return tuple(pieces)


def _snippet(table: str, tokens: int) -> str:
    return f"snippet({table}, 0, char(2), char(3), '…', {tokens})"


def search(
    conn: sqlite3.Connection,
    query: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
    snippet_tokens: int = 14,
) -> list[SearchHit]:
    """Best matches first (bm25). Hits of different kinds are merged by rank.

    When more than `RANKED_CANDIDATES` messages match, the best of the newest ones are returned.
    """
    match = build_match(query)
    if match is None:
        return []
    f = filters or SearchFilters()
    want = limit + offset
    hits: list[SearchHit] = []
    if "message" in f.kinds:
        hits += _messages(conn, match, f, want, snippet_tokens)
    # Roles belong to messages only; a role filter means "messages".
    if f.role is None:
        if "conversation" in f.kinds:
            hits += _conversations(conn, match, f, want, snippet_tokens)
        if "transcription" in f.kinds and f.conversation_id is None:
            hits += _simple(conn, "transcription", "transcriptions", match, f, want, snippet_tokens)
        if "image" in f.kinds and f.conversation_id is None:
            hits += _simple(conn, "image", "image_generations", match, f, want, snippet_tokens)
    hits.sort(key=lambda h: h.rank)
    return hits[offset : offset + limit]


def _where(f: SearchFilters, alias: str, time_col: str = "created_at") -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, value in (("model", f.model), ("provider", f.provider)):
        if value is not None:
            clauses.append(f"{alias}.{column} = ?")
            args.append(value)
    if f.since is not None:
        clauses.append(f"{alias}.{time_col} >= ?")
        args.append(f.since)
    if f.until is not None:
        clauses.append(f"{alias}.{time_col} < ?")
        args.append(f.until)
    return "".join(f" AND {c}" for c in clauses), args


def _messages(
    conn: sqlite3.Connection, match: str, f: SearchFilters, want: int, tokens: int
) -> list[SearchHit]:
    where, args = _where(f, "m")
    if f.role is not None:
        where += " AND m.role = ?"
        args.append(f.role)
    if f.conversation_id is not None:
        where += " AND m.conversation_id = ?"
        args.append(f.conversation_id)
    # A very common word or a short prefix matches a large part of the history, and bm25
    # must score every match; rank only the newest RANKED_CANDIDATES matches (recent history
    # is what people look for) so a search stays fast whatever is typed.
    joins = "JOIN messages m ON m.id = messages_fts.rowid " if where else ""
    cutoff_row = conn.execute(
        f"SELECT messages_fts.rowid FROM messages_fts {joins}WHERE messages_fts MATCH ?{where} "
        "ORDER BY messages_fts.rowid DESC LIMIT 1 OFFSET ?",
        (match, *args, RANKED_CANDIDATES - 1),
    ).fetchone()
    cutoff = 0 if cutoff_row is None else int(cutoff_row[0])
    # FTS stays the outer loop in rank order, so snippet() runs only for the rows returned.
    rows = conn.execute(
        f"SELECT m.id, m.conversation_id, c.title, {_snippet('messages_fts', tokens)}, messages_fts.rank, "
        "m.created_at, m.role, m.model, m.provider "
        "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
        "JOIN conversations c ON c.id = m.conversation_id "
        f"WHERE messages_fts MATCH ? AND messages_fts.rowid >= ?{where} ORDER BY messages_fts.rank LIMIT ?",
        (match, cutoff, *args, want),
    ).fetchall()
    return [
        SearchHit("message", r[0], r[1], r[2], fragments(r[3]), r[4], r[5], r[6], r[7], r[8])
        for r in rows
    ]


def _conversations(
    conn: sqlite3.Connection, match: str, f: SearchFilters, want: int, tokens: int
) -> list[SearchHit]:
    where, args = _where(f, "c", "updated_at")
    if f.conversation_id is not None:
        where += " AND c.id = ?"
        args.append(f.conversation_id)
    rows = conn.execute(
        f"SELECT c.id, c.title, {_snippet('conversations_fts', tokens)}, conversations_fts.rank, c.updated_at, "
        "c.model, c.provider FROM conversations_fts JOIN conversations c ON c.id = conversations_fts.rowid "
        f"WHERE conversations_fts MATCH ?{where} ORDER BY conversations_fts.rank LIMIT ?",
        (match, *args, want),
    ).fetchall()
    return [
        SearchHit("conversation", r[0], r[0], r[1], fragments(r[2]), r[3], r[4], None, r[5], r[6])
        for r in rows
    ]


def _simple(
    conn: sqlite3.Connection,
    kind: str,
    table: str,
    match: str,
    f: SearchFilters,
    want: int,
    tokens: int,
) -> list[SearchHit]:
    where, args = _where(f, "t")
    fts = f"{table}_fts"
    title = "'Transcription'" if kind == "transcription" else "'Image: ' || substr(t.prompt, 1, 60)"
    rows = conn.execute(
        f"SELECT t.id, {title}, {_snippet(fts, tokens)}, {fts}.rank, t.created_at, t.model, t.provider "
        f"FROM {fts} JOIN {table} t ON t.id = {fts}.rowid WHERE {fts} MATCH ?{where} ORDER BY {fts}.rank LIMIT ?",
        (match, *args, want),
    ).fetchall()
    return [
        SearchHit(kind, r[0], None, r[1], fragments(r[2]), r[3], r[4], None, r[5], r[6])
        for r in rows
    ]
