"""The schema as ordered migrations; ``PRAGMA user_version`` counts the ones applied.

Append new steps to `MIGRATIONS`; never edit a released one. Each step runs in its own
transaction, after a backup copy of the database (see `database.migrate`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = str | Callable[[sqlite3.Connection], None]

_V1 = """
CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY,
    uid             TEXT    NOT NULL UNIQUE,
    title           TEXT    NOT NULL DEFAULT '',
    created_at      REAL    NOT NULL,
    updated_at      REAL    NOT NULL,
    pinned          INTEGER NOT NULL DEFAULT 0,
    archived        INTEGER NOT NULL DEFAULT 0,
    provider        TEXT,
    model           TEXT,
    system_prompt   TEXT    NOT NULL DEFAULT '',
    params          TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    folder          TEXT,
    tags            TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    current_leaf_id INTEGER REFERENCES messages(id) ON DELETE SET NULL
);
CREATE INDEX conversations_by_recency ON conversations(archived, pinned DESC, updated_at DESC);
CREATE INDEX conversations_by_folder ON conversations(folder) WHERE folder IS NOT NULL;

CREATE TABLE messages (
    id                INTEGER PRIMARY KEY,
    conversation_id   INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    parent_id         INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    role              TEXT    NOT NULL,
    text              TEXT    NOT NULL DEFAULT '',
    parts             TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(parts)),
    model             TEXT,
    provider          TEXT,
    status            TEXT    NOT NULL DEFAULT 'complete'
                      CHECK (status IN ('streaming','complete','stopped','interrupted','error')),
    finish_reason     TEXT,
    error             TEXT    CHECK (error IS NULL OR json_valid(error)),
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    tokens_estimated  INTEGER NOT NULL DEFAULT 0,
    cost              REAL,
    latency_s         REAL,
    ttft_s            REAL,
    created_at        REAL    NOT NULL,
    updated_at        REAL    NOT NULL
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
CREATE INDEX messages_by_parent ON messages(parent_id);
CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming';

-- Streaming rows are indexed once they settle: re-tokenising a growing answer twice a
-- second would cost the writer for nothing.
-- A 3-letter prefix index keeps search-as-you-type fast (shorter words are not
-- prefix-searched, see search.build_match).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text, content='messages', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2', prefix='3'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.status <> 'streaming'
BEGIN
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.status <> 'streaming'
BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
-- One trigger, so the old text leaves the index before the new text enters it.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, status ON messages
WHEN old.status <> 'streaming' OR new.status <> 'streaming'
BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text)
        SELECT 'delete', old.id, old.text WHERE old.status <> 'streaming';
    INSERT INTO messages_fts(rowid, text)
        SELECT new.id, new.text WHERE new.status <> 'streaming';
END;

