"""An AppContext for tests: a real store and files under a tmp dir, keys in memory."""

from __future__ import annotations

import keyring.backend
from keyring.credentials import Credential

from app.core.context import AppContext
from app.core.keys import KeyStore
from app.paths import AppPaths


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that forgets everything when the test ends."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)

    def get_credential(self, service: str, username: str | None) -> Credential | None:
        return None


async def open_context(paths: AppPaths) -> AppContext:
    return await AppContext.open(paths, keys=KeyStore(backend=MemoryKeyring(), environ={}))
