"""An AppContext for tests: a real store and files under a tmp dir, keys in memory."""

from __future__ import annotations

from typing import Any

from app.api import ProviderProfile
from app.core.context import AppContext
from app.core.keys import KeyStore
from app.paths import AppPaths
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.openai_server import OpenAIServer


async def open_context(paths: AppPaths) -> AppContext:
    """Opened as the app opens it, with the engine loaded at once (the app loads it after the
    first paint), so widgets built on it show their providers from the start."""
    ctx = await AppContext.open(paths, keys=KeyStore(backend=MemoryKeyring(), environ={}))
    ctx.load_engine()
    return ctx


def local_provider(server: OpenAIServer, **fields: Any) -> ProviderProfile:
    """The local test server as a keyless provider with the id ``local``."""
    values: dict[str, Any] = {
        "id": "local",
        "name": "Local",
        "kind": "local",
        "key_required": False,
    }
    return ProviderProfile.model_validate({**values, **fields, "base_url": server.base_url})
