"""Where Palaver keeps its state, and how it finds its bundled resources.

All state lives under one root: the platform's user dirs by default, or one directory
given with ``--data-dir`` (portable mode; every test uses it).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from app import APP_NAME


@dataclass(frozen=True)
class AppPaths:
    """The directories Palaver writes to."""

    data: Path
    config: Path
    cache: Path
    logs: Path

    @classmethod
    def from_root(cls, root: Path) -> AppPaths:
        """Portable layout: everything under one directory."""
        root = root.expanduser().resolve()
        return cls(
            data=root / "data", config=root / "config", cache=root / "cache", logs=root / "logs"
        )

    @classmethod
    def default(cls) -> AppPaths:
        """The platform's user directories (XDG, AppData, Application Support)."""
        import platformdirs

        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        return cls(
            data=Path(dirs.user_data_dir),
            config=Path(dirs.user_config_dir),
            cache=Path(dirs.user_cache_dir),
            logs=Path(dirs.user_log_dir),
        )

    def ensure(self) -> AppPaths:
        for path in (self.data, self.config, self.cache, self.logs):
            path.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def database(self) -> Path:
        return self.data / "palaver.sqlite3"

    @property
    def blobs(self) -> Path:
        return self.data / "blobs"

    @property
    def backups(self) -> Path:
        return self.data / "backups"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    @property
    def providers_file(self) -> Path:
        return self.config / "providers.json"


def resource_path(*parts: str) -> Path:
    """A path to a file under the bundled ``resources/`` folder.

    From source (and editable installs) that is the checkout's ``resources/``; in a
    PyInstaller bundle the spec copies it next to the app under ``sys._MEIPASS``.
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    base = (
        Path(frozen_root) / "resources"
        if frozen_root
        else Path(__file__).resolve().parent.parent / "resources"
    )
    return base.joinpath(*parts)
