"""User settings: one human-readable JSON file under the config dir, applied live.

:class:`Settings` is the validated model; :class:`SettingsStore` owns the file. Every
change goes through :meth:`SettingsStore.update`, which validates, writes atomically and
then tells each subscriber (plain callbacks; the UI re-emits them as a Qt signal).

A file that cannot be read or does not validate is moved aside (``settings.json.bad-…``),
defaults are used, and :attr:`SettingsStore.problem` says so in plain words.

API keys never live here: they belong to the OS keyring (``app.core.keys``).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from app import log

_log = log.get("settings")

SETTINGS_VERSION = 1

SendKey = Literal["enter", "ctrl+enter"]
Theme = Literal["system", "light", "dark"]

PROXY_SYSTEM = "system"
PROXY_NONE = "none"
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


class SettingsError(ValueError):
    """A setting has a value it cannot take; the message says which and why, in plain words."""


@dataclass(frozen=True)
class Settings:
    """Everything a user can change in the settings dialog.

    A plain frozen dataclass checked by :meth:`validate`, not a pydantic model: settings
    are read before the first window paints, and pydantic's import and schema building
    cost more than a bare window takes to start (see DESIGN.md, start-up).
    """

    version: int = SETTINGS_VERSION
    default_provider: str | None = None  # a provider id
    default_model: str | None = None
    send_key: SendKey = "enter"  # the other combination inserts a newline
    theme: Theme = "system"
    proxy: str = PROXY_SYSTEM  # "system" (environment/OS), "none" (direct), or a proxy URL
    request_timeout: float = 60.0  # seconds, 5..3600
    retry_budget: float = 90.0  # seconds one request may spend retrying in all, 0..3600
    font_size: int | None = None  # points, 6..48; None = system
    # Search by meaning and moderation (all off until the user turns them on).
    embeddings_provider: str | None = None  # a provider id
    embeddings_model: str | None = None
    semantic_search: bool = False  # sidebar searches by meaning too
    moderation: bool = False  # check each prompt before sending
    moderation_answers: bool = False  # check answers as well
    moderation_warn: bool = True  # ask before sending a flagged prompt
    moderation_provider: str | None = None  # None = the chat's provider
    moderation_model: str | None = None  # None = the provider's default
    # The model picker's top sections, as "provider id/model" (newest first for recent).
    favourite_models: tuple[str, ...] = ()
    recent_models: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Checked (and normalised) on every construction, as a pydantic model would be.
        for name in _FIELD_NAMES:
            value = getattr(self, name)
            checked = _check(name, value)
            if checked is not value:
                object.__setattr__(self, name, checked)

    @classmethod
    def validate(cls, data: Mapping[str, Any]) -> Settings:
        """Settings from JSON-like ``data`` (unknown keys ignored, blank ids become None);
        raises :class:`SettingsError` naming the first bad value."""
        return cls(**{name: data[name] for name in _FIELD_NAMES if name in data})

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready."""
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    @property
    def proxy_url(self) -> str | None:
        """The explicit proxy URL, or None for ``system`` and ``none``."""
        return None if self.proxy in (PROXY_SYSTEM, PROXY_NONE) else self.proxy

    @property
    def use_system_proxy(self) -> bool:
        """Whether HTTP clients should honour the environment's proxy variables."""
        return self.proxy == PROXY_SYSTEM


_FIELD_NAMES = tuple(f.name for f in fields(Settings))
_OPTIONAL_TEXT = {
    "default_provider", "default_model", "embeddings_provider", "embeddings_model",
    "moderation_provider", "moderation_model",
}  # fmt: skip
_MODEL_LISTS = {"favourite_models": 200, "recent_models": 8}  # name: most kept
_FLAGS = {"semantic_search", "moderation", "moderation_answers", "moderation_warn"}
_CHOICES: dict[str, tuple[str, ...]] = {"send_key": get_args(SendKey), "theme": get_args(Theme)}


def _check(name: str, value: Any) -> Any:
    """``value`` for field ``name`` in its normal form, or :class:`SettingsError`."""
    if name in _OPTIONAL_TEXT:
        if value is None:
            return None
        if not isinstance(value, str):
            raise SettingsError(f"{name} must be text or null")
        return value.strip() or None
    if name in _MODEL_LISTS:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{name} must be a list of provider/model names")
        kept = tuple(dict.fromkeys(v.strip() for v in value if "/" in v.strip()))
        return kept[: _MODEL_LISTS[name]]
    if name in _FLAGS:
        if not isinstance(value, bool):
            raise SettingsError(f"{name} must be true or false")
        return value
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise SettingsError(f"{name} must be one of {', '.join(_CHOICES[name])}")
        return value
    if name == "proxy":
        return _check_proxy(value)
    if name == "request_timeout":
        return float(_number(name, value, 5, 3600, "seconds"))
    if name == "retry_budget":
        return float(_number(name, value, 0, 3600, "seconds"))
    if name == "font_size":
        return None if value is None else int(_number(name, value, 6, 48, "points", whole=True))
    if name == "version":
        return int(_number(name, value, 0, 1_000_000, "", whole=True))
    raise AssertionError(name)


