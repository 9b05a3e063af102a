"""Image generation: one job calls the provider, fetches the pictures, keeps them, accounts.

Two styles of provider are covered:

- the images endpoint (``/images/generations``): ``b64_json`` items are decoded, ``url``
  items are downloaded through the provider's client (size cap, image types only);
- image models that answer in chat (Spafe's ``flux``; the profile lists them in
  ``chat_image_models``): one chat call per image, the markdown image URL is downloaded.

Every picture is checked by its bytes (PNG, JPEG, GIF, WebP, BMP), kept as a blob, and the
whole result becomes one ``image_generations`` row with its prompt and parameters, so the
gallery works offline and history search finds it. Every call lands in the usage ledger.

Use::

    job = ImageJob(store, clients, ImageRequest("openai", "dall-e-3", "a red fox", n=2))
    outcome = await job.run()       # cancel the task to stop; ImageJobError says what failed
    outcome.generation.images, outcome.problems
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app import log
from app.api import ApiClient, ApiError, RequestValidationError
from app.api.profiles import ModelPrice, ProviderProfile
from app.api.types import ChatResult, ImageItem, user_message
from app.core.clients import ClientPool, ProviderUnavailable
from app.core.metered import Meter, metered
from app.core.remote_images import MAX_IMAGE_BYTES, RemoteImageError, fetch_image
from app.store import BlobRef, ImageGeneration, LedgerEntry, Store, StoreWriteError

__all__ = [
    "COMMON_SIZES",
    "FORMATS",
    "ImageJob",
    "ImageJobError",
    "ImageOptions",
    "ImageOutcome",
    "ImageRequest",
    "image_options",
    "image_type",
    "parse_extra",
    "parse_size",
]

_log = log.get("core.images")

COMMON_SIZES = (
    "256x256",
    "512x512",
    "1024x1024",
    "1024x1792",
    "1792x1024",
    "1536x1024",
    "1024x1536",
)
FORMATS = ("b64_json", "url")
QUALITIES = ("standard", "hd", "low", "medium", "high")
STYLES = ("vivid", "natural")
MAX_IMAGES = 10
_RESERVED_EXTRA = frozenset({"model", "prompt", "n", "messages"})
_SIZE = re.compile(r"^\s*(\d{1,5})\s*[x×*X]\s*(\d{1,5})\s*$")
_DATA_URL = re.compile(r"^data:(image/[\w.+-]+);base64,(.*)$", re.DOTALL)


class ImageJobError(Exception):
    """An image job failed; ``user_message`` (also ``str()``) says why in plain words."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


# --- what the user asks for -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """What to generate. ``size`` is ``"1024x1024"`` (or a named size such as ``"auto"``):
    the client spells it the provider's way. None means "not sent" (provider default)."""

    provider_id: str
    model: str
    prompt: str
    n: int = 1
    size: str | None = None
    quality: str | None = None
    style: str | None = None
    response_format: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """The settings kept with the result (and read back by :meth:`from_generation`)."""
        params: dict[str, Any] = {"n": self.n}
        for key in ("size", "quality", "style", "response_format"):
            value = getattr(self, key)
            if value is not None:
                params[key] = value
        if self.extra:
            params["extra"] = dict(self.extra)
        return params

    @classmethod
    def from_generation(cls, generation: ImageGeneration) -> ImageRequest:
        """The request that made ``generation`` (to reuse its prompt and settings)."""
        p = generation.params

        def text(key: str) -> str | None:
            value = p.get(key)
            return str(value) if isinstance(value, str | int | float) and value != "" else None

        n = p.get("n")
        extra = p.get("extra")
        return cls(
            provider_id=generation.provider or "",
            model=generation.model or "",
            prompt=generation.prompt,
            n=n if isinstance(n, int) and 1 <= n <= MAX_IMAGES else 1,
            size=text("size"),
            quality=text("quality"),
            style=text("style"),
            response_format=text("response_format"),
            extra=dict(extra) if isinstance(extra, dict) else {},
        )


def parse_extra(text: str) -> dict[str, Any]:
    """The free-form extra parameters (``{"negative_prompt": "...", "seed": 42}``).

    Empty text is ``{}``. Raises ``ImageJobError`` naming the problem otherwise.
    """
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImageJobError(
            f"The extra parameters are not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg})."
        ) from exc
    if not isinstance(value, dict):
        raise ImageJobError(
            'The extra parameters must be a JSON object, e.g. {"seed": 42, "negative_prompt": "blur"}.'
        )
    reserved = sorted(_RESERVED_EXTRA & value.keys())
    if reserved:
        raise ImageJobError(
            f"Set {', '.join(reserved)} with the fields above, not in the extra parameters."
        )
    return value


