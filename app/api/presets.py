"""The provider presets shipped in ``resources/presets/providers.json``."""

from __future__ import annotations

from pathlib import Path

import orjson
from pydantic import TypeAdapter

from app.api.profiles import ProviderProfile
from app.paths import resource_path

__all__ = ["load_presets", "preset"]

_ADAPTER = TypeAdapter(list[ProviderProfile])


def load_presets(path: Path | None = None) -> list[ProviderProfile]:
    """Every preset profile, in file order (validated; a broken file raises)."""
    path = path or resource_path("presets", "providers.json")
    return _ADAPTER.validate_python(orjson.loads(path.read_bytes()))


def preset(profile_id: str) -> ProviderProfile:
    """One preset by id (KeyError when there is none)."""
    for profile in load_presets():
        if profile.id == profile_id:
            return profile
    raise KeyError(profile_id)
