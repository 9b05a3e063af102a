"""Import Palaver's own export and ChatGPT's ``conversations.json``.

Files are parsed and validated completely first; then everything is inserted in ONE
transaction, so an import is all or nothing. A malformed file raises `ImportFormatError`.
A ChatGPT conversation or node that cannot be understood is skipped and counted in the
`ImportReport`, never failing the whole file.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import zipfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.store import history, media, prompt_queries
from app.store.blobs import BlobFiles
from app.store.errors import ImportFormatError
from app.store.exporting import FORMAT, JSON_NAME, VERSION
from app.store.models import BlobRef, ImportReport, MessageStatus, Usage

# -- what gets inserted ----------------------------------------------------------------------


@dataclass
class ParsedMessage:
    key: Any
    parent: Any
    fields: dict[str, Any]


@dataclass
class ParsedConversation:
    uid: str
    fields: dict[str, Any]
    messages: list[ParsedMessage]
    current_leaf: Any


@dataclass
class Parsed:
    """A whole file, validated, ready to insert."""

    conversations: list[ParsedConversation] = field(default_factory=list)
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    speech: list[dict[str, Any]] = field(default_factory=list)
    transcriptions: list[dict[str, Any]] = field(default_factory=list)
    prompts: list[dict[str, Any]] = field(default_factory=list)
    blobs: list[BlobRef] = field(default_factory=list)


def insert(conn: sqlite3.Connection, parsed: Parsed, report: ImportReport) -> ImportReport:
    """Insert a parsed file (inside the writer's single transaction)."""
    for ref in parsed.blobs:
        media.register_blob(conn, ref)
    message_ids: dict[tuple[str, Any], int] = {}
    for conv in parsed.conversations:
        if history.find_conversation_uid(conn, conv.uid) is not None:
            report.duplicates += 1
            continue
        created = history.create_conversation(conn, uid=conv.uid, **conv.fields)
        keys: dict[Any, int] = {}
        for msg in conv.messages:
            parent = keys.get(msg.parent) if msg.parent is not None else None
            fields = dict(msg.fields)
            updated_at = fields.pop("updated_at", None)
            row = history.insert_message(
                conn, created.id, parent_id=parent, make_current=False, **fields
            )
            if updated_at is not None:
                conn.execute(
                    "UPDATE messages SET updated_at = ? WHERE id = ?", (updated_at, row.id)
                )
            keys[msg.key] = row.id
            message_ids[(conv.uid, msg.key)] = row.id
        leaf = keys.get(conv.current_leaf)
        # insert_message moved updated_at forward; restore the conversation's own times.
        conn.execute(
            "UPDATE conversations SET current_leaf_id = ?, updated_at = ? WHERE id = ?",
            (leaf, conv.fields.get("updated_at", created.updated_at), created.id),
        )
        report.conversations += 1
        report.messages += len(conv.messages)
        report.conversation_ids.append(created.id)
    for run in parsed.comparisons:
        answers = []
        for answer in run["answers"]:
            ref = answer.get("message")
            message_id = None if ref is None else message_ids.get((ref["conversation"], ref["key"]))
            answers.append({**answer, "message_id": message_id})
        created_run = media.create_comparison(
            conn, run["prompt"], answers, system_prompt=run.get("system_prompt", ""),
            params=run.get("params"), created_at=run.get("created_at"),
        )  # fmt: skip
        if run.get("vote") is not None:
            vote = _remap_vote(run["vote"], run["answers"], created_run.answers)
            media.vote_comparison(conn, created_run.id, vote)
    for image in parsed.images:
        refs = [BlobRef.from_json(r) for r in image.pop("images")]
        media.add_image_generation(conn, image.pop("prompt"), refs, **image)
    for item in parsed.speech:
        audio = item.pop("audio")
        media.add_speech(
            conn, item.pop("text"), None if audio is None else BlobRef.from_json(audio), **item
        )
    for tr in parsed.transcriptions:
        source = tr.pop("source")
        media.add_transcription(
            conn, tr.pop("transcript"), None if source is None else BlobRef.from_json(source), **tr
        )
    for item in parsed.prompts:
        try:
            if prompt_queries.import_prompt(conn, item):
                report.prompts += 1
        except ValueError as exc:
            report.note(f"a saved prompt was skipped: {exc}")
    return report


def _remap_vote(vote: dict[str, Any], old: list[dict[str, Any]], new: list[Any]) -> dict[str, Any]:
    """Votes name answers by id: translate the exported ids to the new ones."""
    mapping = {a.get("answer_key"): n.id for a, n in zip(old, new, strict=True)}
    return {k: mapping.get(v, v) if isinstance(v, int) else v for k, v in vote.items()}


# -- reading files ---------------------------------------------------------------------------


def read_source(path: Path) -> tuple[Any, dict[str, bytes] | zipfile.ZipFile | None]:
    """The JSON document in ``path`` (a ``.json`` or a ``.zip``) and the zip, if any."""
    try:
        if zipfile.is_zipfile(path):
            zf = zipfile.ZipFile(path)
            names = set(zf.namelist())
            inner = (
                JSON_NAME
                if JSON_NAME in names
                else "conversations.json"
                if "conversations.json" in names
                else None
            )
            if inner is None:
                raise ImportFormatError(
                    f"{path.name} holds neither {JSON_NAME} nor conversations.json."
                )
            raw = zf.read(inner)
            return _loads(raw, path.name), zf
        return _loads(path.read_bytes(), path.name), None
    except OSError as exc:
        raise ImportFormatError(f"{path.name} cannot be read: {exc.strerror or exc}.") from exc
    except zipfile.BadZipFile as exc:
        raise ImportFormatError(f"{path.name} is a damaged zip file.") from exc


def _loads(raw: bytes, name: str) -> Any:
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{name} is not a text JSON file.") from exc
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno})."
        ) from exc


