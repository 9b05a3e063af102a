"""The engine packages must never pull in Qt (DESIGN.md, layers)."""

from __future__ import annotations

import subprocess
import sys

import pytest

LOWER = ["app.api", "app.store", "app.audio", "app.core", "app.paths", "app.log", "app.settings"]


@pytest.mark.parametrize("package", LOWER)
def test_imports_without_qt(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(getattr(pkg, '__path__', []), pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync', 'shiboken6'))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
