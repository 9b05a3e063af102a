"""Search-by-meaning benchmark: query latency over 200,000 stored vectors, embedding rate.

Run from the repository root: ``python tests/bench/bench_semantic.py``. It measures:

- ``query_ms``: 200,000 messages with 1,024-dim float32 vectors are written to a store in a
  temporary directory (random unit vectors, the real table), loaded into the in-memory index
  the way the app loads them (pages from SQLite), then the time from "the query embedding
  is back" to the hits with titles and snippets (cosine over the matrix on a worker thread,
  top 20, the message rows read from the store): median of 15 queries;
- ``embed_msgs_per_s``: the background job embedding 2,000 messages (1,024 dims, batches
  of 64, no pause between batches) against the local OpenAI-compatible test server,
  vectors saved to the store and added to the index: messages per second.

The last line is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.api import ProviderProfile
from app.core.semantic import EmbeddingChoice, SemanticSearch
from app.paths import AppPaths
from tests.helpers.app_context import open_context
from tests.helpers.openai_server import OpenAIServer

VECTORS = 200_000
DIMS = 1024
EMBED_MESSAGES = 2_000
QUERIES = 15
KEY_PROVIDER, KEY_MODEL = "bench", "emb?dims=1024"


def log(text: str) -> None:
    print(text, flush=True)


def fill(conn, count: int, dims: int, model_key: str) -> None:  # type: ignore[no-untyped-def]
    """Messages and their vectors straight into the database, in chunks."""
    now = time.time()
    conn.execute(
        "INSERT INTO conversations (uid, title, created_at, updated_at) VALUES ('b', 'Bench', ?, ?)",
        (now, now),
    )
    conv = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    rng = np.random.default_rng(7)
    chunk = 20_000
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        conn.executemany(
            "INSERT INTO messages (id, conversation_id, role, text, created_at, updated_at) "
            "VALUES (?, ?, 'user', ?, ?, ?)",
            (
                (
                    start + i + 1,
                    conv,
                    f"message {start + i} about topic {(start + i) % 97}",
                    now,
                    now,
                )
                for i in range(n)
            ),
        )
        block = rng.standard_normal((n, dims), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        conn.executemany(
            "INSERT INTO message_embeddings "
            "(model, message_id, dims, vector, source_updated, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            ((model_key, start + i + 1, dims, block[i].tobytes(), now, now) for i in range(n)),
        )


async def bench_query(root: Path) -> float:
    ctx = await open_context(AppPaths.from_root(root / "query"))
    try:
        ctx.registry.add(
            ProviderProfile(
                id=KEY_PROVIDER,
                name="Bench",
                base_url="http://127.0.0.1:9/v1",
                kind="local",
                key_required=False,
            )
        )
        ctx.settings.update(embeddings_provider=KEY_PROVIDER, embeddings_model=KEY_MODEL)
        semantic = SemanticSearch(ctx.store, ctx.clients, ctx.settings, ctx.models)
        choice = EmbeddingChoice(KEY_PROVIDER, KEY_MODEL)
        await semantic.ensure_schema()
        started = time.perf_counter()
        await ctx.store.write(fill, VECTORS, DIMS, choice.key)
        log(
            f"stored {VECTORS:,} messages with {DIMS}-dim vectors in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        index = await semantic.index(choice)
        assert index is not None and len(index) == VECTORS
        log(
            f"loaded the index ({VECTORS * DIMS * 4 / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        rng = np.random.default_rng(3)
        times: list[float] = []
        for _ in range(QUERIES):
            query = rng.standard_normal(DIMS).astype(np.float32).tolist()  # "the embedding is back"
            started = time.perf_counter()
            hits = await semantic.nearest(index, query, 20)
            times.append((time.perf_counter() - started) * 1000)
            assert len(hits) == 20 and hits[0].title == "Bench"
        median = statistics.median(times)
        log(f"query over {VECTORS:,} vectors: median {median:.1f} ms, max {max(times):.1f} ms")
        return median
    finally:
        await ctx.close()


async def bench_embed(root: Path, server: OpenAIServer) -> float:
    ctx = await open_context(AppPaths.from_root(root / "embed"))
    try:
        ctx.registry.add(
            ProviderProfile(
                id="local", name="Local", base_url=server.base_url, kind="local", key_required=False
            )
        )
        ctx.settings.update(embeddings_provider="local", embeddings_model=KEY_MODEL)
        conv = await ctx.store.create_conversation("Embed")
        texts = [
            f"message {i}: " + "words about something " * (i % 20 + 1)
            for i in range(EMBED_MESSAGES)
        ]
        await ctx.store.write(
            lambda conn: conn.executemany(
                "INSERT INTO messages (conversation_id, role, text, created_at, updated_at) "
                "VALUES (?, 'user', ?, 0, 0)",
                ((conv.id, t) for t in texts),
            )
        )
        semantic = SemanticSearch(ctx.store, ctx.clients, ctx.settings, ctx.models)
        estimate = await semantic.estimate()
        log(f"to embed: {estimate.messages:,} messages, ≈{estimate.tokens:,} tokens")
        started = time.perf_counter()
        result = await semantic.embed_pending(pace_s=0)
        elapsed = time.perf_counter() - started
        rate = result.done / elapsed
        log(
            f"embedded {result.done:,} messages ({DIMS} dims, batches of 64) in {elapsed:.2f} s: {rate:.0f}/s"
        )
        return rate
    finally:
        await ctx.close()


async def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, OpenAIServer() as server:
        query_ms = await bench_query(Path(tmp))
        embed_rate = await bench_embed(Path(tmp), server)
    return {"query_ms": round(query_ms, 1), "embed_msgs_per_s": round(embed_rate, 1)}


if __name__ == "__main__":
    total = time.perf_counter()
    figures = asyncio.run(main())
    log(f"total {time.perf_counter() - total:.1f} s")
    print(json.dumps(figures))
