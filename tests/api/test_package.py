"""The package face: every exported name resolves lazily, and it covers what the rest of the
app takes from the api's modules (so importers can switch to ``from app.api import ...``)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import app.api
from tests.helpers.faces import deep_imports

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_face_exports_every_name_the_app_takes_from_api_modules() -> None:
    scanned, deep = deep_imports(ROOT, "app.api")
    assert scanned > 50  # the scan reads the app, not an empty folder
    missing = {name: files for name, files in deep.items() if name not in app.api.__all__}
    assert not missing, missing
