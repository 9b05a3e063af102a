"""Pytest fixtures shared across the suite (registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest

from app.api.profiles import ProviderProfile
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.openai_server import OpenAIServer

TEST_API_KEY = "sk-test-palaver-0123456789"


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A local OpenAI-compatible server on a free loopback port, with no key required."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def openai_server_with_key() -> Iterator[OpenAIServer]:
    """The same server, answering 401 unless ``Authorization: Bearer TEST_API_KEY`` is sent."""
    with OpenAIServer(api_key=TEST_API_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def openai_server_module() -> Iterator[OpenAIServer]:
    """One server for a whole test module (call ``.reset()`` where recorded state matters)."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def openai_profile(openai_server: OpenAIServer) -> ProviderProfile:
    """A provider profile pointing at ``openai_server`` (no key needed)."""
    return ProviderProfile(
        id="local-test",
        name="Local test server",
        base_url=openai_server.base_url,
        kind="local",
        key_required=False,
        capabilities={
            "completions": True,
            "embeddings": True,
            "images": True,
            "speech": True,
            "transcription": True,
            "moderation": True,
            "vision": True,
            "tools": True,
        },
    )


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Install an in-memory backend as keyring's active one; restore the old one after."""
    old = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(old)
