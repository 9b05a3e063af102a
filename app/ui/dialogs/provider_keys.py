"""The words the providers dialog uses about a provider's key: where it lives, what the
field shows, what saving it did."""

from __future__ import annotations

from app.api import ProviderProfile
from app.core.keys import KeySource, ResolvedKey

KEY_HOME = {
    KeySource.KEYRING: "Saved in the system keyring.",
    KeySource.MEMORY: "Kept in memory only, until Palaver quits.",
    KeySource.ENVIRONMENT: "Read from the environment.",
}


def visible_key(resolved: ResolvedKey | None) -> str:
    """Keys from the environment are used but not shown in (or saved from) the field."""
    if resolved is None or resolved.source is KeySource.ENVIRONMENT:
        return ""
    return resolved.value


def describe_key(resolved: ResolvedKey | None, profile: ProviderProfile) -> str:
    if resolved is None:
        if not profile.key_required:
            return "No key needed."
        if profile.key_env:
            return f"No key saved, and ${profile.key_env} is not set."
        return "No key saved yet."
    if resolved.source is not KeySource.ENVIRONMENT:
        return KEY_HOME[resolved.source]
    return f"Using the key from ${resolved.env_var} ({resolved.masked}). A key typed here takes precedence."


def saved_message(where: KeySource, had_key: bool, name: str) -> str:
    if not had_key:
        return f"Key for {name} removed."
    if where is KeySource.KEYRING:
        return f"Key for {name} saved in the system keyring."
    return f"No system keyring: the key for {name} is kept in memory only, until Palaver quits."
