"""The gallery's queries: count, fetch, remove one image, delete a generation, unused blobs."""

from __future__ import annotations

import pytest

from app.store import NotFoundError, SearchFilters, Store
from app.store import image_queries as q


async def test_remove_images_one_by_one(store: Store) -> None:
    a = await store.put_blob(b"\x89PNG a", "image/png")
    b = await store.put_blob(b"\x89PNG b", "image/png")
    made = await store.add_image_generation("two foxes", [a, b, a], model="m", params={"n": 3})
    assert store.read_now(q.count_generations) == 1
    # ``a`` is held twice: removing one copy leaves its file in use.
    assert await store.write(q.remove_image, made.id, 0, a.sha256) is None
    assert store.read_now(q.get_generation, made.id).images == [b, a]
    with pytest.raises(NotFoundError):
        await store.write(q.remove_image, made.id, 0, a.sha256)  # stale: index 0 is b now
    assert await store.write(q.remove_image, made.id, 0, b.sha256) == b.sha256
    assert await store.write(q.remove_image, made.id, 0, a.sha256) == a.sha256
    with pytest.raises(NotFoundError):
        store.read_now(q.get_generation, made.id)
    assert store.read_now(q.count_generations) == 0
    assert await store.search("foxes", SearchFilters(kinds=("image",))) == []


async def test_a_blob_used_elsewhere_is_kept(store: Store) -> None:
    shared = await store.put_blob(b"\x89PNG shared", "image/png")
    own = await store.put_blob(b"\x89PNG own", "image/png")
    first = await store.add_image_generation("first", [shared, own])
    await store.add_image_generation("second", [shared])
    conv = await store.create_conversation("c")
    await store.add_message(
        conv.id, "assistant", "see", parts=[{"type": "image", "blob": own.to_json()}]
    )
    assert await store.write(q.delete_generation, first.id) == []
    assert store.read_now(q.blob_in_use, shared.sha256)
    with pytest.raises(NotFoundError):
        await store.write(q.delete_generation, first.id)