def detect(doc: Any) -> str:
    """``"palaver"`` or ``"chatgpt"``; raises `ImportFormatError` for anything else."""
    if isinstance(doc, dict) and doc.get("format") == FORMAT:
        return "palaver"
    if isinstance(doc, list) and any(isinstance(c, dict) and "mapping" in c for c in doc):
        return "chatgpt"
    if isinstance(doc, list) and not doc:
        return "chatgpt"
    raise ImportFormatError(
        "This file is neither a Palaver export nor a ChatGPT conversations.json (a list of conversations)."
    )


# -- Palaver's own format --------------------------------------------------------------------

_MESSAGE_KEYS = {
    "role": str, "text": str, "parts": list, "model": (str, type(None)), "provider": (str, type(None)),
    "status": str, "finish_reason": (str, type(None)), "error": (dict, type(None)),
    "prompt_tokens": (int, type(None)), "completion_tokens": (int, type(None)), "tokens_estimated": bool,
    "cost": (int, float, type(None)), "latency_s": (int, float, type(None)), "ttft_s": (int, float, type(None)),
    "created_at": (int, float), "updated_at": (int, float),
}  # fmt: skip
_CONVERSATION_KEYS = {
    "uid": str, "title": str, "created_at": (int, float), "updated_at": (int, float), "pinned": bool,
    "archived": bool, "provider": (str, type(None)), "model": (str, type(None)), "system_prompt": str,
    "params": dict, "folder": (str, type(None)), "tags": list, "messages": list,
}  # fmt: skip


def _require(obj: Any, spec: dict[str, Any], where: str) -> None:
    if not isinstance(obj, dict):
        raise ImportFormatError(f"{where} is not an object.")
    for key, kind in spec.items():
        if key not in obj or not isinstance(obj[key], kind):
            raise ImportFormatError(f"{where}: field '{key}' is missing or has the wrong type.")


