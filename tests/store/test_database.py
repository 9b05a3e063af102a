"""Opening the database: corruption recovery, migrations with backups, full or read-only
storage, daily backups."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import pytest

from app.store import Store, StoreOpenError, StoreWriteError, database, schema


async def _store_with_history(data: Path, text: str = "kept in the backup") -> int:
    store = await Store.open(data, daily_backup=False)
    conv = await store.create_conversation("Saved")
    await store.add_message(conv.id, "user", text)
    await store.close()
    return conv.id


def _damage_pages(db: Path) -> None:
    """Overwrite everything after the first page with garbage (header stays valid)."""
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.seek(4096)
        f.write(os.urandom(size - 4096))


async def test_corrupt_file_is_moved_aside_and_backup_restored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    conv_id = await _store_with_history(data)
    store = await Store.open(data, daily_backup=False)
    backup = await store.backup_now()
    await store.add_message(conv_id, "assistant", "written after the backup")
    await store.close()
    _damage_pages(data / "palaver.sqlite3")

    store = await Store.open(data, daily_backup=False)
    try:
        report = store.report
        assert report.recovered and report.restored_from == backup
        assert report.corrupt_moved_to is not None and report.corrupt_moved_to.exists()
        assert report.corrupt_moved_to.name.startswith("palaver.sqlite3.corrupt-")
        assert "damaged" in report.message and backup.name in report.message
        assert [m.text for m in store.active_branch(conv_id)] == ["kept in the backup"]
        assert await store.check() == "ok"
        # The restored store takes writes.
        await store.add_message(conv_id, "assistant", "after recovery")
    finally:
        await store.close()


async def test_not_a_database_without_backup_starts_fresh(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "palaver.sqlite3").write_bytes(b"this is not a database at all" * 200)
    store = await Store.open(data, daily_backup=False)
    try:
        assert (
            store.report.recovered
            and store.report.started_fresh
            and store.report.restored_from is None
        )
        assert "no usable backup" in store.report.message
        assert store.list_conversations() == []
        assert list(data.glob("palaver.sqlite3.corrupt-*"))
    finally:
        await store.close()


async def test_large_database_is_checked_in_the_background(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await _store_with_history(data)
    store = await Store.open(data, daily_backup=False)
    await store.backup_now()
    await store.close()
    db = data / "palaver.sqlite3"
    # Damage a data page but leave the schema page intact: opening unchecked still works.
    conn = sqlite3.connect(db)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'messages'").fetchone()[0]
    conn.close()
    with db.open("r+b") as f:
        f.seek((root - 1) * 4096)
        f.write(b"\x0d" + os.urandom(4095))

    store = await Store.open(data, daily_backup=True, check_limit_bytes=0)
    try:
        assert store.report.check == "deferred"
        assert await store.wait_checked() != "ok"
        assert store.problem is not None
        assert database.check_marker(db).exists()
        assert not list((data / "backups").glob("daily-*"))  # no backup of a damaged file
    finally:
        await store.close()
    # The next start checks first and recovers.
    store = await Store.open(data, daily_backup=False, check_limit_bytes=0)
    try:
        assert store.report.recovered and store.report.restored_from is not None
        assert not database.check_marker(db).exists()
        assert await store.check() == "ok"
    finally:
        await store.close()


async def test_migration_makes_a_backup_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    conv_id = await _store_with_history(data)
    version = schema.SCHEMA_VERSION
    step = "ALTER TABLE conversations ADD COLUMN colour TEXT; CREATE INDEX conversations_colour ON conversations(colour);"
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, step])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", version + 1)
    store = await Store.open(data, daily_backup=False)
    try:
        report = store.report
        assert (report.schema_from, report.schema_to) == (version, version + 1)
        assert report.migration_backup is not None
        assert report.migration_backup.name.startswith(
            f"pre-migration-v{version}-to-v{version + 1}-"
        )
        copy = sqlite3.connect(report.migration_backup)
        assert copy.execute("PRAGMA user_version").fetchone()[0] == version
        assert copy.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
        copy.close()
        columns = store.read_now(
            lambda c: [r[1] for r in c.execute("PRAGMA table_info(conversations)")]
        )
        assert "colour" in columns
        assert store.get_conversation(conv_id).title == "Saved"
    finally:
        await store.close()


async def test_failed_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    await _store_with_history(data)
    version = schema.SCHEMA_VERSION
    broken = (
        "ALTER TABLE conversations ADD COLUMN colour TEXT; ALTER TABLE no_such_table ADD COLUMN x;"
    )
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, broken])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", version + 1)
    with pytest.raises(StoreOpenError):
        await Store.open(data, daily_backup=False)
    conn = sqlite3.connect(data / "palaver.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == version
    assert "colour" not in [r[1] for r in conn.execute("PRAGMA table_info(conversations)")]
    conn.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await _store_with_history(data)
    conn = sqlite3.connect(data / "palaver.sqlite3")
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreOpenError, match="newer Palaver"):
        await Store.open(data, daily_backup=False)


async def test_unusable_folder_is_a_clear_open_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreOpenError, match="data folder"):
        await Store.open(blocker / "data", daily_backup=False)


async def test_full_disk_is_a_typed_error_and_the_store_recovers(store: Store) -> None:
    conv = await store.create_conversation("Full")
    pages = store._writer.call_raw(lambda c: c.execute("PRAGMA page_count").fetchone()[0]).result()
    store._writer.call_raw(lambda c: c.execute(f"PRAGMA max_page_count = {pages}")).result()
    big = "unsaved " * 200_000
    with pytest.raises(StoreWriteError) as caught:
        await store.add_message(conv.id, "user", big)
    assert caught.value.reason == "disk_full" and "disk is full" in str(caught.value)
    assert store.page(conv.id).messages == []  # nothing half-written
    store._writer.call_raw(lambda c: c.execute("PRAGMA max_page_count = 1073741823")).result()
    saved = await store.add_message(conv.id, "user", big)  # the caller retries with its text
    assert store.get_message(saved.id).text == big


async def test_read_only_storage_is_a_typed_error(store: Store) -> None:
    conv = await store.create_conversation("RO")
    msg = await store.start_message(conv.id)
    # Swap the writer's connection for a read-only one: what a read-only mount looks like.
    writable = store._writer._conn
    store._writer._conn = database.connect(store.paths.database, read_only=True)
    try:
        with pytest.raises(StoreWriteError) as caught:
            await store.finish_message(msg.id, "final text")
        assert caught.value.reason == "read_only" and "read-only" in str(caught.value)
        store.update_streaming(msg.id, "partial")
        with pytest.raises(StoreWriteError):
            await store.flush_streaming(msg.id)
    finally:
        assert store._writer._conn is not None
        store._writer._conn.close()
        store._writer._conn = writable
    assert (await store.finish_message(msg.id, "final text")).text == "final text"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
async def test_read_only_folder_on_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await _store_with_history(data)
    data.chmod(0o500)
    (data / "palaver.sqlite3").chmod(0o400)
    try:
        with pytest.raises(StoreOpenError):
            await Store.open(data, daily_backup=False)
    finally:
        data.chmod(0o700)


async def test_daily_backups_rotate_keeping_seven(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await _store_with_history(data)
    db, backups = data / "palaver.sqlite3", data / "backups"
    start = dt.date(2026, 1, 1)
    for day in range(10):
        assert database.daily_backup(db, backups, start + dt.timedelta(days=day)) is not None
    assert database.daily_backup(db, backups, start + dt.timedelta(days=9)) is None  # once a day
    kept = sorted(p.name for p in backups.glob("daily-*.sqlite3"))
    assert kept == [f"daily-{start + dt.timedelta(days=d)}.sqlite3" for d in range(3, 10)]
    copy = sqlite3.connect(backups / kept[-1])
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
    copy.close()
    assert not list(backups.glob("*-wal"))


async def test_open_makes_todays_backup(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "data")
    try:
        assert await store.wait_checked() == "ok"
    finally:
        await store.close()
    assert len(list((tmp_path / "data" / "backups").glob("daily-*.sqlite3"))) == 1
