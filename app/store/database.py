"""Opening the SQLite file: pragmas, integrity check, recovery, migrations, backups.

Everything here is synchronous and runs on the writer thread (or a backup thread);
`Store` wraps it in async calls.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import sqlite3
import time
from pathlib import Path

from app.store import history, schema
from app.store.errors import StoreOpenError, write_error_from
from app.store.models import StoreOpenReport

log = logging.getLogger("palaver.store")

DAILY_BACKUPS_KEPT = 7
MIGRATION_BACKUPS_KEPT = 3
CHECK_ON_OPEN_LIMIT = 64 * 1024 * 1024
_CORRUPT_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


class CorruptDatabase(Exception):
    """Internal: the file failed to open as a database or failed its check."""


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection with the store's settings; autocommit (transactions are explicit)."""
    if read_only:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
            check_same_thread=False, timeout=10,
        )  # fmt: skip
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    # NORMAL in WAL mode: a commit survives a crash or kill of the app; only a power cut can
    # drop the last commits (never corrupts). FULL would fsync on every streamed update.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -16000")
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def is_corruption(exc: BaseException) -> bool:
    """True for errors that mean the file is damaged or not a database at all."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _CORRUPT_CODES
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def check(conn: sqlite3.Connection, *, full: bool = False) -> str:
    """``"ok"`` or the first problems ``PRAGMA quick_check`` / ``integrity_check`` finds."""
    pragma = "integrity_check" if full else "quick_check"
    rows = conn.execute(f"PRAGMA {pragma}(20)").fetchall()
    return "ok" if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows)


def check_marker(path: Path) -> Path:
    """A file whose presence makes the next open check the database before using it."""
    return path.with_name(path.name + ".check-failed")


def clean_marker(path: Path) -> Path:
    """Written at a clean close with the file's size and mtime; read (and removed) at open."""
    return path.with_name(path.name + ".closed-cleanly")


def mark_closed_cleanly(path: Path) -> None:
    try:
        stat = path.stat()
        clean_marker(path).write_text(
            json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}), encoding="utf-8"
        )
    except OSError:
        log.warning("could not mark %s as closed cleanly", path, exc_info=True)


def closed_cleanly(path: Path) -> bool:
    """Whether the last session closed the database cleanly and nothing touched it since.

    The marker is removed either way, so a crash of this session leaves none behind.
    """
    marker = clean_marker(path)
    try:
        saved = json.loads(marker.read_text(encoding="utf-8"))
        marker.unlink()
        stat = path.stat()
    except (OSError, ValueError):
        return False
    return saved == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def flag_for_check(path: Path) -> None:
    """Damage was met while running: make the next open check (and repair) first."""
    try:
        check_marker(path).write_text("damage met while writing", encoding="utf-8")
    except OSError:
        log.exception("could not flag %s for a check", path)


def _open_checked(path: Path, run_check: bool = True) -> tuple[sqlite3.Connection, str, float]:
    """Open, switch to WAL, run the quick check; raise `CorruptDatabase` when damaged.

    Without ``run_check`` only the header and schema are read (cheap, and still catches a
    file that is not a database at all).
    """
    try:
        conn = connect(path)
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            raise CorruptDatabase(str(exc)) from exc
        raise
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            log.warning("journal_mode is %s, not wal", mode)
        started = time.perf_counter()
        if run_check:
            result = check(conn)
        else:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            result = "deferred"
        elapsed = (time.perf_counter() - started) * 1000
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_corruption(exc):
            raise CorruptDatabase(str(exc)) from exc
        raise
    if result not in ("ok", "deferred"):
        conn.close()
        raise CorruptDatabase(result)
    return conn, result, elapsed


