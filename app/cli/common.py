"""What every terminal command shares: the parser's common options, opening and closing
the app's services, JSON output, and one-line errors."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from app import log
from app.core.context import AppContext
from app.paths import AppPaths


class CliError(Exception):
    """A failure the user can act on; its text is the one line printed."""


def common_options() -> argparse.ArgumentParser:
    """``--data-dir`` and ``--json``, accepted before or after the command's name."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="keep all state under this directory (as the app's --data-dir)",
    )
    parent.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document"
    )
    return parent


def paths_for(data_dir: Path | None) -> AppPaths:
    return (AppPaths.from_root(data_dir) if data_dir else AppPaths.default()).ensure()


@asynccontextmanager
async def opened(data_dir: Path | None) -> AsyncIterator[AppContext]:
    """The app's services over ``data_dir`` (the platform's when None), closed in order."""
    paths = paths_for(data_dir)
    log.setup(paths.logs, console=False)
    ctx = await AppContext.open(paths)
    try:
        ctx.load_engine()
        yield ctx
    finally:
        await ctx.close()


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def table(rows: list[list[str]], headers: list[str]) -> str:
    """Plain columns, padded to their widest cell."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def money(cost: float | None, estimated: bool = False) -> str:
    if cost is None:
        return "?"
    return f"{'≈' if estimated else ''}${cost:.4f}"
