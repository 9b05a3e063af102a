"""``python -m app`` / ``palaver``: parse arguments, check for a display, start the Qt app."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

NO_DISPLAY_MESSAGE = """\
Palaver needs a graphical display, and none was found (DISPLAY and WAYLAND_DISPLAY are unset).

  - On a desktop, start it from your desktop session.
  - On a server or in CI, run it under a virtual display:
        xvfb-run -a -s "-screen 0 1280x800x24" python -m app
  - Or render without any window system:
        QT_QPA_PLATFORM=offscreen python -m app --smoke-test
"""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="palaver",
        description="Palaver: a desktop client for OpenAI-compatible APIs. From the terminal: "
        "palaver ask | models | usage | history | providers (each with --help).",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep all state (history, settings, cache, logs) under this directory (portable mode)",
    )
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="start everything, wait until the window is shown, then exit 0",
    )
    parser.add_argument("--debug", action="store_true", help="verbose logging")
    return parser.parse_args(argv)


def display_available() -> bool:
    """False where Qt would abort with a misleading xcb error (Linux/BSD without a display)."""
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def command_in(argv: Sequence[str]) -> bool:
    """True when ``argv`` names a terminal command (``palaver ask ...``), options first or not."""
    from app.cli import COMMANDS

    words = iter(argv)
    for word in words:
        if word == "--data-dir":
            next(words, None)
        elif not word.startswith("-"):
            return word in COMMANDS
    return False


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if command_in(argv):
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
        from app.cli.main import main as run_command

        return run_command(argv)
    args = parse_args(argv)
    if not display_available():
        sys.stderr.write(NO_DISPLAY_MESSAGE)
        return 2
    # Palaver uses no pydantic plugins; looking for them scans every installed package's
    # metadata (~20 ms of start-up).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")
    # Qt is imported only now, so --help and the display check stay instant.
    from app.ui.application import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
