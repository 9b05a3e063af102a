"""Export (Markdown, lossless zip) and import (Palaver's own format, ChatGPT's export)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from app.store import ImportFormatError, Store, StoreWriteError, Usage, exporting

FIXTURE = Path(__file__).parent / "data" / "chatgpt-conversations.json"


async def _rich_history(store: Store) -> None:
    png = await store.put_blob(b"\x89PNG\r\n\x1a\n fake image", "image/png")
    wav = await store.put_blob(b"RIFF fake wav", "audio/wav")
    conv = await store.create_conversation(
        "Trip to Lisbon", provider="acme", model="m1", system_prompt="Be brief.",
        params={"temperature": 0.3}, folder="Travel", tags=["trip", "2026"],
    )  # fmt: skip
    await store.update_conversation(conv.id, pinned=True)
    u1 = await store.add_message(
        conv.id, "user", "What should I see?", parts=[{"type": "image", "blob": png.to_json()}]
    )
    a1 = await store.start_message(conv.id, model="m1", provider="acme")
    store.update_streaming(a1.id, "The tiles")
    await store.finish_message(
        a1.id, "The tiles museum.", "complete", finish_reason="stop", usage=Usage(12, 4, estimated=True),
        cost=0.0002, latency_s=1.25, ttft_s=0.3,
    )  # fmt: skip
    await store.add_message(
        conv.id,
        "assistant",
        "",
        parent_id=u1.id,
        status="error",
        error={"type": "rate_limited", "retry_after": 3},
    )
    await store.set_current_leaf(conv.id, a1.id)
    await store.add_message(conv.id, "user", "And food?")
    other = await store.create_conversation("Archived one")
    await store.add_message(other.id, "user", "old")
    await store.update_conversation(other.id, archived=True)
    run = await store.add_comparison(
        "Which?", [{"model": "m1", "message_id": a1.id}, {"model": "m2"}]
    )
    await store.vote_comparison(run.id, {"winner": run.answers[1].id, "note": "clearer"})
    await store.add_image_generation(
        "a tram", [png], model="img", params={"size": "512x512"}, cost=0.04
    )
    await store.add_speech("Olá", wav, voice="alloy", format="wav")
    await store.add_transcription(
        "olá mundo", wav, segments=[{"start": 0, "end": 1}], language="pt"
    )


def _normal(store: Store) -> dict[str, Any]:
    """The whole history without database ids: messages by position in their conversation,
    answers' messages by (conversation, position), votes by answer position."""
    doc = store.read_now(exporting.collect, None)
    doc.pop("exported_at")
    where: dict[int, tuple[str, int]] = {}
    for conv in doc["conversations"]:
        position = {m["key"]: i for i, m in enumerate(conv["messages"])}
        where.update((key, (conv["uid"], i)) for key, i in position.items())
        conv["current_leaf"] = position.get(conv["current_leaf"])
        for m in conv["messages"]:
            m["key"], m["parent"] = position[m["key"]], position.get(m["parent"])
    for run in doc["comparisons"]:
        ids = [a.pop("answer_key") for a in run["answers"]]
        if run["vote"] and "winner" in run["vote"]:
            run["vote"]["winner"] = ids.index(run["vote"]["winner"])
        for a in run["answers"]:
            if a["message"]:
                a["message"] = where[a["message"]["key"]]
    doc["blobs"].sort(key=lambda b: b["sha256"])
    return doc


async def test_lossless_round_trip_with_files(tmp_path: Path) -> None:
    source = await Store.open(tmp_path / "a", daily_backup=False)
    target = await Store.open(tmp_path / "b", daily_backup=False)
    try:
        # Give the target other rows first, so ids differ between the two databases.
        scratch = await target.create_conversation("scratch")
        await target.add_message(scratch.id, "user", "scratch")
        await target.delete_conversation(scratch.id)
        await _rich_history(source)
        before = _normal(source)
        archive = await source.export_json(tmp_path / "export.zip")
        with zipfile.ZipFile(archive) as zf:
            assert (
                exporting.JSON_NAME in zf.namelist()
                and sum(n.startswith("blobs/") for n in zf.namelist()) == 2
            )
        report = await target.import_file(archive)
        assert (report.conversations, report.messages, report.blobs, report.duplicates) == (
            2,
            5,
            2,
            0,
        )
        # Message positions are compared after the export of the imported store, whose keys
        # are its own ids: normalise both the same way.
        after = _normal(target)
        assert after == before
        for blob in before["blobs"]:
            assert (
                target.blob_path(blob["sha256"]).read_bytes()
                == source.blob_path(blob["sha256"]).read_bytes()
            )
        conv = next(c for c in target.list_conversations() if c.title == "Trip to Lisbon")
        assert [m.text for m in target.active_branch(conv.id)] == [
            "What should I see?",
            "The tiles museum.",
            "And food?",
        ]
        # Importing the same file again adds nothing.
        again = await target.import_file(archive)
        assert (again.conversations, again.duplicates) == (0, 2)
        assert await target.check() == "ok"
    finally:
        await source.close()
        await target.close()


