"""Store benchmark: search, paging, usage aggregates, size and writer headroom.

Run from the repository root: ``python tests/bench/bench_store.py``. It builds a history of
2,000 conversations / 200,000 messages (one of them 5,000 messages long) and 1,000,000
ledger rows in a temporary directory with bulk inserts (the schema and triggers are the
real ones), then measures through the store's own read functions. The last line is one
JSON object.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.store import SearchFilters, Store, history, ledger, search
from tests.helpers.bulk_history import (
    MODELS,
    NOW,
    build_history,
    bulk_connection,
    make_vocabulary,
)

CONVERSATIONS = 2_000
MESSAGES = 200_000
LONG_CONVERSATION = 5_000
LEDGER_ROWS = 1_000_000
ENDPOINTS = ["chat", "chat", "chat", "chat", "images", "speech", "transcription", "embeddings"]


def log(text: str) -> None:
    print(text, flush=True)


def build_ledger(db: Path, seed: int) -> None:
    """Fill ``db`` (a store's schema) with the ledger; runs in its own process."""
    conn = bulk_connection(db)
    conn.execute("BEGIN")
    # Bulk path: insert without the per-row trigger, then rebuild the roll-ups in one pass.
    ledger.bulk_insert_rows(conn, _ledger_rows(random.Random(seed)))
    conn.execute("COMMIT")
    conn.close()


def merge_ledger(db: Path, ledger_db: Path) -> None:
    """Copy the ledger and its roll-ups built beside the history into the history's database."""
    conn = bulk_connection(db)
    conn.execute("ATTACH DATABASE ? AS built", (str(ledger_db),))
    conn.execute("BEGIN")
    trigger = conn.execute(
        "SELECT sql FROM main.sqlite_master WHERE type = 'trigger' AND name = 'usage_ledger_rollup'"
    ).fetchone()[0]
    conn.execute("DROP TRIGGER main.usage_ledger_rollup")
    for table in ("usage_ledger", "usage_daily", "usage_hourly"):
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM built.{table}")
    conn.execute(trigger)
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE built")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()


def _ledger_rows(rng: random.Random) -> Iterator[tuple[object, ...]]:
    """One year of calls, columns drawn with numpy (row-by-row random calls are too slow)."""
    n = LEDGER_ROWS
    g = np.random.default_rng(rng.randrange(1 << 30))
    ts = (NOW - 365 * 86400 + np.arange(n) * (365 * 86400 / n)).tolist()
    model_index = g.integers(0, len(MODELS), n)
    endpoint_index = np.arange(n) % len(ENDPOINTS)
    is_chat = np.isin(endpoint_index, [i for i, e in enumerate(ENDPOINTS) if e == "chat"])
    prompt = np.where(is_chat, g.integers(10, 4000, n), 0)
    completion = np.where(is_chat, g.integers(5, 1500, n), 0)
    speech = np.asarray(ENDPOINTS)[endpoint_index] == "speech"
    transcription = np.asarray(ENDPOINTS)[endpoint_index] == "transcription"
    images = np.asarray(ENDPOINTS)[endpoint_index] == "images"
    characters = np.where(speech, g.integers(10, 900, n), 0).tolist()
    seconds = np.where(transcription, g.random(n) * 60, 0.0).tolist()
    local = np.asarray([p == "local" for p, _ in MODELS])[model_index]
    cost = (prompt * 2.5 + completion * 10) / 1e6
    costs = [None if free else c for free, c in zip(local.tolist(), cost.tolist(), strict=True)]
    estimated = (g.random(n) < 0.1).astype(int).tolist()
    status = np.where(g.random(n) < 0.02, "error", "ok").tolist()
    latency = (g.random(n) * 5).tolist()
    ttft = g.random(n).tolist()
    providers = [MODELS[i][0] for i in model_index.tolist()]
    models = [MODELS[i][1] for i in model_index.tolist()]
    endpoints = [ENDPOINTS[i] for i in endpoint_index.tolist()]
    nothing = [None] * n
    return zip(
        ts, providers, models, endpoints, prompt.tolist(), completion.tolist(), characters, seconds,
        images.astype(int).tolist(), costs, estimated, status, latency, ttft, nothing, nothing, nothing, nothing,
        strict=True,
    )  # fmt: skip


def queries(rng: random.Random, vocab: list[str]) -> list[tuple[str, SearchFilters | None]]:
    out: list[tuple[str, SearchFilters | None]] = []
    for _ in range(40):  # one mid-frequency word
        out.append((vocab[rng.randint(200, 3000)] + " ", None))
    for _ in range(30):  # two words
        out.append((f"{vocab[rng.randint(50, 2000)]} {vocab[rng.randint(100, 5000)]} ", None))
    for _ in range(20):  # rare words
        out.append((vocab[rng.randint(5000, 29_000)] + " ", None))
    for _ in range(20):  # typing: prefix of a word
        word = vocab[rng.randint(300, 8000)]
        out.append((word[: max(3, len(word) - 1)], None))
    for _ in range(10):  # a phrase
        out.append((f'"{vocab[rng.randint(20, 400)]} {vocab[rng.randint(20, 400)]}"', None))
    for _ in range(20):  # filtered
        provider, model = MODELS[rng.randrange(len(MODELS))]
        out.append(
            (vocab[rng.randint(200, 3000)] + " ", SearchFilters(model=model, role="assistant"))
        )
        out.append(
            (
                vocab[rng.randint(200, 3000)] + " ",
                SearchFilters(provider=provider, since=NOW - 90 * 86400, until=NOW),
            )
        )
    rng.shuffle(out)
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def writer_headroom(store: Store) -> tuple[float, float, float]:
    """(max updates/s the writer sustains, idle fraction under 8 streams x 20 Hz, headroom)."""
    conv = await store.create_conversation("headroom")
    ids = [(await store.start_message(conv.id, parent_id=None)).id for _ in range(8)]
    chunk = "lorem ipsum dolor sit amet " * 2
    # 1. Capacity: unthrottled streaming-text writes, back to back (8 answers growing to ~4 KB).
    futures = []
    started = time.perf_counter()
    texts = {mid: "" for mid in ids}
    for i in range(800):
        mid = ids[i % 8]
        texts[mid] += chunk * 2
        futures.append(store._writer.submit(history.write_streaming_text, mid, texts[mid]))
    for fut in futures:
        fut.result()
    capacity = 800 / (time.perf_counter() - started)
    # 2. The real load: 8 streams, 20 updates/s each, through the throttle, for 3 s.
    busy_before = store._writer.busy_seconds
    started = time.perf_counter()

    async def stream(mid: int) -> None:
        text = texts[mid]
        for _ in range(60):
            text += chunk
            store.update_streaming(mid, text)
            await asyncio.sleep(0.05)
        await store.finish_message(mid, text)

    await asyncio.gather(*(stream(mid) for mid in ids))
    elapsed = time.perf_counter() - started
    idle = 1 - (store._writer.busy_seconds - busy_before) / elapsed
    return capacity, idle, capacity / 160


async def main() -> None:
    total_started = time.perf_counter()
    log(
        f"bench_store: {CONVERSATIONS} conversations / {MESSAGES} messages and {LEDGER_ROWS} ledger rows "
        "bulk-loaded into a temporary store, then search, paging, usage aggregates, size and writer headroom"
    )
    rng = random.Random(1234)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        ledger_data = Path(tmp) / "ledger"
        for where in (data, ledger_data):
            store = await Store.open(where, daily_backup=False)
            await store.close()
        db = data / "palaver.sqlite3"
        vocab = make_vocabulary(rng)
        started = time.perf_counter()
        # The ledger is generated in a second process while this one builds the history.
        with concurrent.futures.ProcessPoolExecutor(1) as pool:
            ledger_done = pool.submit(
                build_ledger, ledger_data / "palaver.sqlite3", rng.randrange(1 << 30)
            )
            long_id = build_history(
                db, rng, vocab, conversations=CONVERSATIONS, messages=MESSAGES,
                long_conversation=LONG_CONVERSATION,
            )  # fmt: skip
            log(
                f"built {CONVERSATIONS} conversations / {MESSAGES} messages in "
                f"{time.perf_counter() - started:.1f} s"
            )
            ledger_done.result()
        merge_ledger(db, ledger_data / "palaver.sqlite3")
        shutil.rmtree(ledger_data)
        log(
            f"built {LEDGER_ROWS} ledger rows alongside; all data ready after {time.perf_counter() - started:.1f} s"
        )

        started = time.perf_counter()
        store = await Store.open(data, daily_backup=False)
        opened_ms = (time.perf_counter() - started) * 1000
        check = await store.wait_checked()
        log(
            f"opened in {opened_ms:.0f} ms (integrity: {store.report.check} on open); background quick_check "
            f"{check} after {(time.perf_counter() - started) * 1000:.0f} ms; measuring once it is done"
        )
        try:
            # Full-text search through the same function Store.search runs on a reader thread.
            qs = queries(rng, vocab)
            for text, filters in qs[:5]:
                store.read_now(search.search, text, filters)  # warm the page cache
            times = []
            hits_total = 0
            for text, filters in qs:
                t0 = time.perf_counter()
                hits = store.read_now(search.search, text, filters)
                times.append((time.perf_counter() - t0) * 1000)
                hits_total += len(hits)
            fts_p50, fts_p95 = statistics.median(times), percentile(times, 95)
            log(
                f"search: {len(qs)} varied queries (words, pairs, rare, prefixes, phrases, filters), "
                f"{hits_total} hits; p50 {fts_p50:.2f} ms, p95 {fts_p95:.2f} ms, max {max(times):.1f} ms"
            )
            t0 = time.perf_counter()
            await store.search(qs[0][0])
            log(f"one search through the async API: {(time.perf_counter() - t0) * 1000:.2f} ms")

            page_times = []
            for _ in range(21):
                t0 = time.perf_counter()
                page = store.page(long_id, 50)
                page_times.append((time.perf_counter() - t0) * 1000)
            assert len(page.messages) == 50
            t0 = time.perf_counter()
            older = store.page(long_id, 50, before=page.older_cursor)
            older_ms = (time.perf_counter() - t0) * 1000
            assert len(older.messages) == 50
            open_page = statistics.median(page_times)
            log(
                f"newest 50 of a {LONG_CONVERSATION}-message conversation: median {open_page:.2f} ms "
                f"(first {page_times[0]:.2f} ms); the 50 before them {older_ms:.2f} ms"
            )

            agg_times = []
            for _ in range(5):
                t0 = time.perf_counter()
                rows = store.read_now(ledger.aggregate, ("day", "model"))
                agg_times.append((time.perf_counter() - t0) * 1000)
            usage_agg = statistics.median(agg_times)
            calls = sum(r.calls for r in rows)
            assert calls == LEDGER_ROWS, calls
            log(
                f"usage by day and model over {calls} ledger rows: {len(rows)} groups, median {usage_agg:.1f} ms"
            )

            capacity, idle, headroom = await writer_headroom(store)
            log(
                f"writer: {capacity:.0f} streaming-text updates/s sustained unthrottled; "
                f"8 streams x 20 Hz through the 0.5 s throttle left the writer idle {idle * 100:.1f}% of the time; "
                f"writer_headroom = sustained rate / 160 offered updates/s = {headroom:.1f}"
            )
        finally:
            await store.close()
        db_mb = sum(p.stat().st_size for p in data.glob("palaver.sqlite3*")) / 1e6
        log(f"database size {db_mb:.1f} MB; total {time.perf_counter() - total_started:.1f} s")
    print(
        json.dumps(
            {
                "fts_p50_ms": round(fts_p50, 2),
                "fts_p95_ms": round(fts_p95, 2),
                "open_page_ms": round(open_page, 2),
                "usage_agg_ms": round(usage_agg, 2),
                "db_mb": round(db_mb, 1),
                "writer_headroom": round(headroom, 1),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