CREATE VIRTUAL TABLE conversations_fts USING fts5(
    title, content='conversations', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversations_fts(rowid, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversations_fts(conversations_fts, rowid, title) VALUES ('delete', old.id, old.title);
END;
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN
    INSERT INTO conversations_fts(conversations_fts, rowid, title) VALUES ('delete', old.id, old.title);
    INSERT INTO conversations_fts(rowid, title) VALUES (new.id, new.title);
END;

CREATE TABLE blobs (
    sha256     TEXT PRIMARY KEY,
    mime       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created_at REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE comparison_runs (
    id            INTEGER PRIMARY KEY,
    created_at    REAL NOT NULL,
    prompt        TEXT NOT NULL,
    system_prompt TEXT NOT NULL DEFAULT '',
    params        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    vote          TEXT CHECK (vote IS NULL OR json_valid(vote))
);
CREATE TABLE comparison_answers (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL REFERENCES comparison_runs(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    provider   TEXT,
    model      TEXT NOT NULL,
    message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    metadata   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata))
);
CREATE INDEX comparison_answers_by_run ON comparison_answers(run_id, position);
CREATE INDEX comparison_answers_by_message ON comparison_answers(message_id);

CREATE TABLE image_generations (
    id             INTEGER PRIMARY KEY,
    created_at     REAL NOT NULL,
    provider       TEXT,
    model          TEXT,
    prompt         TEXT NOT NULL,
    params         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    images         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(images)),
    revised_prompt TEXT,
    cost           REAL
);
CREATE INDEX image_generations_by_time ON image_generations(created_at);
CREATE VIRTUAL TABLE image_generations_fts USING fts5(
    prompt, content='image_generations', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER image_generations_fts_insert AFTER INSERT ON image_generations BEGIN
    INSERT INTO image_generations_fts(rowid, prompt) VALUES (new.id, new.prompt);
END;
CREATE TRIGGER image_generations_fts_delete AFTER DELETE ON image_generations BEGIN
    INSERT INTO image_generations_fts(image_generations_fts, rowid, prompt) VALUES ('delete', old.id, old.prompt);
END;

CREATE TABLE speech_items (
    id         INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,
    provider   TEXT,
    model      TEXT,
    text       TEXT NOT NULL,
    voice      TEXT NOT NULL DEFAULT '',
    format     TEXT NOT NULL DEFAULT '',
    audio      TEXT CHECK (audio IS NULL OR json_valid(audio)),
    params     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    cost       REAL
);
CREATE INDEX speech_items_by_time ON speech_items(created_at);

CREATE TABLE transcriptions (
    id         INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,
    provider   TEXT,
    model      TEXT,
    source     TEXT CHECK (source IS NULL OR json_valid(source)),
    options    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(options)),
    transcript TEXT NOT NULL DEFAULT '',
    segments   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(segments)),
    language   TEXT,
    duration_s REAL,
    cost       REAL
);
CREATE INDEX transcriptions_by_time ON transcriptions(created_at);
CREATE VIRTUAL TABLE transcriptions_fts USING fts5(
    transcript, content='transcriptions', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER transcriptions_fts_insert AFTER INSERT ON transcriptions BEGIN
    INSERT INTO transcriptions_fts(rowid, transcript) VALUES (new.id, new.transcript);
END;
CREATE TRIGGER transcriptions_fts_delete AFTER DELETE ON transcriptions BEGIN
    INSERT INTO transcriptions_fts(transcriptions_fts, rowid, transcript) VALUES ('delete', old.id, old.transcript);
END;
CREATE TRIGGER transcriptions_fts_update AFTER UPDATE OF transcript ON transcriptions BEGIN
    INSERT INTO transcriptions_fts(transcriptions_fts, rowid, transcript) VALUES ('delete', old.id, old.transcript);
    INSERT INTO transcriptions_fts(rowid, transcript) VALUES (new.id, new.transcript);
END;

CREATE TABLE usage_ledger (
    id                INTEGER PRIMARY KEY,
    ts                REAL    NOT NULL,
    provider          TEXT    NOT NULL,
    model             TEXT    NOT NULL DEFAULT '',
    endpoint          TEXT    NOT NULL,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    characters        INTEGER NOT NULL DEFAULT 0,
    audio_seconds     REAL    NOT NULL DEFAULT 0,
    images            INTEGER NOT NULL DEFAULT 0,
    cost              REAL,
    estimated         INTEGER NOT NULL DEFAULT 0,
    status            TEXT    NOT NULL DEFAULT 'ok',
    latency_s         REAL,
    ttft_s            REAL,
    request_id        TEXT,
    rate_limit        TEXT CHECK (rate_limit IS NULL OR json_valid(rate_limit)),
    conversation_id   INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
    message_id        INTEGER REFERENCES messages(id) ON DELETE SET NULL
);
CREATE INDEX usage_ledger_by_time ON usage_ledger(ts);
CREATE INDEX usage_ledger_by_message ON usage_ledger(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX usage_ledger_by_conversation ON usage_ledger(conversation_id) WHERE conversation_id IS NOT NULL;

-- Roll-ups kept by triggers, so dashboards add up thousands of rows, not millions:
-- per local calendar day (the machine's time zone when the call was made: the day the user
-- lived) and per UTC hour (for "the last 24 hours" style ranges).
CREATE TABLE usage_daily (
    day               TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    endpoint          TEXT    NOT NULL,
    calls             INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    characters        INTEGER NOT NULL DEFAULT 0,
    audio_seconds     REAL    NOT NULL DEFAULT 0,
    images            INTEGER NOT NULL DEFAULT 0,
    cost              REAL    NOT NULL DEFAULT 0,
    estimated_calls   INTEGER NOT NULL DEFAULT 0,
    unpriced_calls    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, model, provider, endpoint)
) WITHOUT ROWID;
CREATE TABLE usage_hourly (
    hour              INTEGER NOT NULL,
    provider          TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    endpoint          TEXT    NOT NULL,
    calls             INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    characters        INTEGER NOT NULL DEFAULT 0,
    audio_seconds     REAL    NOT NULL DEFAULT 0,
    images            INTEGER NOT NULL DEFAULT 0,
    cost              REAL    NOT NULL DEFAULT 0,
    estimated_calls   INTEGER NOT NULL DEFAULT 0,
    unpriced_calls    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, model, provider, endpoint)
) WITHOUT ROWID;
CREATE TRIGGER usage_ledger_rollup AFTER INSERT ON usage_ledger BEGIN
    INSERT INTO usage_daily (day, provider, model, endpoint, calls, errors, prompt_tokens,
        completion_tokens, characters, audio_seconds, images, cost, estimated_calls, unpriced_calls)
    VALUES (date(new.ts, 'unixepoch', 'localtime'), new.provider, new.model, new.endpoint, 1,
        new.status <> 'ok', new.prompt_tokens, new.completion_tokens, new.characters,
        new.audio_seconds, new.images, coalesce(new.cost, 0), new.estimated <> 0, new.cost IS NULL)
    ON CONFLICT (day, model, provider, endpoint) DO UPDATE SET
        calls = calls + 1,
        errors = errors + excluded.errors,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        characters = characters + excluded.characters,
        audio_seconds = audio_seconds + excluded.audio_seconds,
        images = images + excluded.images,
        cost = cost + excluded.cost,
        estimated_calls = estimated_calls + excluded.estimated_calls,
        unpriced_calls = unpriced_calls + excluded.unpriced_calls;
    INSERT INTO usage_hourly (hour, provider, model, endpoint, calls, errors, prompt_tokens,
        completion_tokens, characters, audio_seconds, images, cost, estimated_calls, unpriced_calls)
    VALUES (CAST(new.ts / 3600 AS INTEGER), new.provider, new.model, new.endpoint, 1,
        new.status <> 'ok', new.prompt_tokens, new.completion_tokens, new.characters,
        new.audio_seconds, new.images, coalesce(new.cost, 0), new.estimated <> 0, new.cost IS NULL)
    ON CONFLICT (hour, model, provider, endpoint) DO UPDATE SET
        calls = calls + 1,
        errors = errors + excluded.errors,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        characters = characters + excluded.characters,
        audio_seconds = audio_seconds + excluded.audio_seconds,
        images = images + excluded.images,
        cost = cost + excluded.cost,
        estimated_calls = estimated_calls + excluded.estimated_calls,
        unpriced_calls = unpriced_calls + excluded.unpriced_calls;
