"""After a clean close start-up does not wait for the integrity check; after a crash it does."""

from __future__ import annotations

import os
from pathlib import Path

from app.store import Store
from app.store.database import clean_marker


async def test_check_deferred_only_after_a_clean_close(tmp_path: Path) -> None:
    store = await Store.open(tmp_path, daily_backup=False)
    conversation = await store.create_conversation("kept")
    await store.add_message(conversation.id, "user", "hello")
    await store.close()
    database = store.paths.database
    assert clean_marker(database).exists()

    store = await Store.open(tmp_path, daily_backup=False)
    assert store.report.check == "deferred"
    assert await store.wait_checked() == "ok"  # still checked, in the background
    assert not clean_marker(database).exists()  # a crash now would leave no marker
    # Simulate a kill: no close, so no marker; the next open checks before use.
    store._closed = True  # the test's stand-in for a process that died here
    store._close_sync()
    clean_marker(database).unlink(missing_ok=True)
    store = await Store.open(tmp_path, daily_backup=False)
    assert store.report.check == "ok"
    await store.close()


async def test_a_file_changed_after_the_clean_close_is_checked_before_use(tmp_path: Path) -> None:
    store = await Store.open(tmp_path, daily_backup=False)
    await store.create_conversation("x")
    await store.close()
    database = store.paths.database
    with database.open("ab") as handle:  # touched by something else since
        handle.write(b"")
    os.utime(database, ns=(1, 1))
    store = await Store.open(tmp_path, daily_backup=False)
    assert store.report.check == "ok"
    await store.close()
