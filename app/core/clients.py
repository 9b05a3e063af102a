"""One long-lived API client per provider, built from its profile, key and network settings.

Clients are created on first use and kept; a change of the provider's profile, its key or
the proxy/timeout settings closes the old client so the next call gets a fresh one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from app import log
from app.core.keys import KeyStore
from app.core.monitor import UsageMonitor
from app.core.providers import ProviderRegistry
from app.settings import SettingsStore

if TYPE_CHECKING:  # the client (httpx, pydantic) loads on the first call, not at start-up
    import httpx

    from app.api import ApiClient, ProviderProfile, RateLimitStatus
    from app.core.models_cache import ModelsCache

_log = log.get("core.clients")


class ProviderUnavailable(Exception):
    """The provider cannot be called yet (unknown, or its key is missing); ``user_message`` says why."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class ClientPool:
    def __init__(
        self,
        registry: ProviderRegistry,
        keys: KeyStore,
        settings: SettingsStore,
        *,
        transport_factory: Callable[[ProviderProfile], httpx.AsyncBaseTransport | None]
        | None = None,
        models_dir: Path | None = None,
    ) -> None:
        self._registry = registry
        self._keys = keys
        self._settings = settings
        self._transport_factory = transport_factory
        self._clients: dict[str, tuple[ApiClient, tuple[object, ...]]] = {}
        self._retired: list[ApiClient] = []
        self.usage = UsageMonitor()
        """Live rate limits and usage events; flows report every call to it."""
        self._models_dir = models_dir

    @cached_property
    def models(self) -> ModelsCache | None:
        """The providers' cached model lists (their live prices price every metered call);
        None for a pool made without a cache directory."""
        if self._models_dir is None:
            return None
        from app.core.models_cache import ModelsCache

        return ModelsCache(self._models_dir)

    def profile(self, provider_id: str) -> ProviderProfile:
        profile = self._registry.get(provider_id)
        if profile is None:
            raise ProviderUnavailable(f"The provider “{provider_id}” is not configured any more.")
        return profile

    async def get(self, provider_id: str) -> ApiClient:
        """The client of ``provider_id``, created (or rebuilt after a change) as needed."""
        profile = self.profile(provider_id)
        resolved = await self._keys.get(profile.id, profile.key_env)
        key = resolved.value if resolved is not None else None
        if profile.key_required and not key:
            raise ProviderUnavailable(
                f"{profile.name} needs an API key. Add it in Providers (Ctrl+Shift+P)."
            )
        settings = self._settings.get()
        # The key is part of the identity so a changed key gets a new client; it is compared,
        # never logged.
        identity = (
            profile.model_dump_json(), key, settings.proxy, settings.request_timeout,
            settings.retry_budget,
        )  # fmt: skip
        current = self._clients.get(provider_id)
        if current is not None and current[1] == identity:
            return current[0]
        if current is not None:
            self._retired.append(current[0])
        transport = self._transport_factory(profile) if self._transport_factory else None
        from app.api import ApiClient, RetryPolicy

        client = ApiClient(
            profile,
            key,
            timeout=float(settings.request_timeout),
            retry_policy=RetryPolicy(budget=settings.retry_budget),
            proxy=settings.proxy_url,
            trust_env=settings.use_system_proxy,
            transport=transport,
        )
        # Live limits from every response, including a 429 the client is about to wait out
        # by itself (its Retry-After countdown shows meanwhile).
        client.add_response_hook(self.usage.response_hook(profile))
        self._clients[provider_id] = (client, identity)
        return client

    def registry_profile(self, provider_id: str) -> ProviderProfile | None:
        """The provider's profile, or None when it is not configured (any more)."""
        return self._registry.get(provider_id)

    def last_rate_limit(self, provider_id: str) -> RateLimitStatus | None:
        """The rate-limit headers of the provider's latest response (errors included)."""
        current = self._clients.get(provider_id)
        return current[0].last_rate_limit if current is not None else None

    async def aclose(self) -> None:
        """Close every client (at shutdown)."""
        clients = [c for c, _ in self._clients.values()] + self._retired
        self._clients.clear()
        self._retired.clear()
        results = await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                _log.warning("closing a client failed: %s", result)
