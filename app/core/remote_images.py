"""Images that answers link to (e.g. Spafe's ``flux`` answers with a markdown image URL).

Nothing remote loads by itself: the user clicks a placeholder, and only then the image is
fetched through the provider's own client (size cap, image types only, its timeouts), kept
in the store as a content-addressed file, and remembered on the message so history shows it
offline from then on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.api import ApiError
from app.store import BlobRef, Message, Store

if TYPE_CHECKING:
    from app.api import ApiClient

MAX_IMAGE_BYTES = 10_000_000
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
PART_TYPE = "remote_image"


class RemoteImageError(Exception):
    """The link is not an image Palaver will show; ``str()`` says why in plain words."""


async def fetch_image(client: ApiClient, url: str) -> tuple[bytes, str]:
    """Download ``url`` with the limits above; raises ``RemoteImageError`` or ``ApiError``."""
    try:
        data, content_type = await client.download(url, max_bytes=MAX_IMAGE_BYTES)
    except ApiError as exc:
        raise RemoteImageError(f"The image could not be loaded: {exc.user_message}") from exc
    if content_type not in IMAGE_TYPES:
        shown = content_type or "an unknown type"
        raise RemoteImageError(f"The link did not return an image (it returned {shown}).")
    return data, content_type


def attachment_url(part: dict[str, Any]) -> str:
    """The key an attached image (a user message's ``image`` part) is shown under."""
    return f"attachment:{part['blob']['sha256']}"


def cached_images(store: Store, message: Message) -> dict[str, bytes]:
    """``{url: bytes}`` of the images this message holds offline: linked images already
    fetched, and images sent with it."""
    images: dict[str, bytes] = {}
    for part in message.parts:
        kind = part.get("type")
        if kind not in (PART_TYPE, "image") or not isinstance(part.get("blob"), dict):
            continue
        try:
            url = str(part["url"]) if kind == PART_TYPE else attachment_url(part)
            images[url] = store.blob_path(str(part["blob"]["sha256"])).read_bytes()
        except (OSError, KeyError):
            continue  # a missing file shows the placeholder (or the name) again
    return images


def with_image_part(parts: list[dict[str, Any]], url: str, ref: BlobRef) -> list[dict[str, Any]]:
    kept = [p for p in parts if not (p.get("type") == PART_TYPE and p.get("url") == url)]
    return [*kept, {"type": PART_TYPE, "url": url, "blob": ref.to_json()}]
