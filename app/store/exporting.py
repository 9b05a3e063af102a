"""Export conversations to Markdown and to Palaver's lossless JSON (a zip with the files).

The JSON format (``palaver.json`` inside the zip, files under ``blobs/<sha256>``)::

    {"format": "palaver-export", "version": 1, "exported_at": <unix s>,
     "conversations": [{...conversation columns, "uid", "current_leaf": <key>,
                        "messages": [{"key": <int>, "parent": <key|null>, ...columns}]}],
     "comparisons": [...], "images": [...], "speech": [...], "transcriptions": [...],
     "blobs": [{"sha256", "mime", "size"}]}

Messages are listed parents first; ``key`` is only meaningful inside the file.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.store import history, media, prompt_queries
from app.store.blobs import BlobFiles
from app.store.models import BlobRef, Conversation, Message

FORMAT = "palaver-export"
VERSION = 1
JSON_NAME = "palaver.json"
_EXTENSIONS = {
    "image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif",
    "audio/mpeg": ".mp3", "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/ogg": ".ogg",
    "audio/flac": ".flac", "audio/webm": ".webm", "application/pdf": ".pdf", "text/plain": ".txt",
}  # fmt: skip


def _message_json(m: Message) -> dict[str, Any]:
    return {
        "key": m.id, "parent": m.parent_id, "role": m.role, "text": m.text, "parts": m.parts,
        "model": m.model, "provider": m.provider, "status": m.status.value, "finish_reason": m.finish_reason,
        "error": m.error, "prompt_tokens": m.prompt_tokens, "completion_tokens": m.completion_tokens,
        "tokens_estimated": m.tokens_estimated, "cost": m.cost, "latency_s": m.latency_s, "ttft_s": m.ttft_s,
        "created_at": m.created_at, "updated_at": m.updated_at,
    }  # fmt: skip


def _conversation_json(conn: sqlite3.Connection, c: Conversation) -> dict[str, Any]:
    return {
        "uid": c.uid, "title": c.title, "created_at": c.created_at, "updated_at": c.updated_at,
        "pinned": c.pinned, "archived": c.archived, "provider": c.provider, "model": c.model,
        "system_prompt": c.system_prompt, "params": c.params, "folder": c.folder, "tags": c.tags,
        "current_leaf": c.current_leaf_id,
        "messages": [_message_json(m) for m in history.all_messages(conn, c.id)],
    }  # fmt: skip


def collect(
    conn: sqlite3.Connection, conversation_ids: Sequence[int] | None = None
) -> dict[str, Any]:
    """The export document (no files). ``None`` exports everything, media included."""
    if conversation_ids is None:
        ids = [r[0] for r in conn.execute("SELECT id FROM conversations ORDER BY id")]
    else:
        ids = list(conversation_ids)
    conversations = [_conversation_json(conn, history.get_conversation(conn, cid)) for cid in ids]
    doc: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "exported_at": time.time(), "conversations": conversations,
        "comparisons": [], "images": [], "speech": [], "transcriptions": [], "prompts": [],
    }  # fmt: skip
    refs: dict[str, BlobRef] = {}
    for conv in conversations:
        for msg in conv["messages"]:
            for part in msg["parts"]:
                if isinstance(part, dict) and isinstance(part.get("blob"), dict):
                    ref = BlobRef.from_json(part["blob"])
                    refs[ref.sha256] = ref
    if conversation_ids is None:
        doc["prompts"] = [prompt_queries.prompt_json(p) for p in prompt_queries.list_prompts(conn)]
        uid_of = {r[0]: r[1] for r in conn.execute("SELECT id, uid FROM conversations")}
        conv_of = {r[0]: r[1] for r in conn.execute("SELECT id, conversation_id FROM messages")}
        for run in reversed(media.list_comparisons(conn, limit=-1)):
            doc["comparisons"].append({
                "created_at": run.created_at, "prompt": run.prompt, "system_prompt": run.system_prompt,
                "params": run.params, "vote": run.vote,
                "answers": [
                    {
                        "answer_key": a.id, "provider": a.provider, "model": a.model, "metadata": a.metadata,
                        "message": None if a.message_id is None else
                        {"conversation": uid_of[conv_of[a.message_id]], "key": a.message_id},
                    }
                    for a in run.answers
                ],
            })  # fmt: skip
        for image in reversed(media.list_image_generations(conn, limit=-1)):
            doc["images"].append({
                "created_at": image.created_at, "provider": image.provider, "model": image.model,
                "prompt": image.prompt, "params": image.params, "images": [r.to_json() for r in image.images],
                "revised_prompt": image.revised_prompt, "cost": image.cost,
            })  # fmt: skip
            refs.update((r.sha256, r) for r in image.images)
        for item in reversed(media.list_speech(conn, limit=-1)):
            doc["speech"].append({
                "created_at": item.created_at, "provider": item.provider, "model": item.model, "text": item.text,
                "voice": item.voice, "format": item.format, "audio": item.audio and item.audio.to_json(),
                "params": item.params, "cost": item.cost,
            })  # fmt: skip
            if item.audio:
                refs[item.audio.sha256] = item.audio
        for tr in reversed(media.list_transcriptions(conn, limit=-1)):
            doc["transcriptions"].append({
                "created_at": tr.created_at, "provider": tr.provider, "model": tr.model,
                "source": tr.source and tr.source.to_json(), "options": tr.options, "transcript": tr.transcript,
                "segments": tr.segments, "language": tr.language, "duration_s": tr.duration_s, "cost": tr.cost,
            })  # fmt: skip
            if tr.source:
                refs[tr.source.sha256] = tr.source
    doc["blobs"] = [r.to_json() for r in refs.values()]
    return doc


def write_zip(doc: dict[str, Any], blobs: BlobFiles, dest: Path) -> Path:
    """Write the document and every file it refers to into ``dest`` (atomically)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(JSON_NAME, json.dumps(doc, ensure_ascii=False, indent=1))
        for ref in doc["blobs"]:
            path = blobs.path(ref["sha256"])
            if path.exists():
                # Media is compressed already; storing it avoids burning CPU for nothing.
                zf.write(path, f"blobs/{ref['sha256']}", compress_type=zipfile.ZIP_STORED)
    tmp.replace(dest)
    return dest


