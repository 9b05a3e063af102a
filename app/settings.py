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
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app import log

_log = log.get("settings")

SETTINGS_VERSION = 1

SendKey = Literal["enter", "ctrl+enter"]
Theme = Literal["system", "light", "dark"]

PROXY_SYSTEM = "system"
PROXY_NONE = "none"
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


class Settings(BaseModel):
    """Everything a user can change in the settings dialog."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: int = SETTINGS_VERSION
    default_provider: str | None = Field(default=None, description="provider id")
    default_model: str | None = None
    send_key: SendKey = Field(
        default="enter", description="the other combination inserts a newline"
    )
    theme: Theme = "system"
    proxy: str = Field(
        default=PROXY_SYSTEM,
        description='"system" (environment/OS), "none" (direct), or a proxy URL',
    )
    request_timeout: float = Field(default=60.0, ge=5.0, le=3600.0, description="seconds")
    font_size: int | None = Field(default=None, ge=6, le=48, description="points; null = system")
    # Search by meaning and moderation (all off until the user turns them on).
    embeddings_provider: str | None = Field(default=None, description="provider id")
    embeddings_model: str | None = None
    semantic_search: bool = Field(default=False, description="sidebar searches by meaning too")
    moderation: bool = Field(default=False, description="check each prompt before sending")
    moderation_answers: bool = Field(default=False, description="check answers as well")
    moderation_warn: bool = Field(default=True, description="ask before sending a flagged prompt")
    moderation_provider: str | None = Field(default=None, description="null = the chat's provider")
    moderation_model: str | None = Field(default=None, description="null = the provider's default")

    @field_validator("proxy")
    @classmethod
    def _check_proxy(cls, value: str) -> str:
        value = value.strip()
        if value.lower() in (PROXY_SYSTEM, PROXY_NONE, ""):
            return value.lower() or PROXY_SYSTEM
        parts = urlsplit(value)
        if parts.scheme not in _PROXY_SCHEMES or not parts.hostname:
            raise ValueError(
                "proxy must be system, none, or a URL like http://host:3128 or socks5://host:1080"
            )
        return value

    @field_validator(
        "default_provider",
        "default_model",
        "embeddings_provider",
        "embeddings_model",
        "moderation_provider",
        "moderation_model",
    )
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None

    @property
    def proxy_url(self) -> str | None:
        """The explicit proxy URL, or None for ``system`` and ``none``."""
        return None if self.proxy in (PROXY_SYSTEM, PROXY_NONE) else self.proxy

    @property
    def use_system_proxy(self) -> bool:
        """Whether HTTP clients should honour the environment's proxy variables."""
        return self.proxy == PROXY_SYSTEM


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
            return cls(path, Settings.model_validate(data))
        except (ValueError, ValidationError) as error:
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

        Raises :class:`pydantic.ValidationError` for invalid values; nothing is changed then.
        """
        unknown = set(changes) - set(Settings.model_fields)
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        merged = {**self._settings.model_dump(), **changes}
        new = Settings.model_validate(merged)
        changed = frozenset(k for k in changes if getattr(new, k) != getattr(self._settings, k))
        if not changed:
            return self._settings
        self._settings = new
        self.save()
        self._listeners.notify(new, changed)
        return new

    def reset(self) -> Settings:
        """Back to defaults (saved and announced like any change)."""
        defaults = Settings().model_dump()
        return self.update(**{k: v for k, v in defaults.items() if k != "version"})

    def subscribe(self, listener: SettingsListener) -> Callable[[], None]:
        """Call ``listener(settings, changed_fields)`` after each change; returns an unsubscribe.

        A bound method is held weakly (see :class:`Subscribers`).
        """
        return self._listeners.add(listener)

    def save(self) -> None:
        text = json.dumps(self._settings.model_dump(mode="json"), indent=2, ensure_ascii=False)
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