async def test_export_some_conversations(store: Store, tmp_path: Path) -> None:
    await _rich_history(store)
    conv = store.list_conversations()[0]
    archive = await store.export_json(tmp_path / "one.zip", [conv.id])
    with zipfile.ZipFile(archive) as zf:
        doc = json.loads(zf.read(exporting.JSON_NAME))
    assert [c["title"] for c in doc["conversations"]] == ["Trip to Lisbon"]
    assert doc["images"] == [] and len(doc["blobs"]) == 1


async def test_malformed_palaver_export_imports_nothing(store: Store, tmp_path: Path) -> None:
    await _rich_history(store)
    archive = await store.export_json(tmp_path / "export.zip")
    with zipfile.ZipFile(archive) as zf:
        doc = json.loads(zf.read(exporting.JSON_NAME))
        blobs = {n: zf.read(n) for n in zf.namelist() if n.startswith("blobs/")}
    doc["conversations"][1]["messages"][0]["created_at"] = "yesterday"
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr(exporting.JSON_NAME, json.dumps(doc))
        for name, data in blobs.items():
            zf.writestr(name, data)
    fresh = await Store.open(tmp_path / "fresh", daily_backup=False)
    try:
        with pytest.raises(ImportFormatError, match="created_at"):
            await fresh.import_file(broken)
        # A damaged file inside the zip is refused too.
        doc["conversations"][1]["messages"][0]["created_at"] = 1.0
        with zipfile.ZipFile(broken, "w") as zf:
            zf.writestr(exporting.JSON_NAME, json.dumps(doc))
            for name in blobs:
                zf.writestr(name, b"tampered")
        with pytest.raises(ImportFormatError, match="damaged"):
            await fresh.import_file(broken)
        # A bad media entry fails inside the transaction: rolled back, nothing imported.
        doc["images"][0]["prompt"] = None
        doc["images"][0]["unknown_field"] = 1
        with zipfile.ZipFile(broken, "w") as zf:
            zf.writestr(exporting.JSON_NAME, json.dumps(doc))
            for name, data in blobs.items():
                zf.writestr(name, data)
        with pytest.raises(ImportFormatError):
            await fresh.import_file(broken)
        assert fresh.list_conversations(archived=None) == []
        assert fresh.list_image_generations() == []
    finally:
        await fresh.close()


async def test_import_on_a_full_disk_imports_nothing(store: Store) -> None:
    pages = store._writer.call_raw(lambda c: c.execute("PRAGMA page_count").fetchone()[0]).result()
    store._writer.call_raw(lambda c: c.execute(f"PRAGMA max_page_count = {pages + 2}")).result()
    big = [
        {"title": f"c{i}", "current_node": "n", "mapping": {"n": {"message": {
            "author": {"role": "user"}, "content": {"content_type": "text", "parts": ["x" * 50_000]}}}}}
        for i in range(20)
    ]  # fmt: skip
    path = store.paths.database.parent / "big.json"
    path.write_text(json.dumps(big))
    with pytest.raises(StoreWriteError):
        await store.import_file(path)
    assert store.list_conversations(archived=None) == []


async def test_chatgpt_export(store: Store, tmp_path: Path) -> None:
    report = await store.import_file(FIXTURE)
    assert report.source == "chatgpt"
    assert (report.conversations, report.messages) == (2, 10)
    assert report.skipped_messages == 1  # the hidden system message
    assert report.skipped_parts == 1  # the image is not inside conversations.json
    assert report.skipped_conversations == 0 and report.notes

    sorting = next(c for c in store.list_conversations() if c.title == "Sorting a list in Python")
    assert sorting.model == "gpt-4o" and sorting.created_at == 1731900000.1
    assert sorting.tags == ["chatgpt-import"] and sorting.params == {}
    branch = store.active_branch(sorting.id)
    assert [m.role for m in branch] == ["user", "assistant", "user", "assistant"]
    assert branch[2].text == "And in descending order, keeping ties stable?"
    assert branch[3].text.startswith("`sorted(people") and branch[3].model == "gpt-4o"
    # The edited question is kept as a sibling branch with its answer.
    edit = store.siblings(branch[2].id)
    assert [m.text for m in edit] == [
        "And descending?",
        "And in descending order, keeping ties stable?",
    ]
    assert [m.text for m in store.children(edit[0].id)] == ["Pass `reverse=True`."]
    assert branch[0].created_at == 1731900001.0

    weather = next(c for c in store.list_conversations() if c.title == "Weather and a picture")
    msgs = store.active_branch(weather.id)
    assert [m.role for m in msgs] == ["user", "assistant", "tool", "assistant"]
    assert msgs[0].text == "What is in this photo?"
    assert msgs[0].parts[0]["type"] == "image" and msgs[0].parts[0]["missing"] is True
    assert msgs[1].text == '```\nsearch("weather Paris today")\n```'
    assert {"type": "tool_call", "recipient": "browser"} in msgs[1].parts
    assert msgs[2].text == "Paris: 14°C, light rain."
    assert msgs[3].text.startswith("A cat on a windowsill")
    hits = await store.search("windowsill")
    assert [h.conversation_id for h in hits] == [weather.id]

    again = await store.import_file(FIXTURE)
    assert (again.conversations, again.duplicates) == (0, 2)


