"""Logging set-up: per-area loggers under ``palaver.*``, one rotating file, no secrets."""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from pathlib import Path

_SECRET = re.compile(r"(?i)(bearer\s+|api[_-]?key[\"'=:\s]+|sk-)[A-Za-z0-9._\-]{6,}")


class RedactingFilter(logging.Filter):
    """Masks anything shaped like a key or bearer token before it reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET.sub(lambda m: m.group(1) + "***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact(text: str) -> str:
    """The same masking, for strings shown to users or written to reports."""
    return _SECRET.sub(lambda m: m.group(1) + "***", text)


def get(area: str) -> logging.Logger:
    """The logger of one area, e.g. ``log.get("api")``."""
    return logging.getLogger(f"palaver.{area}")


def setup(log_dir: Path | None, level: int = logging.INFO, *, console: bool = True) -> None:
    """Log to ``log_dir`` (rotating) and, unless ``console`` is off (the terminal
    commands: stdout and stderr are the user's), to stderr."""
    root = logging.getLogger("palaver")
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    # A windowed Windows build has no stderr at all.
    handlers: list[logging.Handler] = (
        [logging.StreamHandler()] if console and sys.stderr is not None else []
    )
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_dir / "palaver.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
            )
        )
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in handlers:
        handler.setFormatter(fmt)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