def parse_palaver(
    doc: dict[str, Any], files: zipfile.ZipFile | None, blobs: BlobFiles, report: ImportReport
) -> Parsed:
    """Validate a Palaver export completely and stage its files; any defect refuses the file."""
    if doc.get("version") != VERSION:
        raise ImportFormatError(
            f"This Palaver export has version {doc.get('version')!r}; this Palaver reads {VERSION}."
        )
    parsed = Parsed()
    if not isinstance(doc.get("conversations"), list):
        raise ImportFormatError("The export has no list of conversations.")
    for index, conv in enumerate(doc["conversations"]):
        where = f"conversation {index + 1}"
        _require(conv, _CONVERSATION_KEYS, where)
        messages: list[ParsedMessage] = []
        seen: set[Any] = set()
        for m_index, msg in enumerate(conv["messages"]):
            _require(msg, _MESSAGE_KEYS, f"{where}, message {m_index + 1}")
            if msg.get("parent") is not None and msg["parent"] not in seen:
                raise ImportFormatError(
                    f"{where}, message {m_index + 1}: its parent is not listed before it."
                )
            try:
                status = MessageStatus(msg["status"])
            except ValueError as exc:
                raise ImportFormatError(
                    f"{where}, message {m_index + 1}: unknown status {msg['status']!r}."
                ) from exc
            seen.add(msg.get("key"))
            fields = {
                "role": msg["role"], "text": msg["text"], "parts": msg["parts"], "model": msg["model"],
                "provider": msg["provider"], "status": status, "finish_reason": msg["finish_reason"],
                "error": msg["error"], "cost": msg["cost"], "latency_s": msg["latency_s"], "ttft_s": msg["ttft_s"],
                "usage": Usage(msg["prompt_tokens"], msg["completion_tokens"], msg["tokens_estimated"]),
                "created_at": msg["created_at"], "updated_at": msg["updated_at"],
            }  # fmt: skip
            messages.append(ParsedMessage(msg.get("key"), msg.get("parent"), fields))
        conv_fields = {
            k: conv[k]
            for k in ("title", "created_at", "updated_at", "pinned", "archived", "provider", "model",
                      "system_prompt", "params", "folder", "tags")
        }  # fmt: skip
        parsed.conversations.append(
            ParsedConversation(conv["uid"], conv_fields, messages, conv.get("current_leaf"))
        )
    for key in ("comparisons", "images", "speech", "transcriptions", "prompts"):
        items = doc.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ImportFormatError(f"The export's '{key}' is not a list of objects.")
        getattr(parsed, key).extend(dict(i) for i in items)
    for r in doc.get("blobs", []):
        try:
            ref = BlobRef.from_json(r)
        except (KeyError, TypeError, ValueError) as exc:
            raise ImportFormatError("The export lists a file without its sha256.") from exc
        if files is None:
            if not blobs.exists(ref.sha256):
                report.note(f"file {ref.sha256[:12]}… not included (a bare JSON export)")
                report.skipped_parts += 1
            parsed.blobs.append(ref)
            continue
        try:
            data = files.read(f"blobs/{ref.sha256}")
        except KeyError as exc:
            raise ImportFormatError(
                f"The export lacks the file {ref.sha256[:12]}… it refers to."
            ) from exc
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise ImportFormatError(f"The file {ref.sha256[:12]}… in the export is damaged.")
        # Content-addressed: writing it before the transaction is harmless if the import fails.
        blobs.put(data, ref.mime)
        parsed.blobs.append(ref)
        report.blobs += 1
    return parsed


# -- ChatGPT ---------------------------------------------------------------------------------

_ASSET_NAME = re.compile(r"^(file[-_][A-Za-z0-9]+)")
_STATUS = {
    "finished_successfully": MessageStatus.COMPLETE,
    "finished_partial_completion": MessageStatus.STOPPED,
    "in_progress": MessageStatus.INTERRUPTED,
}


def parse_chatgpt(
    doc: list[Any], files: zipfile.ZipFile | None, blobs: BlobFiles, report: ImportReport
) -> Parsed:
    """Every conversation of a ChatGPT export; odd ones are skipped and counted."""
    parsed = Parsed()
    assets = _asset_index(files)
    for index, item in enumerate(doc):
        try:
            conv = _chatgpt_conversation(item, assets, files, blobs, parsed, report)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            report.skipped_conversations += 1
            report.note(f"conversation {index + 1} skipped: {type(exc).__name__} {exc}")
            continue
        if conv is None:
            report.skipped_conversations += 1
            report.note(f"conversation {index + 1} skipped: no messages")
            continue
        parsed.conversations.append(conv)
    return parsed


