"""Content-addressed files: ``<data>/blobs/ab/cdef…`` named by their sha256."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from app.store.errors import NotFoundError, write_error_from
from app.store.models import BlobRef

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


class BlobFiles:
    """The blob folder. Writing a file that exists already is a no-op (same content)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where a blob lives (whether or not it exists)."""
        if not _SHA256.match(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes | Path, mime: str) -> BlobRef:
        """Store bytes or a file's content; atomic (temp file + rename), fsynced.

        Raises `StoreWriteError` when the disk is full or read-only.
        """
        try:
            if isinstance(data, bytes):
                sha = hashlib.sha256(data).hexdigest()
                size = len(data)
                dest = self.path(sha)
                if not dest.exists():
                    self._write_atomic(dest, data)
            else:
                sha, size = _hash_file(data)
                dest = self.path(sha)
                if not dest.exists():
                    self._copy_atomic(dest, data)
        except OSError as exc:
            raise write_error_from(exc) from exc
        return BlobRef(sha, mime, size)

    def read(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"The file {sha256[:12]}… is missing from the data folder."
            ) from exc

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def _temp(self, dest: Path) -> tuple[int, str]:
        dest.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)

    def _write_atomic(self, dest: Path, data: bytes) -> None:
        fd, tmp = self._temp(dest)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _copy_atomic(self, dest: Path, source: Path) -> None:
        fd, tmp = self._temp(dest)
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, _CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
