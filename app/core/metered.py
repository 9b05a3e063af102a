"""The metered provider call: the one door every feature calls a provider through.

::

    async with metered(store, clients, "openai", "speech", "tts-1", characters=len(text)) as meter:
        stream = meter.client.stream_speech("tts-1", text, voice="alloy")
        async with stream:
            audio = b"".join([chunk async for chunk in stream])
        meter.ok(stream)                # priced now: meter.cost goes with the kept clip
    await store.add_speech(text, ..., cost=meter.cost)

Entering looks the client up (:class:`~app.core.clients.ProviderUnavailable` is raised
and nothing is written) and starts the clock. Leaving writes exactly one ledger row and
reports it to the :class:`~app.core.monitor.UsageMonitor` (rate limits, a 429's wait, a
402's "out of credits", the event budgets are checked on):

- the block ended normally: the row :meth:`Meter.ok` or :meth:`Meter.fail` settled, or
  ``ok`` priced from what the meter was told;
- an exception left the block: ``error:<Type>``, billed nothing, unless the flow settled
  the row first (a call settled ``ok`` stays ``ok`` when keeping its result fails: the
  provider billed it);
- cancelled (or the generator around it closed): ``stopped``, then ``CancelledError``
  goes on;
- :class:`~app.api.errors.RequestValidationError`: refused before sending, no row.

Rows are written under :func:`asyncio.shield`, so cancelling again while one is written
never loses it. :func:`record` writes the row of a call made elsewhere.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from app import log
from app.api.errors import RequestValidationError
from app.core.usage import call_cost
from app.store import LedgerEntry, Store, StoreWriteError

if TYPE_CHECKING:  # the wire types (pydantic) load with the first call, not at start-up
    from app.api import ApiClient
    from app.api.profiles import ModelPrice, ProviderProfile
    from app.api.types import CallMeta, RateLimitStatus, Usage
    from app.core.models_cache import ModelsCache
    from app.core.monitor import UsageMonitor

__all__ = ["Meter", "MeteredClients", "ledger_entry", "metered", "price_of", "record"]

_log = log.get("core.metered")


class MeteredClients(Protocol):
    """What a metered call needs of the client pool (:class:`~app.core.clients.ClientPool`,
    or a wrapper such as a comparison column's paced pool)."""

    usage: UsageMonitor

    def registry_profile(self, provider_id: str) -> ProviderProfile | None: ...

    def last_rate_limit(self, provider_id: str) -> RateLimitStatus | None: ...

    async def get(self, provider_id: str) -> ApiClient: ...


def price_of(
    clients: MeteredClients, provider_id: str, model: str, models: ModelsCache | None = None
) -> ModelPrice | None:
    """The price of ``model``: the provider list's live one, else the profile's (preset or
    user); the list is the pool's cache unless ``models`` is given."""
    profile = clients.registry_profile(provider_id)
    if profile is None:
        return None
    from app.core.models_cache import effective_price

    return effective_price(profile, model, models or getattr(clients, "models", None))


def _rate_limit_json(status: RateLimitStatus | None) -> dict[str, Any] | None:
    if status is None or not status.known:
        return None
    return status.model_dump(exclude={"raw"})


def ledger_entry(
    provider_id: str,
    endpoint: str,
    model: str,
    *,
    status: str | None = None,
    price: ModelPrice | None = None,
    meta: CallMeta | None = None,
    usage: Usage | None = None,
    error: BaseException | None = None,
    characters: int = 0,
    audio_seconds: float = 0.0,
    images: int = 0,
    per_image: bool = False,
    latency_s: float | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
) -> LedgerEntry:
    """One ledger row: ``ok``, or with ``error`` ``<status>:<Type>`` (``error:`` by default),
    or ``status`` as given (``stopped``). A call is priced by what it used: a dropped,
    stopped or failed stream is billed for the tokens that arrived (the provider charges
    them; estimated when it sent no usage), a call that used nothing costs nothing."""
    usage = usage or (meta.usage if meta is not None else None)
    prompt = usage.prompt_tokens if usage else 0
    completion = usage.completion_tokens if usage else 0
    cost: float | None = 0.0
    if error is not None:
        status = f"{status or 'error'}:{type(error).__name__}"
    elif status is None:
        status = "ok"
    if status == "ok" or prompt or completion:
        cost = call_cost(
            price, endpoint, prompt_tokens=prompt, completion_tokens=completion,
            characters=characters, audio_seconds=audio_seconds, images=images, per_image=per_image,
        )  # fmt: skip
    return LedgerEntry(
        provider=provider_id,
        endpoint=endpoint,
        model=model,
        prompt_tokens=prompt,
        completion_tokens=completion,
        characters=characters,
        audio_seconds=audio_seconds,
        images=images,
        cost=cost,
        estimated=bool(usage and usage.estimated),
        status=status,
        latency_s=latency_s if latency_s is not None else (meta.latency_s if meta else None),
        ttft_s=meta.ttft_s if meta else None,
        request_id=meta.request_id if meta else getattr(error, "request_id", None),
        rate_limit=_rate_limit_json(meta.rate_limit if meta else None),
        conversation_id=conversation_id,
        message_id=message_id,
    )


async def record_call(
    store: Store,
    monitor: UsageMonitor | None,
    entry: LedgerEntry,
    *,
    rate_limit: RateLimitStatus | None = None,
    error: BaseException | None = None,
) -> LedgerEntry:
    """Write ``entry`` and tell the monitor (a full disk only logs: accounting never breaks
    the call it accounts for)."""
    try:
        await store.record_usage(entry)
    except StoreWriteError as exc:
        _log.warning("usage not recorded: %s", exc)
    if monitor is not None:
        monitor.observe_call(entry, rate_limit=rate_limit, error=error)
    return entry


class Meter:
    """One provider call being metered; made by :func:`metered`, used as ``async with``.

    Tell it what the provider bills by when the result cannot say (``characters`` of
    speech, ``audio_seconds`` transcribed, ``images``) and what the call belongs to
    (``conversation_id``, ``message_id``); ``model`` may change once the answer names it.
    """

    def __init__(
        self,
        store: Store,
        clients: MeteredClients,
        provider_id: str,
        endpoint: str,
        model: str,
        *,
        models: ModelsCache | None = None,
        price: ModelPrice | None = None,
        per_image: bool = False,
        connect: bool = True,
        characters: int = 0,
        audio_seconds: float = 0.0,
        images: int | None = None,
        conversation_id: int | None = None,
        message_id: int | None = None,
        latency_s: float | None = None,
    ) -> None:
        self.store = store
        self.clients = clients
        self.provider_id = provider_id
        self.endpoint = endpoint
        self.model = model
        self.models = models
        self.per_image = per_image
        self.connect = connect
        self.characters = characters
        self.audio_seconds = audio_seconds
        self.images = images
        self.conversation_id = conversation_id
        self.message_id = message_id
        self.latency_s = latency_s
        """Overrides the call's own latency (``meta.latency_s``, else the elapsed time)."""
        self.profile: ProviderProfile | None = clients.registry_profile(provider_id)
        self.entry: LedgerEntry | None = None
        """The row, once settled (written when the block is left)."""
        self.started: float | None = None
        """When the call started (entering the block); None for a call made elsewhere."""
        self._price = price
        self._client: ApiClient | None = None
        self._error: BaseException | None = None
        self._rate_limit: RateLimitStatus | None = None

    @property
    def client(self) -> ApiClient:
        """The provider's client, looked up on entering the block."""
        if self._client is None:
            raise RuntimeError("the meter has no client: use it as `async with metered(...)`")
        return self._client

    @property
    def price(self) -> ModelPrice | None:
        """The price given, else the one looked up for the current ``model``."""
        if self._price is not None:
            return self._price
        return price_of(self.clients, self.provider_id, self.model, self.models)

    @property
    def elapsed(self) -> float:
        """Seconds since the call started."""
        return 0.0 if self.started is None else time.perf_counter() - self.started

    @property
    def cost(self) -> float | None:
        """The settled row's cost (None while unsettled or unpriced)."""
        return self.entry.cost if self.entry is not None else None

    def ok(
        self,
        result: Any = None,
        *,
        usage: Usage | None = None,
        characters: int | None = None,
        audio_seconds: float | None = None,
        images: int | None = None,
    ) -> LedgerEntry:
        """The call succeeded: its row, priced now. ``result`` is the API result (its
        ``meta`` and ``usage`` are read; an images result's pictures are counted)."""
        if characters is not None:
            self.characters = characters
        if audio_seconds is not None:
            self.audio_seconds = audio_seconds
        if images is not None:
            self.images = images
        return self._settle("ok", result, usage, None)

    def fail(
        self, error: BaseException, *, result: Any = None, status: str = "error"
    ) -> LedgerEntry:
        """The call failed and the flow goes on (or says so in its own words): its row is
        ``<status>:<Type>``; ``result`` is what arrived before (tokens of a broken stream)."""
        return self._settle(status, result, None, error)

    def stopped(self, result: Any = None) -> LedgerEntry:
        """The user stopped the call; ``result`` is what arrived (its tokens are billed)."""
        return self._settle("stopped", result, None, None)

    def _settle(
        self, status: str, result: Any, usage: Usage | None, error: BaseException | None
    ) -> LedgerEntry:
        meta: CallMeta | None = getattr(result, "meta", None)
        usage = usage or getattr(result, "usage", None)
        images = self.images
        if images is None:
            data = getattr(result, "data", None)
            images = len(data) if self.endpoint == "images" and isinstance(data, list) else 0
        latency = self.latency_s
        if latency is None and meta is not None and meta.latency_s:
            latency = meta.latency_s
        elif latency is None and self.started is not None:
            latency = self.elapsed
        self.entry = ledger_entry(
            self.provider_id, self.endpoint, self.model, status=status,
            price=self.price, meta=meta, usage=usage, error=error,
            characters=self.characters, audio_seconds=self.audio_seconds, images=images,
            per_image=self.per_image, latency_s=latency, conversation_id=self.conversation_id,
            message_id=self.message_id,
        )  # fmt: skip
        self._error = error
        self._rate_limit = meta.rate_limit if meta is not None else None
        return self.entry

    async def write(self) -> LedgerEntry:
        """Write the settled row (``ok`` when unsettled) and tell the monitor, shielded."""
        entry = self.entry or self.ok()
        rate_limit = self._rate_limit or self.clients.last_rate_limit(self.provider_id)
        monitor = self.clients.usage
        await asyncio.shield(
            record_call(self.store, monitor, entry, rate_limit=rate_limit, error=self._error)
        )
        return entry

    async def __aenter__(self) -> Meter:
        if self.connect:
            self._client = await self.clients.get(self.provider_id)
        self.started = time.perf_counter()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is not None and self.entry is None:
            if isinstance(error, RequestValidationError):
                return  # refused before sending: no call to account
            if isinstance(error, Exception):
                self.fail(error)
            else:  # cancelled, or the generator around the call was closed
                self._settle("stopped", None, None, None)
        await self.write()


def metered(
    store: Store,
    clients: MeteredClients,
    provider_id: str,
    endpoint: str,
    model: str,
    *,
    models: ModelsCache | None = None,
    price: ModelPrice | None = None,
    per_image: bool = False,
    connect: bool = True,
    characters: int = 0,
    audio_seconds: float = 0.0,
    images: int | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
) -> Meter:
    """A metered call of ``endpoint`` (``chat``, ``images``, ``speech``, ``transcriptions``,
    ``embeddings``, ``moderations``, ``models``...) to ``provider_id`` with ``model``.

    ``models`` prices from the provider's model list when the profile has no price;
    ``price`` is an explicit one. ``per_image``: a chat call of an image model, billed per
    picture when its price has one. ``connect=False`` looks no client up (a call the API
    client does not make).
    """
    return Meter(
        store, clients, provider_id, endpoint, model, models=models, price=price,
        per_image=per_image, connect=connect, characters=characters, audio_seconds=audio_seconds,
        images=images, conversation_id=conversation_id, message_id=message_id,
    )  # fmt: skip


async def record(
    store: Store,
    clients: MeteredClients,
    provider_id: str,
    endpoint: str,
    model: str,
    *,
    result: Any = None,
    error: BaseException | None = None,
    models: ModelsCache | None = None,
    price: ModelPrice | None = None,
    latency_s: float | None = None,
    characters: int = 0,
    audio_seconds: float = 0.0,
    images: int | None = None,
) -> LedgerEntry:
    """The row of a call made elsewhere (the providers dialog's connection test)."""
    meter = Meter(
        store, clients, provider_id, endpoint, model, models=models, price=price,
        connect=False, characters=characters, audio_seconds=audio_seconds, images=images,
        latency_s=latency_s,
    )  # fmt: skip
    if error is not None:
        meter.fail(error, result=result)
    else:
        meter.ok(result)
    return await meter.write()