def _asset_index(files: zipfile.ZipFile | None) -> dict[str, str]:
    """``file-XYZ`` → name of that file in the export zip (images sit beside the JSON)."""
    if files is None:
        return {}
    index = {}
    for name in files.namelist():
        match = _ASSET_NAME.match(name.rsplit("/", 1)[-1])
        if match:
            index[match.group(1)] = name
    return index


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _created(node: Any) -> float:
    message = node.get("message") if isinstance(node, dict) else None
    return (_number(message.get("create_time")) if isinstance(message, dict) else None) or 0.0


def _chatgpt_conversation(
    item: Any,
    assets: dict[str, str],
    files: zipfile.ZipFile | None,
    blobs: BlobFiles,
    parsed: Parsed,
    report: ImportReport,
) -> ParsedConversation | None:
    if not isinstance(item, dict) or not isinstance(item.get("mapping"), dict):
        raise ValueError("not a conversation with a mapping")
    mapping: dict[str, Any] = item["mapping"]
    # The export's id makes a re-import a no-op; without one, the content itself does.
    conv_id = item.get("conversation_id") or item.get("id")
    if not isinstance(conv_id, str) or not conv_id:
        conv_id = hashlib.sha256(
            json.dumps(item, sort_keys=True, default=str).encode()
        ).hexdigest()[:32]
    created = _number(item.get("create_time")) or 0.0
    updated = _number(item.get("update_time")) or created
    # Children lists drive the walk; a node whose parent is missing becomes a root.
    children: dict[str | None, list[str]] = {}
    for node_id, node in mapping.items():
        parent = node.get("parent") if isinstance(node, dict) else None
        children.setdefault(parent if parent in mapping else None, []).append(node_id)
    messages: list[ParsedMessage] = []
    kept_parent: dict[str, str | None] = {}  # node -> nearest kept ancestor (or None)
    order = deque[tuple[str, str | None]]((root, None) for root in children.get(None, []))
    visited: set[str] = set()
    latest = created
    while order:
        node_id, inherited = order.popleft()
        if node_id in visited:  # a malformed file with a cycle
            continue
        visited.add(node_id)
        node = mapping.get(node_id)
        try:
            converted = (
                _chatgpt_message(node, assets, files, blobs, parsed, report)
                if isinstance(node, dict)
                else None
            )
        except (KeyError, TypeError, ValueError, AttributeError, zipfile.BadZipFile) as exc:
            report.skipped_messages += 1
            report.note(f"message {node_id} skipped: {type(exc).__name__} {exc}")
            converted = None
        if converted is not None:
            converted.setdefault("created_at", latest)  # no time: right after what came before
            latest = max(latest, converted["created_at"])
            messages.append(ParsedMessage(node_id, inherited, converted))
            anchor: str | None = node_id
        else:
            anchor = inherited
        kept_parent[node_id] = anchor
        kids = [k for k in children.get(node_id, []) if k in mapping]
        kids.sort(key=lambda k: _created(mapping[k]))
        order.extend((kid, anchor) for kid in kids)
    if not messages:
        return None
    current = item.get("current_node")
    leaf = kept_parent.get(str(current)) if isinstance(current, str) else None
    if leaf is None:
        leaf = messages[-1].key
    fields = {
        "title": str(item.get("title") or "Untitled"), "created_at": created, "updated_at": max(updated, latest),
        "archived": bool(item.get("is_archived")), "provider": "openai",
        "model": item.get("default_model_slug") if isinstance(item.get("default_model_slug"), str) else None,
        "tags": ["chatgpt-import"],  # not params: those are sent with requests
    }  # fmt: skip
    return ParsedConversation(f"chatgpt:{conv_id}", fields, messages, leaf)


