"""Operations on the kept images, as plain data for the images panel: how many
generations are kept, and deleting pictures together with the files nothing uses any more."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from app import log
from app.store import ImageGeneration, NotFoundError, Store, StoreError
from app.store.image_queries import count_generations, get_generation, remove_image

_log = log.get("core.gallery")


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One picture of a generation: which generation, its position, its file's hash."""

    generation_id: int
    index: int
    sha256: str


@dataclass(slots=True)
class Deleted:
    """What a deletion changed: files no longer kept, and each touched generation as it is
    now (None when its last picture went with it); ``error`` says why it stopped early."""

    removed_files: list[str] = field(default_factory=list)
    generations: dict[int, ImageGeneration | None] = field(default_factory=dict)
    error: str | None = None


def count(store: Store) -> int:
    """How many generations are kept (a quick indexed read, fine on the Qt thread)."""
    return store.read_now(count_generations)


async def delete_images(store: Store, images: Iterable[ImageRef]) -> Deleted:
    """Remove ``images`` from their generations and delete the files nothing else uses."""
    # Highest index first, so the positions of a generation's other images hold.
    ordered = sorted(images, key=lambda i: (i.generation_id, -i.index))
    result = Deleted()
    touched: set[int] = set()
    try:
        for image in ordered:
            orphan = await store.write(remove_image, image.generation_id, image.index, image.sha256)
            touched.add(image.generation_id)
            if orphan:
                result.removed_files.append(orphan)
    except NotFoundError:
        _log.info("an image was deleted already")
    except StoreError as exc:
        result.error = f"The image could not be deleted: {exc}"
    for sha in result.removed_files:
        await asyncio.to_thread(store.blob_path(sha).unlink, missing_ok=True)
    for generation_id in touched:
        try:
            result.generations[generation_id] = store.read_now(get_generation, generation_id)
        except NotFoundError:
            result.generations[generation_id] = None
    return result
