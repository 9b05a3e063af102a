"""Gallery operations on a real store: deleting pictures and the files nothing uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.core import gallery
from app.core.gallery import ImageRef
from app.store import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path, daily_backup=False) as s:
        yield s


async def test_deleting_pictures_removes_unused_files_and_reports_generations(
    store: Store,
) -> None:
    a = await store.put_blob(b"\x89PNG a", "image/png")
    b = await store.put_blob(b"\x89PNG b", "image/png")
    kept = await store.add_image_generation("foxes", [a, b], model="m")
    other = await store.add_image_generation("owls", [a], model="m")
    assert gallery.count(store) == 2
    # Both of the first generation's pictures at once: positions must not shift under us.
    deleted = await gallery.delete_images(
        store, [ImageRef(kept.id, 0, a.sha256), ImageRef(kept.id, 1, b.sha256)]
    )
    assert deleted.error is None
    assert deleted.removed_files == [b.sha256]  # ``a`` is still used by the owls
    assert deleted.generations == {kept.id: None}
    assert not store.blob_path(b.sha256).exists()
    assert store.blob_path(a.sha256).exists()
    assert gallery.count(store) == 1

    again = await gallery.delete_images(store, [ImageRef(other.id, 0, a.sha256)])
    assert again.removed_files == [a.sha256] and not store.blob_path(a.sha256).exists()


async def test_a_picture_deleted_elsewhere_is_not_an_error(store: Store) -> None:
    a = await store.put_blob(b"\x89PNG a", "image/png")
    b = await store.put_blob(b"\x89PNG b", "image/png")
    made = await store.add_image_generation("foxes", [a, b], model="m")
    stale = ImageRef(made.id, 5, a.sha256)  # no such position any more
    deleted = await gallery.delete_images(store, [stale])
    assert deleted.error is None and deleted.removed_files == []
    assert gallery.count(store) == 1
