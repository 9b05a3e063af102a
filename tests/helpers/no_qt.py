"""A pytest plugin that makes PySide6 unimportable, proving the engine's tests (api,
store, core, audio) need no Qt: ``pytest -p tests.helpers.no_qt -p no:pytestqt ...``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

BLOCKED = ("PySide6", "shiboken6", "qasync")


class _QtBlocker:
    """A meta-path finder that refuses Qt and its bindings."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: engine tests must not need Qt")
        return None


loaded = [m for m in sys.modules if m.split(".")[0] in BLOCKED]
if loaded:
    raise RuntimeError(f"Qt was imported before the blocker: {sorted(loaded)[:5]}")
sys.meta_path.insert(0, _QtBlocker())
