"""API keys: keyring when real, memory otherwise, environment as a fallback; never a file.

Tests marked ``keyring`` need a real Secret Service; run them with
``bash packaging/with-test-services.sh .venv/bin/python -m pytest tests/core/test_keys.py``.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import keyring
import keyring.backend
import pytest
from keyring.backends import chainer, fail, null

from app.core.keys import KeySource, KeyStore, KeyStoreError, is_real_backend, mask
from tests.helpers.memory_keyring import MemoryKeyring

FAKE_KEY = "sk-test-not-a-real-key-1234"


class LockedKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        from keyring.errors import KeyringLocked

        raise KeyringLocked("locked")


class PlaintextLookalike(MemoryKeyring):
    """Stands in for keyrings.alt's file backends, recognised by their module."""


PlaintextLookalike.__module__ = "keyrings.alt.file"


def test_real_backend_detection() -> None:
    assert is_real_backend(MemoryKeyring())
    assert not is_real_backend(fail.Keyring())
    assert not is_real_backend(null.Keyring())
    assert not is_real_backend(PlaintextLookalike())


def test_chainer_counts_only_when_it_writes_to_a_real_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [], raising=False)
    assert not is_real_backend(chainer.ChainerBackend())
    monkeypatch.setattr(
        chainer.ChainerBackend, "backends", [PlaintextLookalike(), MemoryKeyring()], raising=False
    )
    assert not is_real_backend(chainer.ChainerBackend())
    monkeypatch.setattr(
        chainer.ChainerBackend, "backends", [MemoryKeyring(), PlaintextLookalike()], raising=False
    )
    assert is_real_backend(chainer.ChainerBackend())


async def test_keys_go_to_the_active_keyring(memory_keyring: MemoryKeyring) -> None:
    store = KeyStore()
    try:
        status = await store.status()
        assert status.real and "system keyring" in status.message
        assert await store.set("groq", FAKE_KEY) is KeySource.KEYRING
        assert memory_keyring.passwords == {("Palaver", "groq"): FAKE_KEY}
        resolved = await store.get("groq")
        assert (
            resolved is not None
            and resolved.value == FAKE_KEY
            and resolved.source is KeySource.KEYRING
        )
        await store.delete("groq")
        assert memory_keyring.passwords == {}
        assert await store.get("groq") is None
        await store.delete("groq")  # deleting nothing is fine
    finally:
        store.close()


async def test_without_a_real_backend_keys_stay_in_memory() -> None:
    store = KeyStore(backend=fail.Keyring())
    try:
        status = await store.status()
        assert not status.real
        assert "memory only" in status.message and "environment variable" in status.message
        assert await store.set("openai", FAKE_KEY) is KeySource.MEMORY
        resolved = await store.get("openai")
        assert (
            resolved is not None
            and resolved.source is KeySource.MEMORY
            and resolved.value == FAKE_KEY
        )
        store.close()  # the app quits: memory is forgotten
        assert store.get_sync("openai") is None
    finally:
        store.close()


async def test_plaintext_backends_are_never_written() -> None:
    plain = PlaintextLookalike()
    store = KeyStore(backend=plain)
    try:
        assert await store.set("openai", FAKE_KEY) is KeySource.MEMORY
        assert plain.passwords == {}
    finally:
        store.close()


async def test_environment_variable_is_the_fallback() -> None:
    store = KeyStore(backend=MemoryKeyring(), environ={"MY_KEY": FAKE_KEY})
    try:
        resolved = await store.get("custom", "MY_KEY")
        assert resolved is not None
        assert (resolved.source, resolved.env_var, resolved.value) == (
            KeySource.ENVIRONMENT,
            "MY_KEY",
            FAKE_KEY,
        )
        assert await store.get("custom", "UNSET_VAR") is None
        # A key the user typed wins over the environment.
        await store.set("custom", "sk-test-typed-by-user")
        resolved = await store.get("custom", "MY_KEY")
        assert resolved is not None and resolved.value == "sk-test-typed-by-user"
    finally:
        store.close()


async def test_blank_key_deletes() -> None:
    backend = MemoryKeyring()
    store = KeyStore(backend=backend)
    try:
        await store.set("x", FAKE_KEY)
        await store.set("x", "   ")
        assert backend.passwords == {}
    finally:
        store.close()


async def test_a_locked_keyring_is_reported_in_plain_words() -> None:
    store = KeyStore(backend=LockedKeyring())
    try:
        with pytest.raises(KeyStoreError, match="locked") as caught:
            await store.set("x", FAKE_KEY)
        assert FAKE_KEY not in caught.value.user_message
        store.remember("x", FAKE_KEY)  # what the dialog falls back to
        resolved = await store.get("x")
        assert resolved is not None and resolved.source is KeySource.MEMORY
    finally:
        store.close()


def test_keys_never_show_in_repr_or_masks() -> None:
    store = KeyStore(backend=MemoryKeyring())
    store.set_sync("x", FAKE_KEY)
    resolved = store.get_sync("x")
    assert resolved is not None
    assert FAKE_KEY not in repr(resolved)
    assert resolved.masked == "sk-t…1234"
    assert mask("short") == "•••••"
    store.close()


def _real_backend() -> Any:
    """The active backend if it is a real OS keyring shipped with keyring itself.

    Test doubles defined elsewhere in the suite register themselves with keyring (any
    KeyringBackend subclass does) and may win its discovery; they do not count here.
    """
    backend = keyring.get_keyring()
    chained = getattr(backend, "backends", None)
    target = chained[0] if isinstance(backend, chainer.ChainerBackend) and chained else backend
    if not type(target).__module__.startswith("keyring.backends."):
        return None
    return backend if is_real_backend(backend) else None


@pytest.mark.keyring
async def test_round_trip_through_the_real_secret_service() -> None:
    backend = _real_backend()
    if backend is None:
        pytest.skip(
            f"no real keyring backend active ({keyring.get_keyring().__class__.__name__}); "
            "run under packaging/with-test-services.sh"
        )
    service = f"Palaver-test-{uuid.uuid4().hex[:8]}"
    store = KeyStore(service)
    try:
        assert (await store.status()).real
        assert await store.set("groq", FAKE_KEY) is KeySource.KEYRING
        # Read back straight from the Secret Service, not through our store.
        from keyring.backends import SecretService

        assert SecretService.Keyring().get_password(service, "groq") == FAKE_KEY
        # A fresh store (a new app run) still finds it: it really is in the keyring.
        again = KeyStore(service)
        resolved = await again.get("groq")
        again.close()
        assert (
            resolved is not None
            and resolved.source is KeySource.KEYRING
            and resolved.value == FAKE_KEY
        )
        await store.delete("groq")
        assert backend.get_password(service, "groq") is None
    finally:
        store.close()


def test_keyring_is_imported_only_when_first_needed() -> None:
    code = (
        "import sys\n"
        "import app.core.keys, app.core.providers, app.core.discovery, app.settings\n"
        "store = app.core.keys.KeyStore()\n"
        "assert 'keyring' not in sys.modules, 'imported too early'\n"
        "store.status_sync()\n"
        "assert 'keyring' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
