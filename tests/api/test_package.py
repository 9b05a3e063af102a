"""The package face: every exported name resolves lazily, and it covers what the rest of the
app takes from the api's modules (so importers can switch to ``from app.api import ...``)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import app.api

APP = Path(app.api.__file__).resolve().parents[1]


def test_every_exported_name_resolves_from_the_module_it_names() -> None:
    where = app.api._WHERE
    assert sorted(where) == sorted(app.api.__all__)
    for name, module in where.items():
        assert getattr(app.api, name) is getattr(importlib.import_module(module), name), name


def test_a_light_name_does_not_load_the_client() -> None:
    code = (
        "import sys\n"
        "from app.api import ProviderProfile, Endpoint\n"
        "print(sorted(m for m in ('httpx', 'app.api.client', 'app.api.types') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _deep_imports(package: str) -> tuple[int, dict[str, set[str]]]:
    """How many modules outside ``package`` were read, and the names they import from its
    submodules (with the importing files)."""
    found: dict[str, set[str]] = {}
    inside = APP / package.split(".")[-1]
    outside = [p for p in APP.rglob("*.py") if inside not in p.parents]
    for path in outside:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package + "."):
                for alias in node.names:
                    found.setdefault(alias.name, set()).add(str(path.relative_to(APP)))
    return len(outside), found


def test_the_face_exports_every_name_the_app_takes_from_api_modules() -> None:
    scanned, deep = _deep_imports("app.api")
    assert scanned > 50  # the scan reads the app, not an empty folder
    missing = {name: files for name, files in deep.items() if name not in app.api.__all__}
    assert not missing, missing
