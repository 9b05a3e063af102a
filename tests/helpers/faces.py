"""What code outside a package takes from the package's modules, read with ``ast``: the
names its face must export so importers need not reach past it."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers.structure import module_files


def deep_imports(root: Path, package: str) -> tuple[int, dict[str, set[str]]]:
    """How many modules of ``root/app`` outside ``package`` were read, and the names they
    import from ``package``'s submodules (``from app.store.models import Message``), each
    with the modules importing it."""
    outside = {
        name: path
        for name, path in module_files(root, package.split(".")[0]).items()
        if name != package and not name.startswith(package + ".")
    }
    found: dict[str, set[str]] = {}
    for name, path in outside.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package + "."):
                for alias in node.names:
                    found.setdefault(alias.name, set()).add(name)
    return len(outside), found
