"""The embeddings table: pending messages per model, batches, loading, cascade on delete."""

from __future__ import annotations

import struct

import pytest

from app.store import MessageStatus, Store
from app.store import embeddings as queries


def _blob(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


async def _history(store: Store) -> list[int]:
    conv = await store.create_conversation("Cooking")
    first = await store.add_message(conv.id, "user", "How long do I boil an egg?")
    answer = await store.add_message(conv.id, "assistant", "About nine minutes.")
    await store.add_message(conv.id, "system", "Be brief.")  # never embedded
    await store.add_message(conv.id, "user", "")  # nothing to embed
    streaming = await store.start_message(conv.id, text="partial")  # not settled yet
    return [first.id, answer.id, streaming.id]


async def test_schema_is_idempotent_and_pending_lists_settled_text(store: Store) -> None:
    await store.write(queries.ensure_schema)
    await store.write(queries.ensure_schema)
    first, answer, streaming = await _history(store)
    pending = await store.read(queries.pending, "p/m", 10)
    assert [row[0] for row in pending] == [first, answer]
    assert pending[0][2] == "How long do I boil an egg?"
    count = await store.read(queries.count_pending, "p/m")
    assert count == queries.PendingCount(2, len("How long do I boil an egg?About nine minutes."))
    capped = await store.read(queries.count_pending, "p/m", 5)
    assert capped.characters == 10
    await store.finish_message(streaming, "done now", MessageStatus.COMPLETE)
    assert (await store.read(queries.count_pending, "p/m")).messages == 3
    assert [row[0] for row in await store.read(queries.pending, "p/m", 10, first)] == [
        answer,
        streaming,
    ]


async def test_stored_vectors_are_skipped_per_model_and_loaded_in_order(store: Store) -> None:
    await store.write(queries.ensure_schema)
    first, answer, _ = await _history(store)
    rows = await store.read(queries.pending, "p/m", 10)
    saved = await store.write(
        queries.store_batch,
        "p/m",
        2,
        [(rows[1][0], rows[1][1], _blob(0, 1)), (rows[0][0], rows[0][1], _blob(1, 0))],
    )
    assert saved == 2
    assert await store.read(queries.pending, "p/m", 10) == []
    # Another model starts from zero.
    assert len(await store.read(queries.pending, "p/other", 10)) == 2
    loaded = await store.read(queries.load_vectors, "p/m")
    assert loaded.ids == [first, answer] and loaded.dims == 2
    assert loaded.data == _blob(1, 0) + _blob(0, 1)
    page = await store.read(queries.load_vectors, "p/m", first, 1)
    assert page.ids == [answer]
    assert await store.read(queries.stored_models) == {"p/m": 2}
    with pytest.raises(ValueError, match="float32"):
        await store.write(queries.store_batch, "p/m", 3, [(first, 0.0, _blob(1, 0))])


async def test_edited_message_is_pending_again(store: Store) -> None:
    await store.write(queries.ensure_schema)
    conv = await store.create_conversation("Edits")
    streaming = await store.start_message(conv.id, text="")
    message = await store.finish_message(streaming.id, "first text", MessageStatus.COMPLETE)
    await store.write(
        queries.store_batch, "p/m", 2, [(message.id, message.updated_at, _blob(1, 0))]
    )
    assert await store.read(queries.pending, "p/m", 10) == []
    # A later write (the store stamps updated_at) makes the vector stale.
    await store.write(
        lambda conn: conn.execute(
            "UPDATE messages SET text = 'new text', updated_at = updated_at + 10 WHERE id = ?",
            (message.id,),
        )
    )
    assert [row[0] for row in await store.read(queries.pending, "p/m", 10)] == [message.id]


async def test_deleting_messages_deletes_vectors_and_late_batches_skip_them(store: Store) -> None:
    await store.write(queries.ensure_schema)
    first, answer, _ = await _history(store)
    rows = await store.read(queries.pending, "p/m", 10)
    await store.write(queries.store_batch, "p/m", 2, [(first, rows[0][1], _blob(1, 0))])
    await store.delete_message(first)  # deletes the answer below it too
    assert await store.read(queries.stored_models) == {}
    # A batch embedded before the delete landed afterwards: skipped, not an error.
    saved = await store.write(queries.store_batch, "p/m", 2, [(answer, rows[1][1], _blob(0, 1))])
    assert saved == 0
    assert await store.write(queries.drop_model, "p/m") == 0


async def test_message_rows_join_the_title(store: Store) -> None:
    await store.write(queries.ensure_schema)
    first, _, _ = await _history(store)
    rows = await store.read(queries.message_rows, [first, 999_999])
    assert len(rows) == 1
    assert rows[0][0] == first and rows[0][2] == "user" and rows[0][7] == "Cooking"
    assert await store.read(queries.message_rows, []) == []
