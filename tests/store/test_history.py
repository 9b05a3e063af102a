"""Conversations, messages, branches, streaming and paging on a real database."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from app.paths import AppPaths
from app.store import MessageStatus, NotFoundError, Store, StoreWriteError, Usage, database


async def test_conversation_crud(store: Store) -> None:
    conv = await store.create_conversation(
        "Plans",
        provider="acme",
        model="m1",
        params={"temperature": 0.2},
        tags=["work"],
        folder="Projects",
    )
    assert conv.title == "Plans" and conv.params == {"temperature": 0.2} and conv.tags == ["work"]
    updated = await store.update_conversation(
        conv.id, title="Trip plans", pinned=True, tags=["travel"]
    )
    assert updated.title == "Trip plans" and updated.pinned and updated.tags == ["travel"]
    other = await store.create_conversation("Other")
    listed = store.list_conversations()
    assert [c.id for c in listed] == [conv.id, other.id]  # pinned first
    await store.update_conversation(other.id, archived=True)
    assert [c.id for c in store.list_conversations()] == [conv.id]
    assert [c.id for c in store.list_conversations(archived=True)] == [other.id]
    await store.delete_conversation(conv.id)
    with pytest.raises(NotFoundError):
        store.get_conversation(conv.id)
    with pytest.raises(ValueError):
        await store.update_conversation(other.id, colour="red")


async def test_messages_branch_and_siblings(store: Store) -> None:
    conv = await store.create_conversation("Branches")
    u1 = await store.add_message(conv.id, "user", "Hello")
    a1 = await store.add_message(
        conv.id, "assistant", "Hi there", model="m1", usage=Usage(3, 2, estimated=True)
    )
    assert a1.parent_id == u1.id and a1.tokens_estimated and a1.completion_tokens == 2
    # A regeneration: a sibling of a1, nothing overwritten.
    a1b = await store.add_message(conv.id, "assistant", "Hello!", parent_id=u1.id)
    assert [m.id for m in store.siblings(a1.id)] == [a1.id, a1b.id]
    assert [m.text for m in store.active_branch(conv.id)] == ["Hello", "Hello!"]
    # An edit of the first user message: a new root sibling.
    u1b = await store.add_message(conv.id, "user", "Hello again", parent_id=None)
    assert [m.id for m in store.siblings(u1.id)] == [u1.id, u1b.id]
    assert [m.text for m in store.active_branch(conv.id)] == ["Hello again"]
    leaf = await store.select_branch(u1.id)
    assert leaf.id == a1b.id  # newest reply below u1
    await store.set_current_leaf(conv.id, a1.id)
    assert [m.text for m in store.active_branch(conv.id)] == ["Hello", "Hi there"]
    assert store.get_message(a1.id).text == "Hi there"
    assert len(store.children(u1.id)) == 2
    # Deleting the current leaf moves the leaf to its parent.
    await store.delete_message(a1.id)
    assert store.get_conversation(conv.id).current_leaf_id == u1.id
    # Deleting the visible first message shows the remaining alternative.
    await store.delete_message(u1.id)
    assert [m.id for m in store.active_branch(conv.id)] == [u1b.id]
    await store.delete_message(u1b.id)
    assert store.page(conv.id).messages == []


async def test_message_in_other_conversation_is_refused(store: Store) -> None:
    one = await store.create_conversation("one")
    two = await store.create_conversation("two")
    m = await store.add_message(one.id, "user", "x")
    with pytest.raises(NotFoundError):
        await store.add_message(two.id, "user", "y", parent_id=m.id)
    with pytest.raises(NotFoundError):
        await store.add_message(9999, "user", "y")


async def test_streaming_is_throttled_and_latest_wins(tmp_path: Path) -> None:
    store = await Store.open(tmp_path, stream_interval=0.2, daily_backup=False)
    try:
        conv = await store.create_conversation("Stream")
        await store.add_message(conv.id, "user", "Tell me")
        msg = await store.start_message(conv.id, model="m1", provider="acme")
        assert msg.status is MessageStatus.STREAMING
        writes_before = store._writer.busy_seconds
        text = ""
        for i in range(40):
            text += f"word{i} "
            store.update_streaming(msg.id, text)
            await asyncio.sleep(0.01)
        # ~0.4 s of deltas at 0.2 s intervals: a handful of writes, not forty.
        await asyncio.sleep(0.25)
        saved = store.get_message(msg.id)
        assert saved.status is MessageStatus.STREAMING
        assert saved.text == text  # the latest text won
        assert store._writer.busy_seconds > writes_before
        final = await store.finish_message(
            msg.id, text + "end", "complete", finish_reason="stop", usage=Usage(10, 20), cost=0.001,
            latency_s=1.5, ttft_s=0.2,
        )  # fmt: skip
        assert final.status is MessageStatus.COMPLETE and final.text.endswith("end")
        assert (final.prompt_tokens, final.completion_tokens, final.cost) == (10, 20, 0.001)
        # A late streaming update never overwrites the finished text.
        store.update_streaming(msg.id, "stale")
        await store.flush_streaming(msg.id)
        assert store.get_message(msg.id).text == text + "end"
    finally:
        await store.close()


async def test_streaming_rows_become_interrupted_on_open(tmp_path: Path) -> None:
    store = await Store.open(tmp_path, daily_backup=False)
    conv = await store.create_conversation("Crash")
    msg = await store.start_message(conv.id)
    store.update_streaming(msg.id, "partial answer")
    await store.flush_streaming()
    # Simulate a crash: leave the row streaming and close the connections directly.
    store._closed = True
    store._close_sync()
    again = await Store.open(tmp_path, daily_backup=False)
    try:
        assert again.report.interrupted_messages == 1
        assert "stopped" in again.report.message
        saved = again.get_message(msg.id)
        assert saved.status is MessageStatus.INTERRUPTED and saved.text == "partial answer"
    finally:
        await again.close()


async def test_paging_walks_the_active_branch(store: Store) -> None:
    conv = await store.create_conversation("Long")
    ids = []
    for i in range(120):
        m = await store.add_message(conv.id, "user" if i % 2 == 0 else "assistant", f"message {i}")
        ids.append(m.id)
    first = store.page(conv.id, 50)
    assert [m.id for m in first.messages] == ids[-50:]
    assert first.older_cursor == ids[-50]
    second = store.page(conv.id, 50, before=first.older_cursor)
    assert [m.id for m in second.messages] == ids[-100:-50]
    third = store.page(conv.id, 50, before=second.older_cursor)
    assert [m.id for m in third.messages] == ids[:20]
    assert not third.has_older
    empty = await store.create_conversation("Empty")
    assert store.page(empty.id).messages == []


async def test_writes_do_not_block_the_loop(store: Store) -> None:
    conv = await store.create_conversation("Loop")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.gather(*(store.add_message(conv.id, "user", f"m{i}") for i in range(50)))
    task.cancel()
    assert ticks > 1, "the loop kept running while the writer worked"
    assert len(store.active_branch(conv.id)) == 50


async def test_foreign_keys_and_wal_are_on(store: Store) -> None:
    conn = sqlite3.connect(store.paths.database)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    finally:
        conn.close()
    assert store.read_now(lambda c: c.execute("PRAGMA foreign_keys").fetchone()[0]) == 1


async def test_open_with_app_paths(tmp_path: Path) -> None:
    paths = AppPaths.from_root(tmp_path / "profile").ensure()
    store = await Store.open(paths, daily_backup=False)
    try:
        assert store.paths.database == paths.database and paths.database.exists()
        ref = await store.put_blob(b"x", "text/plain")
        assert store.blob_path(ref).is_relative_to(paths.blobs)
    finally:
        await store.close()
    await store.close()  # closing twice is harmless


async def test_streaming_writes_at_most_once_per_interval(tmp_path: Path) -> None:
    interval = 0.1
    store = await Store.open(tmp_path, stream_interval=interval, daily_backup=False)
    try:
        conv = await store.create_conversation("Throttle")
        msg = await store.start_message(conv.id)
        writes: list[str] = []
        real_write = store._streams._write

        def counting_write(conn: sqlite3.Connection, message_id: int, text: str) -> object:
            writes.append(text)
            return real_write(conn, message_id, text)

        store._streams._write = counting_write
        started = asyncio.get_running_loop().time()
        text = ""
        for i in range(60):
            text += f"{i} "
            store.update_streaming(msg.id, text)
            await asyncio.sleep(0.005)
        await store.flush_streaming(msg.id)
        elapsed = asyncio.get_running_loop().time() - started
        # The first delta is written at once, then at most one write per interval, plus the flush.
        assert writes[0] == "0 "
        assert 2 <= len(writes) <= elapsed / interval + 2
        assert writes[-1] == text and store.get_message(msg.id).text == text
    finally:
        await store.close()


async def test_damage_met_while_writing_flags_a_check(store: Store) -> None:
    def damaged(conn: sqlite3.Connection) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    with pytest.raises(StoreWriteError):
        await store.write(damaged)
    assert database.check_marker(store.paths.database).exists()


async def test_writes_after_close_are_a_typed_error(tmp_path: Path) -> None:
    store = await Store.open(tmp_path, daily_backup=False)
    conv = await store.create_conversation("x")
    await store.close()
    with pytest.raises(StoreWriteError) as caught:
        await store.add_message(conv.id, "user", "late")
    assert caught.value.reason == "closed"
