"""The user's providers: profiles saved human-readably in ``providers.json``; never a key.

:class:`ProviderRegistry` loads, edits and saves the list, and tells subscribers after each
change. Presets (``app.api.load_presets``) are templates: adding one copies it under a
fresh id, so the user's copy can be edited freely.

Secrets are refused at the door: a header that would carry credentials (the profile's own
auth header, ``Authorization``, ``X-Api-Key``, ``Cookie`` ...) and extra fields named like
a key are never written. The key field of the dialog goes to ``app.core.keys`` instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from app import log
from app.settings import Subscribers, keep_aside, write_atomic

if TYPE_CHECKING:  # profiles (pydantic) load with the file, after the first paint
    from app.api.profiles import ProviderProfile

_log = log.get("core.providers")

FILE_VERSION = 1

_SECRET_HEADERS = {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"}
_SECRET_HEADER = re.compile(r"(?i)(api[_-]?key|secret|token|password|auth)")
_SECRET_FIELD = re.compile(r"(?i)(api[_-]?key|secret|password|access[_-]?token|^token$|^key$)")

RegistryListener = Callable[["ProviderRegistry"], None]


class SecretInProfileError(ValueError):
    """A profile tried to carry a credential where only the keyring may hold one."""


def check_no_secrets(profile: ProviderProfile) -> None:
    """Raise :class:`SecretInProfileError` when a header would carry a credential."""
    for name in profile.headers:
        lowered = name.strip().lower()
        if (
            lowered in _SECRET_HEADERS
            or lowered == profile.auth_header.lower()
            or _SECRET_HEADER.search(lowered)
        ):
            raise SecretInProfileError(
                f'The header "{name}" would carry a secret. Put the key in the key field: '
                "it goes to the system keyring, never to a file."
            )


def _strip_secret_fields(profile: ProviderProfile) -> ProviderProfile:
    """Drop extra (unknown) fields named like a secret, e.g. a hand-written ``"api_key"``."""
    extra = profile.model_extra or {}
    bad = [k for k in extra if _SECRET_FIELD.search(k)]
    if not bad:
        return profile
    _log.warning("dropped secret-looking fields %s from provider %s", bad, profile.id)
    data = profile.model_dump()
    for name in bad:
        data.pop(name, None)
    return type(profile).model_validate(data)


def slug(text: str) -> str:
    """An id-safe form of ``text`` (``"LM Studio"`` -> ``"lm-studio"``)."""
    cleaned = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-._")
    return cleaned or "provider"


def same_endpoint(a: str, b: str) -> bool:
    """Whether two base URLs point at the same server path (case and slash insensitive)."""
    pa, pb = urlsplit(a.strip().rstrip("/")), urlsplit(b.strip().rstrip("/"))
    return (pa.scheme, pa.netloc.lower(), pa.path) == (pb.scheme, pb.netloc.lower(), pb.path)


class ProviderRegistry:
    """The user's provider profiles, in order, saved to ``path`` after every change.

    Built from ``profiles``, or, when none are given, read from ``path`` on first use: the
    window paints before pydantic and the profiles load (see DESIGN.md, start-up).
    """

    def __init__(
        self,
        path: Path,
        profiles: Iterable[ProviderProfile] | None = None,
        problem: str | None = None,
    ) -> None:
        self.path = path
        self._read: dict[str, ProviderProfile] | None = (
            None if profiles is None else {p.id: p for p in profiles}
        )
        self._problem = problem
        self._listeners = Subscribers("providers")

    @classmethod
    def load(cls, path: Path) -> ProviderRegistry:
        """The registry of ``path``, read on first use (see :func:`read_profiles`)."""
        return cls(path)

    @property
    def loaded(self) -> bool:
        return self._read is not None

    @property
    def _profiles(self) -> dict[str, ProviderProfile]:
        if self._read is None:
            profiles, self._problem = read_profiles(self.path)
            self._read = {p.id: p for p in profiles}
        return self._read

    @_profiles.setter
    def _profiles(self, profiles: dict[str, ProviderProfile]) -> None:
        self._read = profiles

    @property
    def problem(self) -> str | None:
        """A plain-words message when the file could not be used at load time, else None."""
        _ = self._profiles
        return self._problem

    # -- reading ---------------------------------------------------------------

    def __iter__(self) -> Iterator[ProviderProfile]:
        return iter(list(self._profiles.values()))

    def __len__(self) -> int:
        return len(self._profiles)

    def __contains__(self, provider_id: object) -> bool:
        return provider_id in self._profiles

    def all(self) -> list[ProviderProfile]:
        return list(self._profiles.values())

    def get(self, provider_id: str) -> ProviderProfile | None:
        return self._profiles.get(provider_id)

    def find_by_base_url(self, base_url: str) -> ProviderProfile | None:
        return next(
            (p for p in self._profiles.values() if same_endpoint(p.base_url, base_url)), None
        )

    def unique_id(self, wanted: str) -> str:
        base = slug(wanted)
        candidate, n = base, 1
        while candidate in self._profiles:
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    # -- changing --------------------------------------------------------------

    def add(self, profile: ProviderProfile) -> ProviderProfile:
        """Add ``profile`` (its id made unique if taken); returns the stored copy."""
        check_no_secrets(profile)
        profile = _strip_secret_fields(profile)
        if profile.id in self._profiles:
            profile = profile.model_copy(update={"id": self.unique_id(profile.id)})
        self._profiles[profile.id] = profile
        self._changed()
        return profile

    def add_preset(self, preset: ProviderProfile) -> ProviderProfile:
        """A user's own copy of ``preset``."""
        return self.add(preset.model_copy(deep=True))

    def replace(self, profile: ProviderProfile, *, old_id: str | None = None) -> ProviderProfile:
        """Store an edited profile. ``old_id`` renames: the profile keeps its place."""
        check_no_secrets(profile)
        profile = _strip_secret_fields(profile)
        old_id = old_id or profile.id
        if old_id not in self._profiles:
            raise KeyError(old_id)
        if profile.id != old_id and profile.id in self._profiles:
            raise ValueError(f'Another provider already has the id "{profile.id}".')
        self._profiles = {
            (profile.id if pid == old_id else pid): (profile if pid == old_id else p)
            for pid, p in self._profiles.items()
        }
        self._changed()
        return profile

    def remove(self, provider_id: str) -> ProviderProfile | None:
        removed = self._profiles.pop(provider_id, None)
        if removed is not None:
            self._changed()
        return removed

    def subscribe(self, listener: RegistryListener) -> Callable[[], None]:
        """Call ``listener(registry)`` after each change; returns an unsubscribe.

        A bound method is held weakly (see :class:`app.settings.Subscribers`).
        """
        return self._listeners.add(listener)

    def save(self) -> None:
        write_atomic(self.path, self.to_json())

    def to_json(self) -> str:
        """The file's text: only what differs from the defaults, so it stays short to read."""
        document: dict[str, Any] = {
            "version": FILE_VERSION,
            "providers": [_dump(p) for p in self._profiles.values()],
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    def _changed(self) -> None:
        self.save()
        self._listeners.notify(self)


def read_profiles(path: Path) -> tuple[list[ProviderProfile], str | None]:
    """The profiles in ``path`` and a problem in plain words (or None). Missing means none;
    a damaged file is kept aside; a single invalid profile is skipped (and reported) rather
    than losing the others."""
    from pydantic import ValidationError

    from app.api.profiles import ProviderProfile

    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], None
    except OSError as error:
        return [], f"Your providers could not be read ({error.strerror})."
    try:
        data = json.loads(raw)
        entries = data["providers"] if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise ValueError("no provider list")
    except (ValueError, KeyError, TypeError) as error:
        kept = keep_aside(path)
        _log.warning("providers file %s is damaged (%s); kept as %s", path, error, kept)
        where = f" It was kept as {kept.name}." if kept else ""
        return [], f"Your providers file was damaged and could not be read.{where}"
    profiles: list[ProviderProfile] = []
    skipped: list[str] = []
    for entry in entries:
        try:
            profile = _strip_secret_fields(ProviderProfile.model_validate(entry))
        except ValidationError:
            skipped.append(
                str(entry.get("name") or entry.get("id") or "?") if isinstance(entry, dict) else "?"
            )
            continue
        if profile.id in {p.id for p in profiles}:
            skipped.append(profile.id)
            continue
        profiles.append(profile)
    problem = None
    if skipped:
        problem = f"Some providers could not be read and were left out: {', '.join(skipped)}."
        # Keep a copy so the user can repair it by hand; the next save rewrites the file.
        keep_aside(path, copy=True)
    return profiles, problem


def _dump(profile: ProviderProfile) -> dict[str, Any]:
    data = profile.model_dump(mode="json", exclude_defaults=True)
    # Always written so a reader of the file sees what each entry is.
    for name in ("id", "name", "base_url", "kind"):
        data[name] = getattr(profile, name)
    ordered = {name: data.pop(name) for name in ("id", "name", "base_url", "kind")}
    ordered.update(data)
    return ordered