def _sidecars(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def move_aside(path: Path) -> Path:
    """Rename a damaged database (and its WAL files) to ``<name>.corrupt-<timestamp>``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for src in _sidecars(path):
        if src.exists():
            os.replace(src, target.with_name(target.name + src.name[len(path.name) :]))
    return target


def list_backups(backups: Path) -> list[Path]:
    """Every backup, newest first."""
    if not backups.is_dir():
        return []
    files = [p for p in backups.glob("*.sqlite3") if p.is_file()]
    return sorted(files, key=lambda p: p.stat().st_mtime_ns, reverse=True)


def _restore_latest(path: Path, backups: Path, report: StoreOpenReport) -> None:
    for candidate in list_backups(backups):
        tmp = path.with_name(path.name + ".restoring")
        try:
            shutil.copyfile(candidate, tmp)
            probe = sqlite3.connect(tmp)
            try:
                ok = check(probe) == "ok"
            finally:
                probe.close()
        except (OSError, sqlite3.DatabaseError) as exc:
            report.notes.append(f"backup {candidate.name} unusable: {exc}")
            ok = False
        if ok:
            os.replace(tmp, path)
            report.restored_from = candidate
            return
        with contextlib.suppress(OSError):
            tmp.unlink()
        report.notes.append(f"backup {candidate.name} failed its check")
    report.started_fresh = True


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in _sidecars(path) if p.exists())


def open_database(
    path: Path, backups: Path, check_limit_bytes: int = CHECK_ON_OPEN_LIMIT
) -> tuple[sqlite3.Connection, StoreOpenReport]:
    """Open (recovering from corruption), migrate and clean up; return the write connection.

    ``PRAGMA quick_check`` runs before use when the last session did not close cleanly and
    the database is at most ``check_limit_bytes`` (it reads every page: about 5 ms per MB
    here), or when the last background check failed. Otherwise the file opens at once with
    ``report.check == "deferred"`` and the caller checks it in the background (see
    `Store.open`): a clean close is the common case and start-up does not wait for it.
    """
    report = StoreOpenReport(database=path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backups.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreOpenError(
            f"Palaver cannot create its data folder {path.parent}: {exc.strerror or exc}."
        ) from exc
    report.created = not path.exists()
    marker = check_marker(path)
    try:
        # After a clean close (file untouched since), the check runs in the background and
        # start-up does not wait for it; after a crash or kill it runs before use.
        clean = closed_cleanly(path)
        run_check = (
            report.created or marker.exists() or (not clean and _size(path) <= check_limit_bytes)
        )
        try:
            conn = _prepare(path, backups, report, run_check)
        except CorruptDatabase as exc:
            log.error("database %s is damaged: %s", path, exc)
            report.check = str(exc)
            report.corrupt_moved_to = move_aside(path)
            _restore_latest(path, backups, report)
            conn = _prepare(path, backups, report, True)
        if marker.exists() and (report.check == "ok" or report.recovered):
            marker.unlink()
    except CorruptDatabase as exc:
        raise StoreOpenError(f"The history database could not be repaired: {exc}.") from exc
    except (sqlite3.DatabaseError, OSError) as exc:
        reason = write_error_from(exc).reason
        if reason == "disk_full":
            raise StoreOpenError(
                f"The disk holding {path.parent} is full: Palaver cannot open its history."
            ) from exc
        if reason == "read_only":
            raise StoreOpenError(
                f"The data folder {path.parent} is read-only: Palaver cannot open its history."
            ) from exc
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StoreOpenError(f"Palaver cannot open its history database {path}: {detail}.") from exc
    return conn, report


def _prepare(
    path: Path, backups: Path, report: StoreOpenReport, run_check: bool
) -> sqlite3.Connection:
    """Open, check, migrate, and mark rows a crash left ``streaming`` as ``interrupted``.

    Damage met at any step (also by an unchecked open) raises `CorruptDatabase`.
    """
    conn, check_result, report.check_ms = _open_checked(path, run_check)
    if not report.recovered:
        report.check = check_result
    try:
        migrate(conn, backups, report)
        conn.execute("BEGIN IMMEDIATE")
        report.interrupted_messages = history.mark_interrupted(conn)
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()
        if is_corruption(exc):
            raise CorruptDatabase(str(exc)) from exc
        raise
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection, backups: Path, report: StoreOpenReport) -> None:
    """Bring the schema to `schema.SCHEMA_VERSION`, one transaction per step.

    An existing database is copied to ``backups/pre-migration-v<from>-to-v<to>-<ts>.sqlite3``
    first. A database from a newer Palaver is refused, never downgraded.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    target = schema.SCHEMA_VERSION
    report.schema_from, report.schema_to = version, target
    if version > target:
        raise StoreOpenError(
            f"The history database was written by a newer Palaver (schema {version}, this one knows {target}). "
            "Update Palaver to open it."
        )
    if version == target:
        return
    if version > 0:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        dest = backups / f"pre-migration-v{version}-to-v{target}-{stamp}.sqlite3"
        backup_to(conn, dest)
        report.migration_backup = dest
        _prune(backups, "pre-migration-", MIGRATION_BACKUPS_KEPT)
    for index in range(version, target):
        conn.execute("BEGIN IMMEDIATE")
        try:
            schema.apply(conn, schema.MIGRATIONS[index])
            conn.execute(f"PRAGMA user_version = {index + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("store schema migrated to v%d", index + 1)


def backup_to(conn: sqlite3.Connection, dest: Path) -> Path:
    """Copy the database with SQLite's backup API into ``dest`` atomically (temp + rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    target = sqlite3.connect(tmp)
    try:
        conn.backup(target)
        # A backup is a single self-contained file: no WAL beside it.
        target.execute("PRAGMA journal_mode = DELETE")
    finally:
        target.close()
    os.replace(tmp, dest)
    return dest


def background_check(source: Path) -> str:
    """Quick-check a database that opened unchecked; on failure leave the marker that makes
    the next open check it first (and recover it)."""
    conn = connect(source, read_only=True)
    try:
        result = check(conn)
    except sqlite3.DatabaseError as exc:
        result = str(exc)
    finally:
        conn.close()
    if result != "ok":
        log.error("background check of %s failed: %s", source, result)
        check_marker(source).write_text(result, encoding="utf-8")
    return result


def daily_backup(source: Path, backups: Path, today: dt.date | None = None) -> Path | None:
    """Make today's ``daily-YYYY-MM-DD.sqlite3`` unless it exists; keep the newest 7.

    Uses its own read-only connection, so it can run beside the writer.
    """
    day = (today or dt.datetime.now().date()).isoformat()
    dest = backups / f"daily-{day}.sqlite3"
    if dest.exists():
        return None
    conn = connect(source, read_only=True)
    try:
        backup_to(conn, dest)
    finally:
        conn.close()
    _prune(backups, "daily-", DAILY_BACKUPS_KEPT)
    return dest


def _prune(backups: Path, prefix: str, keep: int) -> None:
    # Names sort by date, so the oldest come first.
    files = sorted(backups.glob(f"{prefix}*.sqlite3"))
    for old in files[: max(0, len(files) - keep)]:
        with contextlib.suppress(OSError):
            old.unlink()
