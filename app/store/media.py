"""Comparison runs, image generations, speech items, transcriptions and the blob registry."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from app.store.errors import NotFoundError
from app.store.models import (
    BlobRef,
    ComparisonAnswer,
    ComparisonRun,
    ImageGeneration,
    SpeechItem,
    Transcription,
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _ref(value: str | None) -> BlobRef | None:
    return None if value is None else BlobRef.from_json(json.loads(value))


def register_blob(conn: sqlite3.Connection, ref: BlobRef) -> None:
    conn.execute(
        "INSERT INTO blobs (sha256, mime, size, created_at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
        (ref.sha256, ref.mime, ref.size, time.time()),
    )


def blob_refs(conn: sqlite3.Connection, shas: Sequence[str]) -> list[BlobRef]:
    out = []
    for sha in shas:
        row = conn.execute(
            "SELECT sha256, mime, size FROM blobs WHERE sha256 = ?", (sha,)
        ).fetchone()
        if row is not None:
            out.append(BlobRef(*row))
    return out


# -- comparison runs -------------------------------------------------------------------------


def create_comparison(
    conn: sqlite3.Connection,
    prompt: str,
    answers: Sequence[dict[str, Any]],
    *,
    system_prompt: str = "",
    params: dict[str, Any] | None = None,
    created_at: float | None = None,
) -> ComparisonRun:
    """``answers``: dicts with ``model`` and optionally ``provider``, ``message_id``, ``metadata``."""
    cur = conn.execute(
        "INSERT INTO comparison_runs (created_at, prompt, system_prompt, params) VALUES (?,?,?,?)",
        (
            created_at if created_at is not None else time.time(),
            prompt,
            system_prompt,
            _dumps(params or {}),
        ),
    )
    run_id = int(cur.lastrowid or 0)
    for position, answer in enumerate(answers):
        conn.execute(
            "INSERT INTO comparison_answers (run_id, position, provider, model, message_id, metadata) "
            "VALUES (?,?,?,?,?,?)",
            (
                run_id, position, answer.get("provider"), answer["model"], answer.get("message_id"),
                _dumps(answer.get("metadata") or {}),
            ),
        )  # fmt: skip
    return get_comparison(conn, run_id)


def update_comparison_answer(
    conn: sqlite3.Connection,
    answer_id: int,
    *,
    message_id: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    cur = conn.execute(
        "UPDATE comparison_answers SET message_id = coalesce(?, message_id), metadata = coalesce(?, metadata) "
        "WHERE id = ?",
        (message_id, None if metadata is None else _dumps(metadata), answer_id),
    )
    if cur.rowcount == 0:
        raise NotFoundError(f"Comparison answer {answer_id} does not exist.")


def vote_comparison(conn: sqlite3.Connection, run_id: int, vote: dict[str, Any] | None) -> None:
    cur = conn.execute(
        "UPDATE comparison_runs SET vote = ? WHERE id = ?",
        (None if vote is None else _dumps(vote), run_id),
    )
    if cur.rowcount == 0:
        raise NotFoundError(f"Comparison run {run_id} does not exist.")


def get_comparison(conn: sqlite3.Connection, run_id: int) -> ComparisonRun:
    row = conn.execute(
        "SELECT id, created_at, prompt, system_prompt, params, vote FROM comparison_runs WHERE id = ?",
        (run_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"Comparison run {run_id} does not exist.")
    answers = [
        ComparisonAnswer(a[0], a[1], a[2], a[3], a[4], a[5], json.loads(a[6]))
        for a in conn.execute(
            "SELECT id, run_id, position, provider, model, message_id, metadata FROM comparison_answers "
            "WHERE run_id = ? ORDER BY position",
            (run_id,),
        )
    ]
    return ComparisonRun(
        row[0],
        row[1],
        row[2],
        row[3],
        json.loads(row[4]),
        None if row[5] is None else json.loads(row[5]),
        answers,
    )


def list_comparisons(
    conn: sqlite3.Connection, limit: int = 100, offset: int = 0
) -> list[ComparisonRun]:
    ids = conn.execute(
        "SELECT id FROM comparison_runs ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    return [get_comparison(conn, r[0]) for r in ids]


# -- images, speech, transcriptions ---------------------------------------------------------


def add_image_generation(
    conn: sqlite3.Connection,
    prompt: str,
    images: Sequence[BlobRef],
    *,
    provider: str | None = None,
    model: str | None = None,
    params: dict[str, Any] | None = None,
    revised_prompt: str | None = None,
    cost: float | None = None,
    created_at: float | None = None,
) -> ImageGeneration:
    for ref in images:
        register_blob(conn, ref)
    cur = conn.execute(
        "INSERT INTO image_generations (created_at, provider, model, prompt, params, images, revised_prompt, cost) "
        "VALUES (?,?,?,?,?,?,?,?)",
        (
            created_at if created_at is not None else time.time(), provider, model, prompt, _dumps(params or {}),
            _dumps([r.to_json() for r in images]), revised_prompt, cost,
        ),
    )  # fmt: skip
    return get_image_generation(conn, int(cur.lastrowid or 0))


_IMG_COLS = "id, created_at, provider, model, prompt, params, images, revised_prompt, cost"


def _image(row: tuple[Any, ...]) -> ImageGeneration:
    return ImageGeneration(
        row[0], row[1], row[2], row[3], row[4], json.loads(row[5]),
        [BlobRef.from_json(d) for d in json.loads(row[6])], row[7], row[8],
    )  # fmt: skip


def get_image_generation(conn: sqlite3.Connection, item_id: int) -> ImageGeneration:
    row = conn.execute(
        f"SELECT {_IMG_COLS} FROM image_generations WHERE id = ?", (item_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"Image generation {item_id} does not exist.")
    return _image(row)


def list_image_generations(
    conn: sqlite3.Connection, limit: int = 100, offset: int = 0
) -> list[ImageGeneration]:
    rows = conn.execute(
        f"SELECT {_IMG_COLS} FROM image_generations ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    return [_image(r) for r in rows]


def add_speech(
    conn: sqlite3.Connection,
    text: str,
    audio: BlobRef | None,
    *,
    voice: str = "",
    format: str = "",
    provider: str | None = None,
    model: str | None = None,
    params: dict[str, Any] | None = None,
    cost: float | None = None,
    created_at: float | None = None,
) -> SpeechItem:
    if audio is not None:
        register_blob(conn, audio)
    cur = conn.execute(
        "INSERT INTO speech_items (created_at, provider, model, text, voice, format, audio, params, cost) "
        "VALUES (?,?,?,?,?,?,?,?,?)",
        (
            created_at if created_at is not None else time.time(), provider, model, text, voice, format,
            None if audio is None else _dumps(audio.to_json()), _dumps(params or {}), cost,
        ),
    )  # fmt: skip
    return get_speech(conn, int(cur.lastrowid or 0))


_SPEECH_COLS = "id, created_at, provider, model, text, voice, format, audio, params, cost"


def _speech(row: tuple[Any, ...]) -> SpeechItem:
    return SpeechItem(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        _ref(row[7]),
        json.loads(row[8]),
        row[9],
    )


def get_speech(conn: sqlite3.Connection, item_id: int) -> SpeechItem:
    row = conn.execute(
        f"SELECT {_SPEECH_COLS} FROM speech_items WHERE id = ?", (item_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"Speech item {item_id} does not exist.")
    return _speech(row)


def list_speech(conn: sqlite3.Connection, limit: int = 100, offset: int = 0) -> list[SpeechItem]:
    rows = conn.execute(
        f"SELECT {_SPEECH_COLS} FROM speech_items ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    return [_speech(r) for r in rows]


def add_transcription(
    conn: sqlite3.Connection,
    transcript: str,
    source: BlobRef | None,
    *,
    segments: list[dict[str, Any]] | None = None,
    options: dict[str, Any] | None = None,
    language: str | None = None,
    duration_s: float | None = None,
    provider: str | None = None,
    model: str | None = None,
    cost: float | None = None,
    created_at: float | None = None,
) -> Transcription:
    if source is not None:
        register_blob(conn, source)
    cur = conn.execute(
        "INSERT INTO transcriptions (created_at, provider, model, source, options, transcript, segments, "
        "language, duration_s, cost) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            created_at if created_at is not None else time.time(), provider, model,
            None if source is None else _dumps(source.to_json()), _dumps(options or {}), transcript,
            _dumps(segments or []), language, duration_s, cost,
        ),
    )  # fmt: skip
    return get_transcription(conn, int(cur.lastrowid or 0))


_TRANSCRIPT_COLS = "id, created_at, provider, model, source, options, transcript, segments, language, duration_s, cost"


def _transcription(row: tuple[Any, ...]) -> Transcription:
    return Transcription(
        row[0], row[1], row[2], row[3], _ref(row[4]), json.loads(row[5]), row[6], json.loads(row[7]),
        row[8], row[9], row[10],
    )  # fmt: skip


def get_transcription(conn: sqlite3.Connection, item_id: int) -> Transcription:
    row = conn.execute(
        f"SELECT {_TRANSCRIPT_COLS} FROM transcriptions WHERE id = ?", (item_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"Transcription {item_id} does not exist.")
    return _transcription(row)


def list_transcriptions(
    conn: sqlite3.Connection, limit: int = 100, offset: int = 0
) -> list[Transcription]:
    rows = conn.execute(
        f"SELECT {_TRANSCRIPT_COLS} FROM transcriptions ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    return [_transcription(r) for r in rows]


def delete_item(conn: sqlite3.Connection, table: str, item_id: int) -> None:
    if table not in ("comparison_runs", "image_generations", "speech_items", "transcriptions"):
        raise ValueError(table)
    if conn.execute(f"DELETE FROM {table} WHERE id = ?", (item_id,)).rowcount == 0:
        raise NotFoundError(f"{table} row {item_id} does not exist.")
