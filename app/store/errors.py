"""The store's errors.

```
StoreError                  anything the store raises on purpose
 ├── StoreOpenError         the data directory cannot be used at all
 ├── StoreWriteError        a write failed (disk full, read-only, I/O); nothing was saved
 ├── NotFoundError          a conversation, message or blob that does not exist
 └── ImportFormatError      an import file is malformed; nothing was imported
```

Messages are plain sentences a user can read; the UI shows them as they are.
"""

from __future__ import annotations

import errno
import sqlite3


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class StoreOpenError(StoreError):
    """The data directory or database cannot be opened (permissions, missing disk)."""


class StoreWriteError(StoreError):
    """A write failed and was rolled back: the caller still holds the unsaved data.

    ``reason`` is one of ``"disk_full"``, ``"read_only"``, ``"io"``, ``"busy"``,
    ``"closed"``; ``message`` (``str(error)``) is a sentence for the user.
    """

    def __init__(self, message: str, reason: str = "io") -> None:
        super().__init__(message)
        self.reason = reason


class NotFoundError(StoreError, LookupError):
    """The requested row or blob does not exist."""


class ImportFormatError(StoreError, ValueError):
    """An import file is not what it claims to be; nothing was imported."""


def write_error_from(exc: BaseException) -> StoreWriteError:
    """Translate a sqlite3/OS error raised by a write into a `StoreWriteError`."""
    text = str(exc).lower()
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return StoreWriteError("The disk is full: the change was not saved.", "disk_full")
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return StoreWriteError(
                "The data folder is read-only: the change was not saved.", "read_only"
            )
        return StoreWriteError(f"Could not write to the data folder ({exc}).", "io")
    if "full" in text:
        return StoreWriteError("The disk is full: the change was not saved.", "disk_full")
    if "readonly" in text or "read-only" in text or "read only" in text:
        return StoreWriteError(
            "The data folder is read-only: the change was not saved.", "read_only"
        )
    if "locked" in text or "busy" in text:
        return StoreWriteError("The history database is busy: the change was not saved.", "busy")
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in text:
        return StoreWriteError(
            "The history database is closed: the change was not saved.", "closed"
        )
    return StoreWriteError(f"Could not save to the history database ({exc}).", "io")