def parse_size(text: str) -> tuple[int, int] | None:
    """``"1024x1024"``, ``"1024*1024"`` or ``"1024 × 768"`` as numbers; None if not a size."""
    match = _SIZE.match(text)
    if not match:
        return None
    width, height = int(match.group(1)), int(match.group(2))
    return (width, height) if width > 0 and height > 0 else None


# --- what a provider takes ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageOptions:
    """Which settings the panel offers for a provider and model (empty: not offered)."""

    via_chat: bool
    sizes: tuple[str, ...]
    qualities: tuple[str, ...]
    styles: tuple[str, ...]
    formats: tuple[str, ...]
    size_separator: str = "x"

    def spell(self, size: str) -> str:
        """``"1024x1024"`` in the provider's spelling (``1024*1024`` for some)."""
        parsed = parse_size(size)
        if parsed is None:
            return size
        return f"{parsed[0]}{self.size_separator}{parsed[1]}"


def _listed(profile: ProviderProfile, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A profile may say what it takes in its capabilities (``"image_qualities": [...]``)."""
    value = getattr(profile.capabilities, key, None)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return default


def image_options(profile: ProviderProfile, model: str) -> ImageOptions:
    """What to offer for ``model`` of ``profile``.

    Chat-image models take only a prompt. Providers spelling sizes ``W*H`` (seed 002) take
    no quality or style and answer in ``b64_json`` only. OpenAI takes all of them. Other
    providers are offered quality and style too, unset by default, so nothing is sent
    unless the user picks a value. A profile's capabilities may list ``image_sizes``,
    ``image_qualities``, ``image_styles`` and ``image_formats`` to say exactly.
    """
    if model in profile.chat_image_models:
        return ImageOptions(True, (), (), (), (), profile.image_size_separator)
    star = profile.image_size_separator == "*"
    return ImageOptions(
        via_chat=False,
        sizes=_listed(profile, "image_sizes", COMMON_SIZES),
        qualities=_listed(profile, "image_qualities", () if star else QUALITIES),
        styles=_listed(profile, "image_styles", () if star else STYLES),
        formats=_listed(profile, "image_formats", ("b64_json",) if star else FORMATS),
        size_separator=profile.image_size_separator,
    )


# --- the bytes ------------------------------------------------------------------------------


def image_type(data: bytes) -> str | None:
    """The MIME type of image bytes by their signature; None when they are not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"BM") and len(data) > 26:
        return "image/bmp"
    return None


def _checked(data: bytes, where: str) -> tuple[bytes, str]:
    mime = image_type(data)
    if mime is None:
        raise ImageJobError(f"{where} is not a picture (PNG, JPEG, GIF, WebP or BMP).")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageJobError(f"{where} is larger than {MAX_IMAGE_BYTES // 1_000_000} MB.")
    return data, mime


def _decode_b64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise ImageJobError(f"{where} could not be decoded (broken base64).") from exc


async def _download(client: ApiClient, url: str, where: str) -> tuple[bytes, str]:
    match = _DATA_URL.match(url)
    if match:
        return _checked(_decode_b64(match.group(2), where), where)
    try:
        data, _ = await fetch_image(client, url)
    except RemoteImageError as exc:
        raise ImageJobError(f"{where}: {exc}") from exc
    except ApiError as exc:
        raise ImageJobError(f"{where} could not be loaded: {exc.user_message}") from exc
    return _checked(data, where)


# --- the job ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageOutcome:
    """A finished job: the stored generation and what went wrong with single images."""

    generation: ImageGeneration
    problems: list[str]


Progress = Callable[[str], None]


