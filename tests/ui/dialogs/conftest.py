"""Shared by the dialog tests: an in-memory keyring."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest

from tests.helpers.memory_keyring import MemoryKeyring


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
