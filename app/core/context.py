"""The app's services, opened once at start-up and closed once, in order, at shutdown.

Panels receive the :class:`AppContext` (never the window); it is plain Python, so the
same engine can be driven from a script or a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from app import log
from app.core.clients import ClientPool
from app.core.keys import KeyStore
from app.core.providers import ProviderRegistry
from app.paths import AppPaths
from app.settings import SettingsStore
from app.store import Store

if TYPE_CHECKING:
    from app.core.models_cache import ModelsCache
    from app.core.prompts import PromptLibrary

_log = log.get("core.context")

# The engine's modules that start-up leaves out (pydantic, the wire types, the HTTP client):
# :func:`preload_engine` imports them on a worker thread once the window has painted.
ENGINE_MODULES = (
    "app.api.profiles",
    "app.api.types",
    "app.core.models_cache",
    "app.api.client",
)


@dataclass
class AppContext:
    paths: AppPaths
    settings: SettingsStore
    registry: ProviderRegistry
    keys: KeyStore
    store: Store
    clients: ClientPool
    problems: list[str] = field(default_factory=list)
    """Start-up problems in plain words (a damaged file kept aside, a recovered database).
    The providers file is read after the first paint: its problem is ``registry.problem``."""

    @cached_property
    def models(self) -> ModelsCache:
        """Cached model lists (read per provider on first use); the same cache prices every
        metered call."""
        from app.core.models_cache import ModelsCache

        return self.clients.models or ModelsCache(self.paths.cache / "models")

    @cached_property
    def prompts(self) -> PromptLibrary:
        """Saved prompts and assistants (the composer's "/" menu); ``load()`` on first use."""
        from app.core.prompts import PromptLibrary

        return PromptLibrary(self.store)

    @classmethod
    async def open(cls, paths: AppPaths, *, keys: KeyStore | None = None) -> AppContext:
        paths.ensure()
        settings = SettingsStore.load(paths.settings_file)
        registry = ProviderRegistry.load(paths.providers_file)
        keys = keys or KeyStore()
        store = await Store.open(paths)
        clients = ClientPool(registry, keys, settings, models_dir=paths.cache / "models")
        problems = [p for p in (settings.problem, store.report.message, store.problem) if p]
        return cls(paths, settings, registry, keys, store, clients, problems)

    async def fetch_model_lists(self, *, force: bool = False, only: str | None = None) -> bool:
        """Fetch and cache the model list of every provider never fetched or fetched over a
        day ago (models and live prices change; each call goes in the usage ledger); True
        when something new arrived (``force``: every list; ``only``: that provider's).
        Offline, the cache stays as is."""
        from app.api import ApiError
        from app.core.clients import ProviderUnavailable
        from app.core.metered import metered

        fetched = False
        for profile in self.registry.all():
            if only is not None and profile.id != only:
                continue
            cached = self.models.get(profile.id)
            fresh = cached is not None and not cached.stale and not force
            if not profile.capabilities.model_list or fresh:
                continue
            try:
                async with metered(self.store, self.clients, profile.id, "models", "") as meter:
                    listing = await meter.client.list_models()
                    meter.ok(listing)
            except ProviderUnavailable as exc:
                _log.info("model list of %s not fetched: %s", profile.id, exc.user_message)
                continue
            except ApiError as exc:
                _log.info("model list of %s not fetched: %s", profile.id, exc)
                continue
            self.models.put(profile.id, listing.models)
            fetched = True
        return fetched

    def load_engine(self) -> None:
        """Read the provider profiles (the engine's modules are imported on this thread if
        :func:`preload_engine` has not done it yet)."""
        self.registry.all()

    async def close(self) -> None:
        """Network first (nothing new to save), then the store (flushes streamed text)."""
        await self.clients.aclose()
        await self.store.close()
        self.keys.close()
        _log.info("services closed")


def preload_engine() -> None:
    """Import :data:`ENGINE_MODULES`. Meant for a worker thread: imports are thread-safe, and
    the Qt thread, idle meanwhile, stays responsive (it takes the GIL back within the
    interpreter's switch interval)."""
    import importlib

    for name in ENGINE_MODULES:
        importlib.import_module(name)
