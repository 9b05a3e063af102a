"""The one writer thread, the read connections, and the streaming throttle.

Every write runs as ``fn(conn, *args)`` inside ``BEGIN IMMEDIATE … COMMIT`` on a single
dedicated thread that owns the write connection, so writes are serialised without locks
and the event loop only awaits a future. Reads use per-thread read-only connections.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from app.store.database import connect, is_corruption
from app.store.errors import NotFoundError, StoreWriteError, write_error_from

log = logging.getLogger("palaver.store")

P = ParamSpec("P")
T = TypeVar("T")


class Writer:
    """Runs write transactions one at a time on its own thread."""

    def __init__(self, on_corruption: Callable[[], None] | None = None) -> None:
        self._on_corruption = on_corruption
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._conn: sqlite3.Connection | None = None
        self.busy_seconds = 0.0  # time spent inside transactions, for headroom figures

    def start(
        self, opener: Callable[[], T], conn_of: Callable[[T], sqlite3.Connection]
    ) -> concurrent.futures.Future[T]:
        """Run ``opener`` on the writer thread; the connection it yields becomes the writer's."""

        def run() -> T:
            result = opener()
            self._conn = conn_of(result)
            return result

        return self._executor.submit(run)

    def submit(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> concurrent.futures.Future[T]:
        """Queue ``fn(conn, ...)`` as one transaction; the future holds its result."""
        try:
            return self._executor.submit(functools.partial(self._transaction, fn, *args, **kwargs))
        except RuntimeError:  # the executor was shut down: the store is closed
            failed: concurrent.futures.Future[T] = concurrent.futures.Future()
            failed.set_exception(
                StoreWriteError(
                    "The history database is closed: the change was not saved.", "closed"
                )
            )
            return failed

    async def run(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Await ``fn(conn, ...)`` committed. Cancelling the await does not undo the write."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def call_raw(self, fn: Callable[[sqlite3.Connection], T]) -> concurrent.futures.Future[T]:
        """Run ``fn(conn)`` on the writer thread without a transaction (VACUUM, checkpoints)."""

        def run() -> T:
            return fn(self._connection())

        return self._executor.submit(run)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreWriteError(
                "The history database is closed: the change was not saved.", "closed"
            )
        return self._conn

    def _transaction(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        conn = self._connection()
        started = time.perf_counter()
        try:
            conn.execute("BEGIN IMMEDIATE")
            result = fn(conn, *args, **kwargs)
            conn.execute("COMMIT")
            return result
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:  # the I/O error that failed the commit may fail this too
                    log.exception("rollback failed")
            if (
                self._on_corruption is not None
                and isinstance(exc, sqlite3.DatabaseError)
                and is_corruption(exc)
            ):
                self._on_corruption()
            if isinstance(exc, sqlite3.IntegrityError) and "FOREIGN KEY" in str(exc):
                raise NotFoundError(
                    "The change refers to a conversation or message that no longer exists."
                ) from exc
            if isinstance(
                exc, sqlite3.OperationalError | sqlite3.DatabaseError | OSError
            ) and not isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError):
                raise write_error_from(exc) from exc
            raise
        finally:
            self.busy_seconds += time.perf_counter() - started

    def close(self) -> None:
        """Finish queued writes, checkpoint, close the connection and stop the thread."""

        def shutdown() -> None:
            if self._conn is not None:
                try:
                    self._conn.execute("PRAGMA optimize")
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    log.warning("checkpoint at close failed", exc_info=True)
                self._conn.close()
                self._conn = None

        self._executor.submit(shutdown).result()
        self._executor.shutdown(wait=True)


class Readers:
    """Per-thread read-only connections, plus a small pool for async reads."""

    def __init__(self, path: Path, workers: int = 2) -> None:
        self._path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix="store-reader"
        )
        self._closed = False

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise sqlite3.ProgrammingError("the store is closed")
            conn = connect(self._path, read_only=True)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def sync(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(conn, ...)`` in one read transaction on the calling thread."""
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            return fn(conn, *args, **kwargs)
        finally:
            conn.execute("COMMIT")

    async def run(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(conn, ...)`` in a read transaction on a reader thread."""
        future = self._executor.submit(self.sync, fn, *args, **kwargs)  # type: ignore[arg-type]
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=True)
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


class StreamThrottle:
    """Coalesces `update` calls: at most one write per ``interval`` per message, latest wins.

    Lives on the event loop thread; the writes it schedules run on the writer.
    """

    def __init__(
        self,
        writer: Writer,
        write: Callable[[sqlite3.Connection, int, str], object],
        interval: float = 0.5,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._writer = writer
        self._loop = loop
        self._write = write
        self.interval = interval
        self._pending: dict[int, str] = {}
        self._last: dict[int, float] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._inflight: dict[int, concurrent.futures.Future[object]] = {}
        self.last_error: StoreWriteError | None = None

    def update(self, message_id: int, text: str) -> None:
        """Remember ``text``; write it now or when the interval since the last write ends."""
        self._pending[message_id] = text
        if message_id in self._timers:
            return
        due = self._last.get(message_id, float("-inf")) + self.interval
        now = time.monotonic()
        if now >= due:
            self._flush(message_id)
        else:
            loop = self._loop or asyncio.get_running_loop()
            self._timers[message_id] = loop.call_later(due - now, self._flush, message_id)

    def _flush(self, message_id: int) -> concurrent.futures.Future[object] | None:
        self._timers.pop(message_id, None)
        text = self._pending.pop(message_id, None)
        if text is None:
            return self._inflight.get(message_id)
        self._last[message_id] = time.monotonic()
        future = self._writer.submit(self._write, message_id, text)
        self._inflight[message_id] = future
        future.add_done_callback(self._on_written)
        return future

    def _on_written(self, future: concurrent.futures.Future[object]) -> None:
        exc = future.exception()
        if isinstance(exc, StoreWriteError):
            # The caller still holds the text; finish_message will retry and raise.
            self.last_error = exc
            log.warning("streamed text not saved: %s", exc)
        elif exc is not None:
            log.error("streamed text not saved", exc_info=exc)

    async def flush(self, message_id: int | None = None) -> None:
        """Write pending text now (one message or all) and wait until it is committed."""
        ids = [message_id] if message_id is not None else list(self._pending | self._inflight)
        futures = []
        for mid in ids:
            timer = self._timers.pop(mid, None)
            if timer is not None:
                timer.cancel()
            future = self._flush(mid)
            if future is not None:
                futures.append(asyncio.wrap_future(future))
        for fut in futures:
            await fut  # raises StoreWriteError when the write failed

    def forget(self, message_id: int) -> None:
        """Drop pending text and timers of a message that is being finished."""
        timer = self._timers.pop(message_id, None)
        if timer is not None:
            timer.cancel()
        self._pending.pop(message_id, None)
        self._last.pop(message_id, None)
        self._inflight.pop(message_id, None)

    def pending_ids(self) -> list[int]:
        return list(self._pending)