async def test_chatgpt_odd_conversations_are_skipped_and_counted(
    store: Store, tmp_path: Path
) -> None:
    doc = json.loads(FIXTURE.read_text())
    doc += [
        "not a conversation",
        {"title": "no mapping"},
        {"title": "only structure", "mapping": {"r": {"id": "r", "message": None, "parent": None, "children": []}}},
        {
            "title": "strange nodes", "current_node": "x3", "create_time": None,
            "mapping": {
                "x1": {"message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["hi", {"content_type": "audio_asset_pointer"}]}}, "parent": None, "children": ["x2"]},
                "x2": {"message": {"author": {"role": "assistant"}, "content": {"content_type": "thoughts", "thoughts": []}}, "parent": "x1", "children": ["x3"]},
                "x3": {"message": {"author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["hello"]}, "create_time": None}, "parent": "x2", "children": ["x4", "x5"]},
                "x4": {"message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": 5}, "metadata": []}, "parent": "x3"},
                "x5": {"message": {"author": "bob", "content": None}, "parent": "x3"},
                "x6": None,
            },
        },
    ]  # fmt: skip
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(doc))
    report = await store.import_file(path)
    assert report.conversations == 3 and report.skipped_conversations == 3
    assert report.skipped_messages == 4  # hidden system, "thoughts", parts not a list, no role
    assert report.skipped_parts == 2  # the missing image + the audio pointer
    strange = next(c for c in store.list_conversations() if c.title == "strange nodes")
    # The skipped node's child hangs on its nearest kept ancestor; the cycle is ignored.
    assert [m.text for m in store.active_branch(strange.id)] == ["hi", "hello"]


async def test_chatgpt_zip_with_images(store: Store, tmp_path: Path) -> None:
    archive = tmp_path / "chatgpt-export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(FIXTURE, "conversations.json")
        zf.writestr("file-AbC123-cat.png", b"\x89PNG cat")
    report = await store.import_file(archive)
    assert report.skipped_parts == 0 and report.blobs == 1
    weather = next(c for c in store.list_conversations() if c.title == "Weather and a picture")
    first = store.active_branch(weather.id)[0]
    assert first.blobs and store.blob_path(first.blobs[0]).read_bytes() == b"\x89PNG cat"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"some": "object"}', "neither a Palaver export nor a ChatGPT"),
        (b"[1, 2, 3]", "neither"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
    ],
)
async def test_malformed_files_give_a_clear_error(
    store: Store, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "conversations.json"
    path.write_bytes(content)
    with pytest.raises(ImportFormatError, match=message):
        await store.import_file(path)
    assert store.list_conversations(archived=None) == []


async def test_zip_without_a_history(store: Store, tmp_path: Path) -> None:
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(ImportFormatError, match="neither"):
        await store.import_file(archive)


async def test_markdown_export(store: Store, tmp_path: Path) -> None:
    await _rich_history(store)
    conv = next(c for c in store.list_conversations() if c.title == "Trip to Lisbon")
    text = store.export_markdown(conv.id)
    assert text.startswith("# Trip to Lisbon\n")
    assert "> **System prompt:** Be brief." in text
    assert (
        "### You\n\nWhat should I see?" in text
        and "### Assistant (m1)\n\nThe tiles museum." in text
    )
    assert "rate_limited" not in text  # the error sibling is not on the visible branch
    files = await store.export_markdown_folder(tmp_path / "md")
    assert len(files) == 2
    trip = next(p for p in files if "Trip-to-Lisbon" in p.name)
    body = trip.read_text()
    image_link = next(line for line in body.splitlines() if line.startswith("![image]("))
    assert (trip.parent / image_link[len("![image](") : -1]).read_bytes().startswith(b"\x89PNG")
    shutil.rmtree(tmp_path / "md")
