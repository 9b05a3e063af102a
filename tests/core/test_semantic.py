"""Search by meaning against a real store and the local server's deterministic vectors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from app.api import ApiConnectionError, ProviderProfile
from app.core.context import AppContext
from app.core.semantic import (
    EmbeddingChoice,
    EmbedProgress,
    SemanticSearch,
    SemanticUnavailable,
    VectorIndex,
    merge_hits,
)
from app.paths import AppPaths
from app.store import SearchHit
from app.store import embeddings as queries
from tests.helpers.app_context import open_context
from tests.helpers.openai_server import OpenAIServer, embedding_vector


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path / "profile"))
    context.registry.add(
        ProviderProfile(
            id="local",
            name="Local",
            base_url=openai_server.base_url,
            kind="local",
            key_required=False,
            capabilities={"embeddings": True},
            prices={"emb": {"input_per_m": 0.02}},
        )
    )
    yield context
    await context.close()


def _semantic(ctx: AppContext, model: str = "emb") -> SemanticSearch:
    ctx.settings.update(embeddings_provider="local", embeddings_model=model)
    return SemanticSearch(ctx.store, ctx.clients, ctx.settings, ctx.models)


async def _messages(ctx: AppContext, texts: list[str]) -> list[int]:
    conv = await ctx.store.create_conversation("Notes")
    ids = []
    for i, text in enumerate(texts):
        role = "user" if i % 2 == 0 else "assistant"
        ids.append((await ctx.store.add_message(conv.id, role, text)).id)
    return ids


def test_index_finds_exact_nearest_and_replaces_rows() -> None:
    index = VectorIndex(3)
    index.add([10, 11, 12], [[1, 0, 0], [0, 2, 0], [1, 1, 0]])
    assert len(index) == 3 and 11 in index
    best = index.top_k([0, 1, 0.1], 2)
    assert [i for i, _ in best] == [11, 12]
    assert best[0][1] == pytest.approx(1 / np.sqrt(1.01), rel=1e-5)  # cosine, not dot
    index.add([11], [[0, 0, 5]])  # re-embedded: replaced, not duplicated
    assert len(index) == 3
    assert index.top_k([0, 0, 1], 1)[0][0] == 11
    assert index.top_k([0, 0, 0], 3) == []
    assert VectorIndex(3).top_k([1, 0, 0], 3) == []
    # Growth keeps every row.
    rng = np.random.default_rng(1)
    big = rng.normal(size=(3000, 3)).astype(np.float32)
    index.add(list(range(100, 3100)), big)
    assert len(index) == 3003
    assert index.top_k(big[1234], 1)[0][0] == 1334


def test_merge_puts_messages_found_both_ways_first() -> None:
    def hit(kind: str, i: int) -> SearchHit:
        return SearchHit(kind, i, 1, "t", ((f"{kind}{i}", False),), 0.0, 0.0)

    text = [hit("message", 1), hit("conversation", 1), hit("message", 2)]
    meaning = [hit("message", 3), hit("message", 2)]
    merged = merge_hits(text, meaning, 10)
    assert (merged[0].kind, merged[0].id) == ("message", 2)
    assert len(merged) == 4
    assert len(merge_hits(text, meaning, 2)) == 2


async def test_embeds_everything_then_finds_the_message_by_its_vector(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    semantic = _semantic(ctx)
    texts = [f"message number {i}" for i in range(10)]
    ids = await _messages(ctx, texts)
    estimate = await semantic.estimate()
    chars = sum(len(t) for t in texts)
    assert estimate.messages == 10 and estimate.tokens == (chars + 3) // 4
    assert estimate.cost == pytest.approx(estimate.tokens * 0.02 / 1e6)
    seen: list[EmbedProgress] = []
    final = await semantic.embed_pending(seen.append, batch_size=4, pace_s=0)
    assert final.finished and final.done == 10 and final.total == 10
    assert [p.done for p in seen] == [0, 4, 8, 10, 10]
    assert len([r for r in openai_server.requests if r.path.endswith("/embeddings")]) == 3
    ledger = await ctx.store.usage_entries()
    assert len(ledger) == 3 and {row["endpoint"] for row in ledger} == {"embeddings"}
    # The server's vectors depend on the exact text: the query equal to message 7 finds it.
    hits = await semantic.search("message number 7", limit=3)
    assert hits[0].id == ids[7] and hits[0].kind == "message"
    assert hits[0].title == "Notes" and hits[0].snippet == "message number 7"
    assert hits[0].rank == pytest.approx(-1.0, abs=1e-4)
    assert len(ledger) + 1 == len(await ctx.store.usage_entries())
    # Nothing left: a second run embeds nothing and calls nothing.
    again = await semantic.embed_pending(pace_s=0)
    assert again.done == 0 and again.finished


async def test_new_messages_reach_the_loaded_index_and_deleted_ones_leave_results(
    ctx: AppContext,
) -> None:
    semantic = _semantic(ctx)
    ids = await _messages(ctx, ["alpha", "beta"])
    await semantic.embed_pending(pace_s=0)
    assert (await semantic.search("gamma"))[0].id in ids
    conv = await ctx.store.create_conversation("Later")
    later = await ctx.store.add_message(conv.id, "user", "gamma")
    await semantic.embed_pending(pace_s=0)
    assert (await semantic.search("gamma"))[0].id == later.id
    await ctx.store.delete_conversation(conv.id)
    assert later.id not in [h.id for h in await semantic.search("gamma")]


async def test_cancel_keeps_saved_batches_and_resumes(ctx: AppContext) -> None:
    semantic = _semantic(ctx)
    await _messages(ctx, [f"text {i}" for i in range(12)])
    first_batch = asyncio.Event()

    def progress(p: EmbedProgress) -> None:
        if p.done >= 4:
            first_batch.set()

    task = asyncio.create_task(semantic.embed_pending(progress, batch_size=4, pace_s=5))
    await asyncio.wait_for(first_batch.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await semantic.estimate()).messages == 8
    resumed = await semantic.embed_pending(batch_size=4, pace_s=0)
    assert resumed.done == 8 and resumed.total == 8
    assert (await semantic.estimate()).messages == 0


async def test_changing_the_model_re_embeds_with_its_size(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    await _messages(ctx, ["one", "two", "three"])
    await _semantic(ctx, "emb").embed_pending(pace_s=0)
    semantic = _semantic(ctx, "emb?dims=32")
    assert (await semantic.estimate()).messages == 3
    await semantic.embed_pending(pace_s=0)
    assert await semantic.stored_counts() == {"local/emb": 3, "local/emb?dims=32": 3}
    index = await semantic.index(EmbeddingChoice("local", "emb?dims=32"))
    assert index is not None and index.dims == 32
    stored = await ctx.store.read(queries.load_vectors, "local/emb?dims=32")
    first = np.frombuffer(stored.data, dtype="<f4")[:32]
    assert first == pytest.approx(embedding_vector("one", 32), abs=1e-5)


async def test_errors_are_accounted_and_no_model_is_a_plain_message(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    semantic = SemanticSearch(ctx.store, ctx.clients, ctx.settings, ctx.models)
    with pytest.raises(SemanticUnavailable, match="Choose an embeddings model"):
        await semantic.search("anything")
    await _messages(ctx, ["a text"])
    semantic = _semantic(ctx, "emb?fault=400")
    with pytest.raises(Exception) as caught:
        await semantic.embed_pending(pace_s=0)
    assert getattr(caught.value, "user_message", "")
    rows = await ctx.store.usage_entries()
    assert len(rows) == 1 and rows[0]["endpoint"] == "embeddings"
    assert rows[0]["status"] != "ok"


async def test_offline_raises_connection_error(ctx: AppContext) -> None:
    ctx.registry.add(
        ProviderProfile(
            id="gone",
            name="Gone",
            base_url="http://127.0.0.1:9/v1",
            kind="local",
            key_required=False,
        )
    )
    await _messages(ctx, ["a text"])
    ctx.settings.update(embeddings_provider="local", embeddings_model="emb")
    semantic = SemanticSearch(ctx.store, ctx.clients, ctx.settings, ctx.models)
    await semantic.embed_pending(pace_s=0)
    ctx.settings.update(embeddings_provider="gone")
    await ctx.store.write(
        lambda conn: conn.execute("UPDATE message_embeddings SET model = 'gone/emb'")
    )
    with pytest.raises(ApiConnectionError):
        await semantic.search("a text")


async def test_new_messages_are_embedded_by_themselves_once_the_user_started(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    semantic = _semantic(ctx)
    await _messages(ctx, ["first", "second"])
    # Off, or never started by the user: nothing is sent.
    assert await semantic.embed_new() == 0
    ctx.settings.update(semantic_search=True)
    assert await semantic.embed_new() == 0
    assert not [r for r in openai_server.requests if r.path.endswith("/embeddings")]
    await semantic.embed_pending(pace_s=0)
    await _messages(ctx, ["third"])
    assert await semantic.embed_new() == 1
    # A big backlog waits for the user (and its estimate).
    await _messages(ctx, [f"more {i}" for i in range(5)])
    assert await semantic.embed_new(limit=4) == 0
    # A failing provider is logged, never raised.
    ctx.settings.update(embeddings_model="emb?fault=400")
    await ctx.store.write(
        lambda conn: conn.execute("UPDATE message_embeddings SET model = 'local/emb?fault=400'")
    )
    assert await semantic.embed_new() == 0


async def test_a_cancelled_search_leaves_the_load_going(ctx: AppContext) -> None:
    semantic = _semantic(ctx)
    await _messages(ctx, ["one", "two", "three"])
    await semantic.embed_pending(pace_s=0)
    search = asyncio.create_task(semantic.search("one"))
    await asyncio.sleep(0)  # the search started the load
    loading = list(semantic._loads.values())
    assert len(loading) == 1
    search.cancel()  # the next keystroke replaced this search
    with pytest.raises(asyncio.CancelledError):
        await search
    index = await semantic.index(semantic.require())
    assert index is not None and len(index) == 3
    assert loading[0].done() and not loading[0].cancelled()
    assert not semantic._loads