class ImageJob:
    """One request, run once with :meth:`run`. Cancelling the awaiting task stops it: calls
    made so far stay in the ledger, nothing half-done is added to the gallery."""

    def __init__(
        self,
        store: Store,
        clients: ClientPool,
        request: ImageRequest,
        *,
        price: ModelPrice | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.clients = clients
        self.request = request
        self._price = price
        self._progress = progress or (lambda _text: None)
        self._blobs: list[BlobRef] = []
        self._problems: list[str] = []
        self._revised: list[str] = []
        self._cost: float | None = None
        self._priced = True

    async def run(self) -> ImageOutcome:
        req = self.request
        if not req.prompt.strip():
            raise ImageJobError("Describe the image: the prompt is empty.")
        if not 1 <= req.n <= MAX_IMAGES:
            raise ImageJobError(f"Ask for 1 to {MAX_IMAGES} images (got {req.n}).")
        try:
            profile = self.clients.profile(req.provider_id)
            via_chat = req.model in profile.chat_image_models
            if via_chat:
                client = await self._by_chat(profile)
            else:
                client = await self._by_images_endpoint(profile)
        except ProviderUnavailable as exc:
            raise ImageJobError(exc.user_message) from exc
        if not self._blobs:
            raise ImageJobError(" ".join(self._problems) or "The provider sent no image.")
        self._progress("Saving to the gallery…")
        revised = next((r for r in self._revised if r and r != req.prompt), None)
        params = {**req.params(), "via": "chat" if via_chat else "images"}
        if not via_chat and req.size:
            params["size_sent"] = client.image_size(req.size)
        try:
            generation = await self.store.add_image_generation(
                req.prompt,
                self._blobs,
                provider=req.provider_id,
                model=req.model,
                params=params,
                revised_prompt=revised,
                cost=self._cost if self._priced else None,
            )
        except StoreWriteError as exc:
            raise ImageJobError(f"The images could not be saved: {exc}") from exc
        return ImageOutcome(generation, list(self._problems))

    # -- the two styles ------------------------------------------------------------------

    def _meter(self, endpoint: str) -> Meter:
        """One metered call; per-image prices win (a chat-image model billed per picture)."""
        req = self.request
        return metered(
            self.store, self.clients, req.provider_id, endpoint, req.model, price=self._price,
            per_image=True,
        )  # fmt: skip

    def _count(self, entry: LedgerEntry) -> None:
        """The job's cost is the sum of its calls', unknown when one is unpriced."""
        if entry.cost is None:
            self._priced = False
        else:
            self._cost = (self._cost or 0.0) + entry.cost

    async def _by_images_endpoint(self, profile: ProviderProfile) -> ApiClient:
        req = self.request
        self._progress(f"Waiting for {profile.name}…")
        try:
            async with self._meter("images") as meter:
                result = await meter.client.generate_images(
                    req.model,
                    req.prompt,
                    n=req.n,
                    size=req.size,
                    response_format=req.response_format,
                    quality=req.quality,
                    style=req.style,
                    extra=req.extra,
                )
                self._count(meter.ok(result, images=len(result.images)))
        except ApiError as exc:  # refused before sending (a bad size) is not in the ledger
            raise ImageJobError(exc.user_message) from exc
        items = result.images
        if not items:
            self._problems.append(f"{profile.name} answered without any image.")
        for i, item in enumerate(items, 1):
            where = f"Image {i}" if len(items) > 1 else "The image"
            if item.url and not item.b64_json:
                self._progress(f"Downloading image {i} of {len(items)}…")
            await self._keep(meter.client, item, where)
            if item.revised_prompt:
                self._revised.append(item.revised_prompt)
        return meter.client

    async def _by_chat(self, profile: ProviderProfile) -> ApiClient:
        req = self.request
        client: ApiClient | None = None
        for i in range(1, req.n + 1):
            where = f"Image {i}" if req.n > 1 else "The image"
            self._progress(
                f"Waiting for {profile.name} (image {i} of {req.n})…"
                if req.n > 1
                else f"Waiting for {profile.name}…"
            )
            try:
                async with self._meter("chat") as meter:
                    client = meter.client
                    result: ChatResult = await client.chat(
                        {"model": req.model, "messages": [user_message(req.prompt)], **req.extra}
                    )
                    self._count(meter.ok(result, images=len(result.image_urls)))
            except RequestValidationError as exc:  # e.g. an extra parameter of the wrong type
                raise ImageJobError(exc.user_message) from exc
            except ApiError as exc:
                if not self._blobs:  # nothing to keep: say it plainly
                    raise ImageJobError(exc.user_message) from exc
                self._problems.append(f"{where}: {exc.user_message}")
                continue
            urls = result.image_urls
            if not urls:
                said = " ".join(result.text.split())[:120]
                self._problems.append(
                    f"{where}: the model answered with text instead of an image"
                    + (f" (“{said}”)." if said else ".")
                )
                continue
            for url in urls:
                self._progress(
                    f"Downloading image {i} of {req.n}…" if req.n > 1 else "Downloading the image…"
                )
                await self._keep(client, ImageItem(url=url), where)
        assert client is not None  # n >= 1: the first call looked it up
        return client

    async def _keep(self, client: ApiClient, item: ImageItem, where: str) -> None:
        """Decode or download one picture and keep it as a blob; a bad one is a problem."""
        try:
            if item.b64_json:
                data, mime = _checked(_decode_b64(item.b64_json, where), where)
            elif item.url:
                data, mime = await _download(client, item.url, where)
            else:
                raise ImageJobError(f"{where} came with neither data nor a link.")
            self._blobs.append(await self.store.put_blob(data, mime))
        except ImageJobError as exc:
            _log.info("image skipped: %s", exc)
            self._problems.append(exc.user_message)
        except StoreWriteError as exc:
            raise ImageJobError(f"The images could not be saved: {exc}") from exc
