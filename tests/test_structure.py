"""The house's shape: no import circles (type-only imports count), faces not internals,
small modules."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.structure import cycles, import_graph

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_detector_finds_a_type_only_circle_and_a_relative_one(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
            "pkg/b.py": "def f():\n    from pkg import a\n",
            "pkg/c.py": "from . import d\n",
            "pkg/d.py": "from .c import x\n",
            "pkg/e.py": "import pkg.a\n",
        },
    )
    found = cycles(import_graph(root, "pkg"))
    assert sorted(found) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.d"]]


def test_detector_passes_a_tree_that_only_points_down(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/a.py": "import pkg.b\n", "pkg/b.py": "import os\n"},
    )
    graph = import_graph(root, "pkg")
    assert graph["pkg.a"] == {"pkg.b"}
    assert cycles(graph) == []


def test_no_import_circles_in_app() -> None:
    assert cycles(import_graph(ROOT, "app")) == []


def test_the_ui_reaches_the_store_and_the_client_only_through_their_package_faces() -> None:
    graph = import_graph(ROOT, "app")
    deep = {
        f"{module} -> {dep}"
        for module, deps in graph.items()
        if module.startswith("app.ui")
        for dep in deps
        if dep.startswith(("app.store.", "app.api."))
    }
    assert deep == set(), "panels get plain data from app.core and the faces, never internals"


def test_no_module_in_app_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "app").rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, "split these along their seams (DESIGN.md, Doors)"
