"""`Store`: the async facade over the history database, blobs, search and the ledger.

Writes are awaited (they return once committed on the writer thread; the event loop never
blocks on them). Fast reads are plain methods that run on the calling thread with its own
read connection; slower ones (search, usage, export) are awaited and run on reader threads.

A streamed answer, as `app.core` drives it::

    store = await Store.open(paths)              # paths: AppPaths or the data directory
    if store.report.message: show(store.report.message)
    user = await store.add_message(conv.id, "user", prompt)
    answer = await store.start_message(conv.id, model=m, provider=p)   # status "streaming"
    async for delta in stream:
        text += delta
        store.update_streaming(answer.id, text)  # never blocks; saved at most every 0.5 s
    await store.finish_message(answer.id, text, "complete", finish_reason=..., usage=Usage(...),
                               cost=..., latency_s=..., ttft_s=...)
    await store.record_usage(LedgerEntry(provider=p, endpoint="chat", model=m, ...))

A regeneration is ``start_message(conv.id, parent_id=user.id)`` (a sibling of the old
answer); an edit is ``add_message(conv.id, "user", new_text, parent_id=user.parent_id)``.
`page` walks the visible branch from the current leaf; `siblings` lists alternatives and
`select_branch` switches to one. Writes raise `StoreWriteError` (disk full, read-only) and
leave nothing half-written: keep the data and retry.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from app.store import branches, database, history, ledger, media, search
from app.store.blobs import BlobFiles
from app.store.errors import ImportFormatError, StoreError
from app.store.history import CURRENT_LEAF
from app.store.models import (
    BlobRef,
    ComparisonRun,
    Conversation,
    ImageGeneration,
    ImportReport,
    LedgerEntry,
    Message,
    MessagePage,
    MessageStatus,
    SearchHit,
    SpeechItem,
    StoreOpenReport,
    Transcription,
    Usage,
    UsageAggregate,
)
from app.store.search import SearchFilters
from app.store.writer import Readers, StreamThrottle, Writer

if TYPE_CHECKING:
    from app.paths import AppPaths

log = logging.getLogger("palaver.store")

P = ParamSpec("P")
T = TypeVar("T")

DATABASE_NAME = "palaver.sqlite3"


@dataclass(frozen=True, slots=True)
class StorePaths:
    """Where the store keeps its files (the same names as `app.paths.AppPaths`)."""

    database: Path
    blobs: Path
    backups: Path

    @classmethod
    def of(cls, where: Path | AppPaths | StorePaths) -> StorePaths:
        if isinstance(where, StorePaths):
            return where
        if isinstance(where, Path):
            return cls(where / DATABASE_NAME, where / "blobs", where / "backups")
        return cls(where.database, where.blobs, where.backups)


class Store:
    """History that is never lost. Create with ``await Store.open(data_dir)``."""

    def __init__(
        self, paths: StorePaths, writer: Writer, report: StoreOpenReport, stream_interval: float
    ) -> None:
        self.paths = paths
        self.report = report
        self._writer = writer
        self._readers = Readers(paths.database)
        self._blobs = BlobFiles(paths.blobs)
        # Timers run on the loop that opened the store (the Qt thread's loop in the app).
        self._streams = StreamThrottle(
            writer, history.write_streaming_text, stream_interval, asyncio.get_running_loop()
        )
        # Checks and backups can take seconds on a big history; files get their own thread.
        self._maintenance = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="store-backup"
        )
        self._files = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="store-files")
        self._closed = False
        self._checked: concurrent.futures.Future[str] | None = None
        self.problem: str | None = None
        """Set when a background check finds damage: a sentence for the UI."""

    # -- life cycle ------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        where: Path | AppPaths | StorePaths,
        *,
        stream_interval: float = 0.5,
        daily_backup: bool = True,
        check_limit_bytes: int = database.CHECK_ON_OPEN_LIMIT,
    ) -> Store:
        """Open (creating, migrating or recovering) the store in a data directory.

        ``store.report`` says what happened (recovery from corruption, interrupted answers).
        A database larger than ``check_limit_bytes`` is checked in the background instead of
        before use (see `wait_checked`); a daily backup is made once that check passed.
        Raises `StoreOpenError` when the folder cannot be used at all.
        """
        paths = StorePaths.of(where)
        writer = Writer(on_corruption=lambda: database.flag_for_check(paths.database))

        def opener() -> tuple[sqlite3.Connection, StoreOpenReport]:
            return database.open_database(paths.database, paths.backups, check_limit_bytes)

        try:
            _, report = await asyncio.wrap_future(writer.start(opener, lambda result: result[0]))
        except BaseException:
            writer.close()
            raise
        store = cls(paths, writer, report, stream_interval)
        if report.check == "deferred" or daily_backup:
            store._checked = store._maintenance.submit(
                store._check_and_backup, report.check, daily_backup
            )
        return store

    def _check_and_backup(self, check: str, backup: bool) -> str:
        if check == "deferred":
            check = database.background_check(self.paths.database)
            if check != "ok":
                self.problem = (
                    "The history database is damaged. Palaver will repair it from a backup the next time it starts; "
                    "until then new messages may not be saved."
                )
        if backup and check == "ok":  # never rotate a good backup out for a damaged copy
            try:
                database.daily_backup(self.paths.database, self.paths.backups)
            except (OSError, sqlite3.Error):
                log.exception("daily backup failed")
        return check

    async def wait_checked(self) -> str:
        """The result of the open-time check (``"ok"`` or problems); waits for a check that
        was deferred to the background because the database is large."""
        if self._checked is None:
            return self.report.check
        return await asyncio.wrap_future(self._checked)

    async def close(self) -> None:
        """Flush streamed text, finish queued writes, checkpoint and close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._streams.flush()
        except StoreError:
            log.warning("streamed text could not be saved at close", exc_info=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._close_sync)

    def _close_sync(self) -> None:
        self._files.shutdown(wait=True)
        self._maintenance.shutdown(wait=True)
        self._readers.close()
        self._writer.close()
        database.mark_closed_cleanly(self.paths.database)

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- generic access (for modules built on the store) -----------------------------------

    async def write(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(conn, ...)`` as one transaction on the writer thread."""
        return await self._writer.run(fn, *args, **kwargs)

    async def read(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(conn, ...)`` in a read transaction on a reader thread."""
        return await self._readers.run(fn, *args, **kwargs)

    def read_now(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(conn, ...)`` on the calling thread (only for reads that take a few ms)."""
        return self._readers.sync(fn, *args, **kwargs)

    # -- conversations ---------------------------------------------------------------------

    async def create_conversation(
        self,
        title: str = "",
        *,
        provider: str | None = None,
        model: str | None = None,
        system_prompt: str = "",
        params: dict[str, Any] | None = None,
        folder: str | None = None,
        tags: list[str] | None = None,
    ) -> Conversation:
        """A new, empty conversation."""
        return await self._writer.run(
            history.create_conversation, title=title, provider=provider, model=model,
            system_prompt=system_prompt, params=params, folder=folder, tags=tags,
        )  # fmt: skip

    async def update_conversation(self, conversation_id: int, **changes: Any) -> Conversation:
        """Change any of title, pinned, archived, provider, model, system_prompt, params, folder, tags."""
        return await self._writer.run(history.update_conversation, conversation_id, changes)

    async def delete_conversation(self, conversation_id: int) -> None:
        """Delete a conversation and all its messages."""
        await self._writer.run(history.delete_conversation, conversation_id)

    def get_conversation(self, conversation_id: int) -> Conversation:
        """One conversation (raises `NotFoundError`)."""
        return self._readers.sync(history.get_conversation, conversation_id)

    def list_conversations(
        self,
        *,
        archived: bool | None = False,
        folder: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Conversation]:
        """Pinned first, then most recently updated; ``archived=None`` lists both."""
        return self._readers.sync(
            history.list_conversations, archived=archived, folder=folder, limit=limit, offset=offset
        )

    # -- messages --------------------------------------------------------------------------

    async def add_message(
        self,
        conversation_id: int,
        role: str,
        text: str,
        *,
        parent_id: int | None = CURRENT_LEAF,
        parts: list[dict[str, Any]] | None = None,
        model: str | None = None,
        provider: str | None = None,
        status: MessageStatus | str = MessageStatus.COMPLETE,
        finish_reason: str | None = None,
        error: dict[str, Any] | None = None,
        usage: Usage | None = None,
        cost: float | None = None,
        latency_s: float | None = None,
        ttft_s: float | None = None,
        make_current: bool = True,
    ) -> Message:
        """Append a message after the current leaf, or under ``parent_id`` (``None``: a new
        root). A message under a parent that already has replies is a sibling (an edit or a
        regeneration): nothing is overwritten. By default it becomes the current leaf.

        Raises `StoreWriteError` (disk full, read-only); the caller keeps the text to retry.
        """
        return await self._writer.run(
            history.insert_message, conversation_id, role, text, parent_id=parent_id, parts=parts,
            model=model, provider=provider, status=status, finish_reason=finish_reason, error=error,
            usage=usage, cost=cost, latency_s=latency_s, ttft_s=ttft_s, make_current=make_current,
        )  # fmt: skip

    async def start_message(
        self,
        conversation_id: int,
        role: str = "assistant",
        *,
        parent_id: int | None = CURRENT_LEAF,
        model: str | None = None,
        provider: str | None = None,
        text: str = "",
        make_current: bool = True,
    ) -> Message:
        """Create a ``streaming`` message; feed it with `update_streaming`, end with `finish_message`."""
        return await self._writer.run(
            history.insert_message, conversation_id, role, text, parent_id=parent_id, model=model,
            provider=provider, status=MessageStatus.STREAMING, make_current=make_current,
        )  # fmt: skip

    def update_streaming(self, message_id: int, text: str) -> None:
        """The whole text received so far. Never blocks: written at most every
        ``stream_interval`` seconds per message (the latest text wins). Call on the loop thread."""
        if self._closed:
            return
        self._streams.update(message_id, text)

    async def flush_streaming(self, message_id: int | None = None) -> None:
        """Write pending streamed text now and wait for it (raises `StoreWriteError`)."""
        await self._streams.flush(message_id)

    async def finish_message(
        self,
        message_id: int,
        text: str,
        status: MessageStatus | str = MessageStatus.COMPLETE,
        *,
        finish_reason: str | None = None,
        usage: Usage | None = None,
        cost: float | None = None,
        latency_s: float | None = None,
        ttft_s: float | None = None,
        error: dict[str, Any] | None = None,
        parts: list[dict[str, Any]] | None = None,
    ) -> Message:
        """Write the final text and metadata at once (status ``complete``, ``stopped``,
        ``interrupted`` or ``error``). Safe to retry after a `StoreWriteError`."""
        self._streams.forget(message_id)
        return await self._writer.run(
            history.finish_message, message_id, text, status, finish_reason=finish_reason, usage=usage,
            cost=cost, latency_s=latency_s, ttft_s=ttft_s, error=error, parts=parts,
        )  # fmt: skip

    async def set_message_parts(self, message_id: int, parts: list[dict[str, Any]]) -> Message:
        """Replace a message's parts (attachments, images fetched after the answer)."""
        return await self._writer.run(history.set_parts, message_id, parts)

    def branch_positions(self, message_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """``{message_id: (index, count)}`` among its alternatives, for a page of messages."""
        return self._readers.sync(branches.branch_positions, message_ids)

    async def delete_message(self, message_id: int) -> None:
        """Delete a message and everything below it."""
        await self._writer.run(history.delete_message, message_id)

    async def select_branch(self, message_id: int) -> Message:
        """Make the branch through ``message_id`` current (newest replies below it); returns the leaf."""
        return await self._writer.run(history.select_branch, message_id)

    async def set_current_leaf(self, conversation_id: int, message_id: int) -> None:
        """Make ``message_id`` the last message of the visible branch."""
        await self._writer.run(history.set_current_leaf, conversation_id, message_id)

    def get_message(self, message_id: int) -> Message:
        return self._readers.sync(history.get_message, message_id)

    def page(self, conversation_id: int, limit: int = 50, before: int | None = None) -> MessagePage:
        """The newest ``limit`` messages of the active branch (oldest first); pass
        ``page.older_cursor`` as ``before`` for the ones above."""
        return self._readers.sync(history.page, conversation_id, limit, before)

    def active_branch(self, conversation_id: int) -> list[Message]:
        """The whole visible branch, oldest first."""
        return self._readers.sync(history.active_branch, conversation_id)

    def siblings(self, message_id: int) -> list[Message]:
        """The message and its alternatives (edits, regenerations), oldest first."""
        return self._readers.sync(history.siblings, message_id)

    def children(self, message_id: int) -> list[Message]:
        return self._readers.sync(history.children, message_id)

    # -- blobs -----------------------------------------------------------------------------

    async def put_blob(self, data: bytes | Path, mime: str) -> BlobRef:
        """Store a file's bytes content-addressed (atomic); returns its reference."""
        loop = asyncio.get_running_loop()
        ref = await loop.run_in_executor(self._files, self._blobs.put, data, mime)
        await self._writer.run(media.register_blob, ref)
        return ref

    def blob_path(self, ref: BlobRef | str) -> Path:
        """The file of a blob (by reference or sha256)."""
        return self._blobs.path(ref if isinstance(ref, str) else ref.sha256)

    # -- comparison runs, images, speech, transcriptions ------------------------------------

    async def add_comparison(
        self,
        prompt: str,
        answers: Sequence[dict[str, Any]],
        *,
        system_prompt: str = "",
        params: dict[str, Any] | None = None,
    ) -> ComparisonRun:
        """A comparison run; ``answers`` are dicts with ``model`` and optional ``provider``,
        ``message_id``, ``metadata``."""
        return await self._writer.run(
            media.create_comparison, prompt, answers, system_prompt=system_prompt, params=params
        )

    async def update_comparison_answer(
        self,
        answer_id: int,
        *,
        message_id: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        await self._writer.run(
            media.update_comparison_answer, answer_id, message_id=message_id, metadata=metadata
        )

    async def vote_comparison(self, run_id: int, vote: dict[str, Any] | None) -> None:
        """Record the user's verdict, e.g. ``{"winner": answer_id}`` (``None`` clears it)."""
        await self._writer.run(media.vote_comparison, run_id, vote)

    def get_comparison(self, run_id: int) -> ComparisonRun:
        return self._readers.sync(media.get_comparison, run_id)

    def list_comparisons(self, limit: int = 100, offset: int = 0) -> list[ComparisonRun]:
        return self._readers.sync(media.list_comparisons, limit, offset)

    async def add_image_generation(
        self, prompt: str, images: Sequence[BlobRef], **fields: Any
    ) -> ImageGeneration:
        """Fields: provider, model, params, revised_prompt, cost."""
        return await self._writer.run(media.add_image_generation, prompt, images, **fields)

    def list_image_generations(self, limit: int = 100, offset: int = 0) -> list[ImageGeneration]:
        return self._readers.sync(media.list_image_generations, limit, offset)

    async def add_speech(self, text: str, audio: BlobRef | None, **fields: Any) -> SpeechItem:
        """Fields: voice, format, provider, model, params, cost."""
        return await self._writer.run(media.add_speech, text, audio, **fields)

    def list_speech(self, limit: int = 100, offset: int = 0) -> list[SpeechItem]:
        return self._readers.sync(media.list_speech, limit, offset)

    async def add_transcription(
        self, transcript: str, source: BlobRef | None, **fields: Any
    ) -> Transcription:
        """Fields: segments, options, language, duration_s, provider, model, cost."""
        return await self._writer.run(media.add_transcription, transcript, source, **fields)

    def list_transcriptions(self, limit: int = 100, offset: int = 0) -> list[Transcription]:
        return self._readers.sync(media.list_transcriptions, limit, offset)

    # -- usage ledger ----------------------------------------------------------------------

    async def record_usage(self, entry: LedgerEntry) -> int:
        """Append one API call to the ledger; returns its id."""
        return await self._writer.run(ledger.record, entry)

    async def usage_summary(
        self,
        group_by: Sequence[str] = ("day", "model"),
        *,
        first_day: str | date | None = None,
        last_day: str | date | None = None,
        provider: str | None = None,
        model: str | None = None,
        endpoint: str | None = None,
    ) -> list[UsageAggregate]:
        """Totals by any of ``day``, ``provider``, ``model``, ``endpoint`` over local calendar
        days (inclusive range); see `ledger.aggregate`."""
        return await self._readers.run(
            ledger.aggregate, group_by, first_day=first_day, last_day=last_day, provider=provider,
            model=model, endpoint=endpoint,
        )  # fmt: skip

    async def usage_by_hour(
        self,
        group_by: Sequence[str] = ("provider", "model"),
        *,
        since: float | None = None,
        until: float | None = None,
        provider: str | None = None,
        model: str | None = None,
        endpoint: str | None = None,
    ) -> list[UsageAggregate]:
        """Totals over a time range with hour precision, by ``hour``, ``provider``, ``model``,
        ``endpoint`` (e.g. "the last 24 hours"); see `ledger.aggregate_hours`."""
        return await self._readers.run(
            ledger.aggregate_hours, group_by, since=since, until=until, provider=provider, model=model,
            endpoint=endpoint,
        )  # fmt: skip

    async def usage_entries(
        self, *, since: float | None = None, until: float | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Raw ledger rows, newest first."""
        return await self._readers.run(ledger.entries, since=since, until=until, limit=limit)

    # -- search ----------------------------------------------------------------------------

    async def search(
        self, query: str, filters: SearchFilters | None = None, *, limit: int = 20, offset: int = 0
    ) -> list[SearchHit]:
        """Full-text search with snippets, best first (see `SearchFilters`)."""
        return await self._readers.run(search.search, query, filters, limit=limit, offset=offset)

    # -- export and import ----------------------------------------------------------------

    async def export_json(self, dest: Path, conversation_ids: Sequence[int] | None = None) -> Path:
        """Write a lossless export (zip: ``palaver.json`` + files) of some or all
        conversations; exporting all includes comparisons, images, speech and transcriptions."""
        from app.store import exporting  # export and import load on first use, not at start-up

        doc = await self._readers.run(exporting.collect, conversation_ids)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._files, exporting.write_zip, doc, self._blobs, dest)

    def export_markdown(self, conversation_id: int) -> str:
        """The visible branch of one conversation as Markdown."""
        from app.store import exporting

        conv = self.get_conversation(conversation_id)
        return exporting.markdown(conv, self.active_branch(conversation_id))

    async def export_markdown_folder(
        self, dest: Path, conversation_ids: Sequence[int] | None = None
    ) -> list[Path]:
        """One ``.md`` file per conversation in ``dest`` (files beside them under ``files/``)."""
        from app.store import exporting

        return await self._readers.run(
            exporting.write_markdown_folder, self._blobs, dest, conversation_ids
        )

    async def import_file(self, path: Path) -> ImportReport:
        """Import a Palaver export (zip or json) or a ChatGPT ``conversations.json`` (or its
        export zip) in ONE transaction. Raises `ImportFormatError` for a malformed file and
        `StoreWriteError` when saving fails; in both cases nothing is imported. Conversations
        already present (same uid) are skipped and counted as duplicates."""
        from app.store import importing

        loop = asyncio.get_running_loop()
        parsed, report = await loop.run_in_executor(
            self._files, importing.parse_file, path, self._blobs
        )
        try:
            return await self._writer.run(importing.insert, parsed, report)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, StoreError):
                raise
            raise ImportFormatError(
                f"{path.name} has a malformed entry ({type(exc).__name__}: {exc})."
            ) from exc

    # -- maintenance -----------------------------------------------------------------------

    async def backup_now(self, dest: Path | None = None) -> Path:
        """Copy the database now (to ``dest`` or a dated file in the backups folder)."""
        import datetime as dt

        target = (
            dest
            or self.paths.backups / f"manual-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}.sqlite3"
        )

        def run() -> Path:
            conn = database.connect(self.paths.database, read_only=True)
            try:
                return database.backup_to(conn, target)
            finally:
                conn.close()

        return await asyncio.get_running_loop().run_in_executor(self._maintenance, run)

    async def check(self, *, full: bool = True) -> str:
        """``"ok"`` or the problems ``PRAGMA integrity_check`` (or ``quick_check``) finds."""
        return await self._readers.run(database.check, full=full)
