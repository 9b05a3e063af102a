"""API keys: in the OS keyring, else in memory for this run, else from an environment variable.

Keys never touch a file of ours. :class:`KeyStore` decides where a key lives:

- a *real* keyring backend (Secret Service, KWallet, macOS Keychain, Windows Credential
  Locker) stores it under service ``Palaver`` and username = provider id;
- without one (headless Linux: keyring's ``fail`` backend, or only ``keyrings.alt``'s
  plaintext files, which do not count), keys are kept in memory until the app quits;
- a profile's ``key_env`` names an environment variable used when nothing is stored.

``keyring`` costs ~95 ms to import and its calls can block on D-Bus, so it is imported
on first use and every call runs on one worker thread (which also serialises them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from app import APP_NAME, log

_log = log.get("core.keys")

SERVICE = APP_NAME
_T = TypeVar("_T")


class KeySource(StrEnum):
    KEYRING = "keyring"
    MEMORY = "memory"
    ENVIRONMENT = "environment"


@dataclass(frozen=True)
class KeyringStatus:
    """Whether keys can be stored safely, in words a user understands."""

    real: bool
    backend: str
    message: str


@dataclass(frozen=True)
class ResolvedKey:
    """A key and where it came from. ``repr`` never shows the key."""

    value: str = field(repr=False)
    source: KeySource
    env_var: str | None = None

    @property
    def masked(self) -> str:
        return mask(self.value)


class KeyStoreError(Exception):
    """The keyring refused or failed; ``user_message`` says what happened in plain words."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


def mask(key: str) -> str:
    """``sk-t…-key``: enough to recognise a key, never enough to use it."""
    if len(key) <= 8:
        return "•" * len(key)
    return f"{key[:4]}…{key[-4:]}"


def is_real_backend(backend: Any) -> bool:
    """True for backends that keep secrets encrypted by the OS.

    ``fail`` and ``null`` store nothing; ``keyrings.alt`` keeps plain (or weakly
    wrapped) files; a ``chainer`` counts only when the backend it writes to is real.
    """
    from keyring.backends import chainer, fail

    if isinstance(backend, fail.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        chained = list(backend.backends)
        return bool(chained) and is_real_backend(chained[0])
    module = type(backend).__module__
    if module.startswith("keyrings.alt") or module.startswith("keyring.backends.null"):
        return False
    return float(getattr(backend, "priority", 0)) > 0


def describe_backend(backend: Any) -> str:
    name = getattr(type(backend), "name", None) or type(backend).__name__
    return str(name)


class KeyStore:
    """Where API keys live; async methods never block the UI thread.

    ``backend`` overrides the keyring backend (tests); by default keyring's own choice is
    used. ``environ`` is read for ``key_env`` variables.
    """

    def __init__(
        self,
        service: str = SERVICE,
        *,
        backend: Any = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.service = service
        self._backend = backend
        self._environ = environ if environ is not None else os.environ
        self._memory: dict[str, str] = {}
        self._status: KeyringStatus | None = None
        self._executor: ThreadPoolExecutor | None = None

    # -- status ---------------------------------------------------------------

    def status_sync(self) -> KeyringStatus:
        """Detect the backend once (blocking: imports keyring, may touch D-Bus)."""
        if self._status is None:
            self._status = self._detect()
        return self._status

    async def status(self) -> KeyringStatus:
        if self._status is not None:
            return self._status
        return await self._run(self.status_sync)

    @property
    def known_status(self) -> KeyringStatus | None:
        """The status if already detected, without blocking."""
        return self._status

    def _detect(self) -> KeyringStatus:
        try:
            backend = self._keyring_backend()
        except Exception as error:  # keyring's own discovery can fail in many ways
            _log.warning("keyring unavailable: %s", error)
            return KeyringStatus(False, "none", _NO_KEYRING + " (" + type(error).__name__ + ")")
        name = describe_backend(backend)
        if is_real_backend(backend):
            return KeyringStatus(True, name, f"Keys are stored in the system keyring ({name}).")
        return KeyringStatus(False, name, _NO_KEYRING)

    def _keyring_backend(self) -> Any:
        if self._backend is None:
            import keyring

            self._backend = keyring.get_keyring()
        return self._backend

    # -- blocking operations (run on the worker thread) -------------------------

    def get_sync(self, provider_id: str, key_env: str | None = None) -> ResolvedKey | None:
        stored = self._memory.get(provider_id)
        if stored is not None:
            return ResolvedKey(stored, KeySource.MEMORY)
        if self.status_sync().real:
            value = self._call(lambda b: b.get_password(self.service, provider_id), "read")
            if value:
                return ResolvedKey(value, KeySource.KEYRING)
        if key_env:
            env_value = self._environ.get(key_env, "").strip()
            if env_value:
                return ResolvedKey(env_value, KeySource.ENVIRONMENT, env_var=key_env)
        return None

    def set_sync(self, provider_id: str, key: str) -> KeySource:
        """Store ``key``; returns where it went. Blank keys delete."""
        key = key.strip()
        if not key:
            self.delete_sync(provider_id)
            return KeySource.MEMORY
        if self.status_sync().real:
            self._call(lambda b: b.set_password(self.service, provider_id, key), "save")
            self._memory.pop(provider_id, None)
            return KeySource.KEYRING
        self._memory[provider_id] = key
        return KeySource.MEMORY

    def delete_sync(self, provider_id: str) -> None:
        self._memory.pop(provider_id, None)
        if not self.status_sync().real:
            return
        from keyring.errors import PasswordDeleteError

        # Nothing stored is already the state we want.
        with contextlib.suppress(PasswordDeleteError):
            self._call(
                lambda b: b.delete_password(self.service, provider_id),
                "delete",
                PasswordDeleteError,
            )

    def _call(
        self, action: Callable[[Any], _T], verb: str, passthrough: type[Exception] | None = None
    ) -> _T:
        backend = self._keyring_backend()
        try:
            return action(backend)
        except Exception as error:
            # The layer edge for third-party backends: D-Bus, secretstorage and OS errors
            # all mean the same to the user: the keyring did not do it.
            if passthrough is not None and isinstance(error, passthrough):
                raise
            _log.warning("keyring %s failed: %s", verb, type(error).__name__)
            raise KeyStoreError(
                f"The system keyring could not {verb} the key ({type(error).__name__}). "
                "Is it locked? Unlock it and try again."
            ) from error

    # -- async API -------------------------------------------------------------

    async def get(self, provider_id: str, key_env: str | None = None) -> ResolvedKey | None:
        """The key for ``provider_id``: memory, then keyring, then ``key_env``."""
        return await self._run(self.get_sync, provider_id, key_env)

    async def set(self, provider_id: str, key: str) -> KeySource:
        return await self._run(self.set_sync, provider_id, key)

    async def delete(self, provider_id: str) -> None:
        await self._run(self.delete_sync, provider_id)

    def remember(self, provider_id: str, key: str) -> None:
        """Keep ``key`` in memory for this run only, whatever the backend."""
        self._memory[provider_id] = key.strip()

    def close(self) -> None:
        """Stop the worker thread; memory-held keys are forgotten."""
        self._memory.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def _run(self, func: Callable[..., _T], *args: Any) -> _T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keyring")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, func, *args)


_NO_KEYRING = (
    "No system keyring is available, so keys are kept in memory only until Palaver quits. "
    "To keep a key, set an environment variable and name it in the provider."
)
