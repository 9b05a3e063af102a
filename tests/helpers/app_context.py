"""An AppContext for tests: a real store and files under a tmp dir, keys in memory."""

from __future__ import annotations

from app.core.context import AppContext
from app.core.keys import KeyStore
from app.paths import AppPaths
from tests.helpers.memory_keyring import MemoryKeyring


async def open_context(paths: AppPaths) -> AppContext:
    return await AppContext.open(paths, keys=KeyStore(backend=MemoryKeyring(), environ={}))