def _chatgpt_message(
    node: dict[str, Any],
    assets: dict[str, str],
    files: zipfile.ZipFile | None,
    blobs: BlobFiles,
    parsed: Parsed,
    report: ImportReport,
) -> dict[str, Any] | None:
    """A message's fields, or ``None`` when the node is structure or is skipped (counted)."""
    message = node.get("message")
    if message is None:
        return None  # the root, or a placeholder: structure, not content
    if not isinstance(message, dict):
        report.skipped_messages += 1
        return None
    author = message.get("author") or {}
    role = author.get("role") if isinstance(author, dict) else None
    content = message.get("content") or {}
    kind = content.get("content_type") if isinstance(content, dict) else None
    metadata = message.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    if metadata.get("is_visually_hidden_from_conversation"):
        report.skipped_messages += 1
        report.note(f"hidden {role} message skipped")
        return None
    if role not in ("user", "assistant", "system", "tool"):
        report.skipped_messages += 1
        report.note(f"message with role {role!r} skipped")
        return None
    parts: list[dict[str, Any]] = []
    texts: list[str] = []
    if kind in ("text", "multimodal_text"):
        for part in content.get("parts") or []:
            if isinstance(part, str):
                if part:
                    texts.append(part)
            elif isinstance(part, dict) and part.get("content_type") == "image_asset_pointer":
                parts.append(_image_part(part, assets, files, blobs, parsed, report))
            else:
                report.skipped_parts += 1
                report.note(
                    f"part of type {part.get('content_type') if isinstance(part, dict) else type(part).__name__} skipped"
                )
    elif kind == "code":
        language = content.get("language") or ""
        language = "" if language == "unknown" else language
        texts.append(f"```{language}\n{content.get('text', '')}\n```")
    else:
        report.skipped_messages += 1
        report.note(f"message of type {kind!r} skipped")
        return None
    recipient = message.get("recipient")
    if recipient and recipient != "all":
        parts.append({"type": "tool_call", "recipient": recipient})
    if role == "tool" and author.get("name"):
        parts.append({"type": "tool_result", "name": author["name"]})
    if not texts and not parts:
        report.skipped_messages += 1
        report.note(f"empty {role} message skipped")
        return None
    model = metadata.get("model_slug")
    fields: dict[str, Any] = {
        "role": role, "text": "\n\n".join(texts), "parts": parts,
        "model": model if isinstance(model, str) else None, "provider": "openai" if role == "assistant" else None,
        "status": _STATUS.get(str(message.get("status")), MessageStatus.COMPLETE),
    }  # fmt: skip
    created = _number(message.get("create_time"))
    if created is not None:
        fields["created_at"] = created
    return fields


def _image_part(
    part: dict[str, Any],
    assets: dict[str, str],
    files: zipfile.ZipFile | None,
    blobs: BlobFiles,
    parsed: Parsed,
    report: ImportReport,
) -> dict[str, Any]:
    pointer = str(part.get("asset_pointer") or "")
    file_id = pointer.rsplit("/", 1)[-1]
    out: dict[str, Any] = {
        "type": "image",
        "asset_pointer": pointer,
        "width": part.get("width"),
        "height": part.get("height"),
    }
    name = assets.get(file_id)
    if files is not None and name is not None:
        data = files.read(name)
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        mime = {
            "png": "image/png",
            "jpg": "image/jpeg",
            "jpeg": "image/jpeg",
            "webp": "image/webp",
            "gif": "image/gif",
        }.get(ext, "application/octet-stream")
        ref = blobs.put(data, mime)
        parsed.blobs.append(ref)
        report.blobs += 1
        out["blob"] = ref.to_json()
    else:
        out["missing"] = True
        report.skipped_parts += 1
        report.note(f"image {file_id} is not in the export file; kept as a placeholder")
    return out


# -- entry point -----------------------------------------------------------------------------


def parse_file(path: Path, blobs: BlobFiles) -> tuple[Parsed, ImportReport]:
    """Read, detect and validate ``path``; stage its files. Nothing touches the database."""
    doc, files = read_source(path)
    kind = detect(doc)
    report = ImportReport(source=kind)
    try:
        if kind == "palaver":
            return parse_palaver(
                doc, files if isinstance(files, zipfile.ZipFile) else None, blobs, report
            ), report
        return parse_chatgpt(
            doc, files if isinstance(files, zipfile.ZipFile) else None, blobs, report
        ), report
    finally:
        if isinstance(files, zipfile.ZipFile):
            files.close()