END;
CREATE TRIGGER usage_ledger_unroll AFTER DELETE ON usage_ledger BEGIN
    UPDATE usage_daily SET
        calls = calls - 1,
        errors = errors - (old.status <> 'ok'),
        prompt_tokens = prompt_tokens - old.prompt_tokens,
        completion_tokens = completion_tokens - old.completion_tokens,
        characters = characters - old.characters,
        audio_seconds = audio_seconds - old.audio_seconds,
        images = images - old.images,
        cost = cost - coalesce(old.cost, 0),
        estimated_calls = estimated_calls - (old.estimated <> 0),
        unpriced_calls = unpriced_calls - (old.cost IS NULL)
    WHERE day = date(old.ts, 'unixepoch', 'localtime') AND provider = old.provider
      AND model = old.model AND endpoint = old.endpoint;
    UPDATE usage_hourly SET
        calls = calls - 1,
        errors = errors - (old.status <> 'ok'),
        prompt_tokens = prompt_tokens - old.prompt_tokens,
        completion_tokens = completion_tokens - old.completion_tokens,
        characters = characters - old.characters,
        audio_seconds = audio_seconds - old.audio_seconds,
        images = images - old.images,
        cost = cost - coalesce(old.cost, 0),
        estimated_calls = estimated_calls - (old.estimated <> 0),
        unpriced_calls = unpriced_calls - (old.cost IS NULL)
    WHERE hour = CAST(old.ts / 3600 AS INTEGER) AND provider = old.provider
      AND model = old.model AND endpoint = old.endpoint;
END;
"""

# The prompt library: saved prompts (text for the composer) and assistants (a system
# prompt with a default model and parameters), picked with "/" in the composer.
_V2 = """
CREATE TABLE prompts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('prompt', 'assistant')),
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    provider TEXT,
    model TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX prompts_name ON prompts (name COLLATE NOCASE);
"""

MIGRATIONS: list[Migration] = [_V1, _V2]
"""Step ``i`` takes the schema from version ``i`` to ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)


def apply(conn: sqlite3.Connection, step: Migration) -> None:
    """Run one migration step inside the caller's transaction."""
    if callable(step):
        step(conn)
        return
    # executescript() would COMMIT first; run statement by statement to stay in the transaction.
    for statement in split_statements(step):
        conn.execute(statement)


def split_statements(script: str) -> list[str]:
    """Split a script into complete statements (trigger bodies and quoted ';' stay whole)."""
    statements: list[str] = []
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            text = "\n".join(
                line for line in buffer.splitlines() if not line.lstrip().startswith("--")
            ).strip()
            if text.strip("; \n"):
                statements.append(text)
            buffer = ""
    return statements
