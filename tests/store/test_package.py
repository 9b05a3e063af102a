"""The package face: every exported name resolves, the query records load only when asked
for (start-up does not pay for them), and it covers what the rest of the app takes from the
store's modules, but for the queries panels are to stop running themselves."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import app.store
from tests.helpers.faces import deep_imports

ROOT = Path(__file__).resolve().parents[2]

# Query functions and constants the panels still call (issue 16 moves them into core); the
# face leaves them out on purpose.
PANEL_QUERIES = {"CALL_COLUMNS", "model_speeds", "run_summaries", "voted_runs"}


def test_every_exported_name_resolves() -> None:
    for name in app.store.__all__:
        assert getattr(app.store, name) is not None, name
    for name, module in app.store._LAZY.items():
        assert getattr(app.store, name) is getattr(
            importlib.import_module(f"app.store.{module}"), name
        )


def test_importing_the_face_leaves_the_query_modules_out() -> None:
    code = (
        "import sys\n"
        "from app.store import Store, Message, SearchFilters\n"
        "print(sorted(m for m in sys.modules if m.endswith('_queries')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_face_exports_every_name_the_app_takes_from_store_modules() -> None:
    scanned, deep = deep_imports(ROOT, "app.store")
    assert scanned > 50  # the scan reads the app, not an empty folder
    missing = {
        name: files
        for name, files in deep.items()
        if name not in app.store.__all__ and name not in PANEL_QUERIES
    }
    assert not missing, missing
    assert not PANEL_QUERIES & set(app.store.__all__)