def _number(
    name: str, value: Any, low: float, high: float, unit: str, *, whole: bool = False
) -> float:
    # bool is an int in Python, and "true" seconds would be a surprise.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"{name} must be a number")
    if whole and value != int(value):
        raise SettingsError(f"{name} must be a whole number")
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g} {unit}".rstrip())
    return value


def _check_proxy(value: Any) -> str:
    if not isinstance(value, str):
        raise SettingsError("proxy must be text")
    value = value.strip()
    if value.lower() in (PROXY_SYSTEM, PROXY_NONE, ""):
        return value.lower() or PROXY_SYSTEM
    parts = urlsplit(value)
    if parts.scheme not in _PROXY_SCHEMES or not parts.hostname:
        raise SettingsError(
            "proxy must be system, none, or a URL like http://host:3128 or socks5://host:1080"
        )
    return value


SettingsListener = Callable[[Settings, frozenset[str]], None]


class Subscribers:
    """Plain callbacks told about changes, for stores with no Qt in them.

    Bound methods are held weakly: a widget that listens is never kept alive (or tied into
    a reference cycle with the store) by listening. Such cycles matter with Qt: Python's
    cycle collector may run on any thread, and a Qt object it frees on a worker thread
    crashes the GUI thread. Plain functions and lambdas are held strongly.
    """

    def __init__(self, area: str) -> None:
        self._area = area
        self._refs: list[Callable[[], Callable[..., None] | None]] = []

    def add(self, callback: Callable[..., None]) -> Callable[[], None]:
        """Start calling ``callback``; returns a function that stops it."""
        ref: Callable[[], Callable[..., None] | None]
        if inspect.ismethod(callback):
            ref = weakref.WeakMethod(callback)
        else:

            def ref() -> Callable[..., None]:
                return callback

        self._refs.append(ref)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._refs.remove(ref)

        return remove

    def notify(self, *args: Any) -> None:
        for ref in list(self._refs):
            callback = ref()
            if callback is None:  # its object is gone
                with contextlib.suppress(ValueError):
                    self._refs.remove(ref)
                continue
            # One broken listener must not keep the others from hearing the change.
            try:
                callback(*args)
            except Exception:
                _log.exception("%s listener %r failed", self._area, callback)

    def __len__(self) -> int:
        return sum(1 for ref in self._refs if ref() is not None)


class SettingsStore:
    """Owns ``settings.json``: load once, validate every change, save atomically, notify."""

    def __init__(
        self, path: Path, settings: Settings | None = None, problem: str | None = None
    ) -> None:
        self.path = path
        self._settings = settings or Settings()
        self._listeners = Subscribers("settings")
        self.problem = problem
        """A plain-words message when the file could not be used at load time, else None."""

    @classmethod
    def load(cls, path: Path) -> SettingsStore:
        """Read ``path``; a missing file means defaults, a bad one is kept aside."""
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except OSError as error:
            return cls(
                path,
                problem=f"Your settings could not be read ({error.strerror}); defaults are used.",
            )
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return cls(path, Settings.validate(data))
        except ValueError as error:
            kept = keep_aside(path)
            _log.warning(
                "settings file %s is invalid (%s); kept as %s", path, _first_line(error), kept
            )
            where = f" It was kept as {kept.name}." if kept else ""
            return cls(
                path,
                problem=f"Your settings file was damaged, so the defaults are used.{where}",
            )

    def get(self) -> Settings:
        return self._settings

    def update(self, **changes: Any) -> Settings:
        """Apply ``changes`` (field=value), save, and notify subscribers.

        Raises :class:`SettingsError` for invalid values; nothing is changed then.
        """
        unknown = set(changes) - set(_FIELD_NAMES)
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        new = Settings.validate({**self._settings.to_dict(), **changes})
        changed = frozenset(k for k in changes if getattr(new, k) != getattr(self._settings, k))
        if not changed:
            return self._settings
        self._settings = new
        self.save()
        self._listeners.notify(new, changed)
        return new

    def reset(self) -> Settings:
        """Back to defaults (saved and announced like any change)."""
        defaults = Settings().to_dict()
        return self.update(**{k: v for k, v in defaults.items() if k != "version"})

    def subscribe(self, listener: SettingsListener) -> Callable[[], None]:
        """Call ``listener(settings, changed_fields)`` after each change; returns an unsubscribe.

        A bound method is held weakly (see :class:`Subscribers`).
        """
        return self._listeners.add(listener)

    def save(self) -> None:
        text = json.dumps(self._settings.to_dict(), indent=2, ensure_ascii=False)
        write_atomic(self.path, text + "\n")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that ``path`` holds either the old or the new content, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def keep_aside(path: Path, *, copy: bool = False) -> Path | None:
    """Move (or copy) a damaged file to ``<name>.bad-<timestamp>`` so nothing is lost.

    Returns the new path, or None when that failed.
    """
    target = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}-{counter}")
    try:
        if copy:
            shutil.copy2(path, target)
        else:
            path.replace(target)
    except OSError:
        _log.warning("could not move damaged %s aside", path)
        return None
    return target


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
