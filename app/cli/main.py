"""Parse a terminal command and run it; one plain line and a non-zero exit on failure."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from app.cli import ask, providers, records
from app.cli.common import CliError, common_options


def parser() -> argparse.ArgumentParser:
    common = common_options()
    top = argparse.ArgumentParser(
        prog="palaver",
        parents=[common],
        description="Palaver from the terminal: the same history, providers and keys as the app.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ask.add_parser(commands, common)
    records.add_parsers(commands, common)
    providers.add_parsers(commands, common)
    return top


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(list(argv))
    try:
        return asyncio.run(args.run(args))
    except CliError as error:
        if str(error):
            print(f"palaver: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("palaver: stopped.", file=sys.stderr)
        return 130
    except Exception as error:  # the one place a command's unexpected failure is worded
        words = getattr(error, "user_message", None) or f"{type(error).__name__}: {error}"
        print(f"palaver: {words}", file=sys.stderr)
        return 1