# -- Markdown --------------------------------------------------------------------------------


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _role_heading(m: Message) -> str:
    name = {"user": "You", "assistant": "Assistant", "system": "System", "tool": "Tool"}.get(
        m.role, m.role.title()
    )
    details = [d for d in (m.model, None if m.status.value == "complete" else m.status.value) if d]
    return f"### {name}" + (f" ({', '.join(details)})" if details else "")


def markdown(
    conversation: Conversation, messages: Sequence[Message], link: dict[str, str] | None = None
) -> str:
    """One conversation (its visible branch) as Markdown; ``link`` maps sha256 → file path."""
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    meta = [_when(conversation.created_at)]
    if conversation.model:
        meta.append(conversation.model)
    if conversation.provider:
        meta.append(conversation.provider)
    lines += [f"*{' · '.join(meta)}*", ""]
    if conversation.system_prompt:
        lines += ["> **System prompt:** " + conversation.system_prompt.replace("\n", "\n> "), ""]
    for m in messages:
        lines += [_role_heading(m), ""]
        if m.text:
            lines += [m.text, ""]
        for ref in m.blobs:
            target = (link or {}).get(ref.sha256)
            if target is None:
                lines += [f"*[attachment {ref.mime}, {ref.size} bytes]*", ""]
            elif ref.mime.startswith("image/"):
                lines += [f"![image]({target})", ""]
            else:
                lines += [f"[{ref.mime} attachment]({target})", ""]
    return "\n".join(lines).rstrip() + "\n"


def slug(title: str, conversation_id: int) -> str:
    """A safe file name for a conversation."""
    base = (
        re.sub(r"[^\w\- ]+", "", title, flags=re.UNICODE).strip().replace(" ", "-")[:60]
        or "conversation"
    )
    return f"{conversation_id:05d}-{base}"


def write_markdown_folder(
    conn: sqlite3.Connection,
    blobs: BlobFiles,
    dest: Path,
    conversation_ids: Sequence[int] | None = None,
) -> list[Path]:
    """One ``.md`` per conversation in ``dest``, its files under ``dest/files``."""
    if conversation_ids is None:
        conversation_ids = [r[0] for r in conn.execute("SELECT id FROM conversations ORDER BY id")]
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for cid in conversation_ids:
        conv = history.get_conversation(conn, cid)
        branch = history.active_branch(conn, cid)
        links: dict[str, str] = {}
        for m in branch:
            for ref in m.blobs:
                source = blobs.path(ref.sha256)
                if not source.exists():
                    continue
                name = ref.sha256[:16] + _EXTENSIONS.get(ref.mime, "")
                target = dest / "files" / name
                if not target.exists():
                    target.parent.mkdir(exist_ok=True)
                    target.write_bytes(source.read_bytes())
                links[ref.sha256] = f"files/{name}"
        path = dest / f"{slug(conv.title, cid)}.md"
        path.write_text(markdown(conv, branch, links), encoding="utf-8")
        written.append(path)
    return written
