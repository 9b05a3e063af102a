"""Kill a process that streams into the store at random moments; nothing committed is lost."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.store import MessageStatus, Store
from tests.store.crash_child import chunk, complete_text

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]
RUNS = 30


def _expected_stream(chars: int) -> str:
    text = ""
    index = 0
    while len(text) < chars:
        text += chunk(index)
        index += 1
    return text


def _run_and_kill(data: Path, run: int, rng: random.Random) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    errors = data.parent / f"child-{run}.err"
    with errors.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(data), str(run), str(rng.randint(0, 6))],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=ROOT,
        )
    assert proc.stdout is not None
    # Wait until the store is open, then kill at a random moment: while writing whole
    # messages, starting the stream, or mid-stream.
    first = proc.stdout.readline().decode()
    assert first.strip() == "READY", first + errors.read_text()
    time.sleep(rng.uniform(0.0, 0.03) if rng.random() < 0.3 else rng.uniform(0.0, 0.25))
    proc.send_signal(signal.SIGKILL)
    # Read through the same buffered reader: readline() may already hold later lines.
    out = proc.stdout.read().decode()
    proc.stdout.close()
    assert proc.wait(timeout=10) == -signal.SIGKILL
    return ["READY", *out.splitlines()]


def _verify(db: Path, run: int, lines: list[str]) -> int | None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        completes = [int(line.split()[1]) for line in lines if line.startswith("COMPLETE")]
        for index, message_id in enumerate(completes):
            row = conn.execute(
                "SELECT text, status FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            assert row == (complete_text(run, index), "complete"), (run, message_id)
        stream = [int(line.split()[1]) for line in lines if line.startswith("STREAM")]
        if not stream:
            return None
        flushed = [int(line.split()[2]) for line in lines if line.startswith("FLUSHED")]
        row = conn.execute(
            "SELECT text, status FROM messages WHERE id = ?", (stream[0],)
        ).fetchone()
        assert row is not None and row[1] == "streaming"
        text = row[0]
        # Everything known to be committed is there, and what is there is exactly what was sent.
        assert len(text) >= (flushed[-1] if flushed else 0)
        assert text == _expected_stream(len(text))[: len(text)]
        return stream[0]
    finally:
        conn.close()


@pytest.mark.slow
async def test_sigkill_while_streaming_loses_nothing_committed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rng = random.Random(20261122)
    partials: dict[int, str] = {}
    for run in range(RUNS):
        lines = _run_and_kill(data, run, rng)
        partial = _verify(data / "palaver.sqlite3", run, lines)
        if partial is not None:
            conn = sqlite3.connect(data / "palaver.sqlite3")
            partials[partial] = conn.execute(
                "SELECT text FROM messages WHERE id = ?", (partial,)
            ).fetchone()[0]
            conn.close()
    assert partials, "no run got as far as streaming"
    store = await Store.open(data, daily_backup=False)
    try:
        assert store.report.interrupted_messages >= 1
        for message_id, text in partials.items():
            msg = store.get_message(message_id)
            assert msg.status is MessageStatus.INTERRUPTED and msg.text == text
        assert await store.check() == "ok"
    finally:
        await store.close()
