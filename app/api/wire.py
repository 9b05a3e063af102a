"""The seam between the client and its streams: one sent call, and what a stream needs of
the client that opened it. Both ``client`` and ``streaming`` import this module, so they
need not import each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx

    from app.api.profiles import Endpoint, ProviderProfile
    from app.api.types import CallMeta, Usage


@dataclass(slots=True)
class Sent:
    """One call on the wire: its final response and how we got it."""

    response: httpx.Response
    started: float
    attempts: int
    idempotency_key: str | None


class StreamSource(Protocol):
    """What a stream uses of its client (``ApiClient`` satisfies it)."""

    profile: ProviderProfile
    timeout: float

    async def open_stream(
        self, endpoint: Endpoint, payload: dict[str, Any], model: str
    ) -> tuple[httpx.Response, Sent]: ...

    def stream_meta(
        self,
        sent: Sent | None,
        endpoint: Endpoint,
        model: str,
        usage: Usage,
        t_first: float | None,
        t_end: float | None,
    ) -> CallMeta: ...
