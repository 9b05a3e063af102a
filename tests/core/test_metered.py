"""The one metered provider call: a row on success, error and cancel, priced from the
profile or the provider's model list, reported to the usage monitor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.api import InsufficientCreditsError, ModelPrice, RateLimitError, RequestValidationError
from app.core.clients import ProviderUnavailable
from app.core.context import AppContext
from app.core.metered import metered, price_of, record
from app.core.monitor import CallRecorded, CreditsExhausted, UsageEvent
from app.paths import AppPaths
from app.store import LedgerEntry
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.openai_server import OpenAIServer

EMBED_PRICE = ModelPrice(input_per_m=1.0)


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path))
    context.registry.add(local_provider(openai_server, prices={"emb": EMBED_PRICE}))
    yield context
    await context.close()


async def _rows(ctx: AppContext) -> list[dict[str, object]]:
    return await ctx.store.usage_entries()


async def test_success_writes_one_priced_row_and_tells_the_monitor(ctx: AppContext) -> None:
    events: list[UsageEvent] = []
    ctx.clients.usage.subscribe(events.append)
    async with metered(
        ctx.store, ctx.clients, "local", "embeddings", "emb", conversation_id=None
    ) as meter:
        result = await meter.client.embeddings("emb", "some words to embed")
        entry = meter.ok(result)
        assert await _rows(ctx) == []  # written when the block is left
    [row] = await _rows(ctx)
    assert row["status"] == "ok" and row["endpoint"] == "embeddings" and row["model"] == "emb"
    assert row["prompt_tokens"] == result.usage.prompt_tokens > 0  # type: ignore[union-attr]
    assert row["cost"] == pytest.approx(entry.prompt_tokens * 1.0 / 1e6) == meter.cost
    assert row["latency_s"] is not None and row["rate_limit"] is not None
    assert [e.entry.status for e in events if isinstance(e, CallRecorded)] == ["ok"]
    assert ctx.clients.usage.get("local").status is not None  # the call's rate-limit headers


async def test_an_error_leaves_an_error_row_billed_nothing(ctx: AppContext) -> None:
    with pytest.raises(RateLimitError):
        async with metered(ctx.store, ctx.clients, "local", "chat", "m") as meter:
            await meter.client.chat(
                {
                    "model": "m?fault=429&retry_after=90",
                    "messages": [{"role": "user", "content": "x"}],
                }
            )
    [row] = await _rows(ctx)
    assert row["status"] == "error:RateLimitError" and row["cost"] == 0.0
    retry = ctx.clients.usage.get("local").retry_in()
    assert retry is not None and 80 < retry <= 90  # the monitor counts the 429's wait down


async def test_a_402_marks_the_credits_out(ctx: AppContext) -> None:
    events: list[UsageEvent] = []
    ctx.clients.usage.subscribe(events.append)
    with pytest.raises(InsufficientCreditsError):
        async with metered(ctx.store, ctx.clients, "local", "embeddings", "emb?fault=402") as meter:
            await meter.client.embeddings("emb?fault=402", "x")
    assert (await _rows(ctx))[0]["status"] == "error:InsufficientCreditsError"
    assert any(isinstance(e, CreditsExhausted) for e in events)


async def test_a_settled_failure_keeps_its_kind_and_a_settled_success_stays_ok(
    ctx: AppContext,
) -> None:
    class Unsaved(Exception):
        pass

    with pytest.raises(Unsaved):
        async with metered(ctx.store, ctx.clients, "local", "embeddings", "emb") as meter:
            meter.ok(await meter.client.embeddings("emb", "x"))
            raise Unsaved("keeping the result failed: the provider billed the call anyway")
    async with metered(ctx.store, ctx.clients, "local", "chat", "m", connect=False) as meter:
        meter.fail(RateLimitError("slow down", status=429), status="interrupted")
    rows = list(reversed(await _rows(ctx)))
    assert [r["status"] for r in rows] == ["ok", "interrupted:RateLimitError"]
    assert rows[0]["cost"] is not None and rows[0]["cost"] > 0


async def test_refused_before_sending_or_no_client_writes_nothing(ctx: AppContext) -> None:
    with pytest.raises(RequestValidationError):
        async with metered(ctx.store, ctx.clients, "local", "images", "img") as meter:
            await meter.client.generate_images("img", "a fox", size="0x5")
    with pytest.raises(ProviderUnavailable):
        async with metered(ctx.store, ctx.clients, "nowhere", "chat", "m"):
            pass
    assert await _rows(ctx) == []


async def test_cancel_writes_a_stopped_row_even_when_cancelled_again(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = asyncio.Event()
    writing = asyncio.Event()
    release = asyncio.Event()
    record_usage = ctx.store.record_usage

    async def slow_record(entry: LedgerEntry) -> int:
        writing.set()
        await release.wait()
        return await record_usage(entry)

    monkeypatch.setattr(ctx.store, "record_usage", slow_record)

    async def call() -> None:
        async with metered(ctx.store, ctx.clients, "local", "speech", "tts", characters=5) as meter:
            sent.set()
            await meter.client.speech("tts?delay=5", "hello")

    task = asyncio.create_task(call())
    await asyncio.wait_for(sent.wait(), 5)
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.wait_for(writing.wait(), 5)
    task.cancel()  # cancelled again while the row is being written
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    for _ in range(100):  # the shielded write finishes by itself
        rows = await _rows(ctx)
        if rows:
            break
        await asyncio.sleep(0.02)
    [row] = rows
    assert row["status"] == "stopped" and row["cost"] == 0.0 and row["characters"] == 5
    assert row["latency_s"] is not None and float(row["latency_s"]) >= 0.05  # type: ignore[arg-type]


async def test_the_model_lists_live_price_prices_every_call_and_wins_over_the_profile(
    ctx: AppContext,
) -> None:
    assert price_of(ctx.clients, "local", "emb") == EMBED_PRICE  # the profile's, unlisted
    ctx.models.put(
        "local",
        [
            {"id": "listed", "pricing": {"input": 3.0, "output": 6.0}},
            {"id": "emb", "input_price_per_1m": 0.5, "output_price_per_1m": 0},
        ],
    )
    # The pool's own cache is the one the app fills: no flow has to pass it.
    listed = price_of(ctx.clients, "local", "listed")
    assert listed is not None and listed.input_per_m == 3.0
    live = price_of(ctx.clients, "local", "emb")
    assert live is not None and live.input_per_m == 0.5 and live != EMBED_PRICE
    async with metered(ctx.store, ctx.clients, "local", "embeddings", "listed") as meter:
        result = await meter.client.embeddings("listed", "priced from the list")
        entry = meter.ok(result)
    assert entry.cost == pytest.approx(entry.prompt_tokens * 3.0 / 1e6)
    assert (await _rows(ctx))[0]["cost"] == pytest.approx(entry.cost)
    # A new price applies from the next call; the row already written keeps its cost.
    ctx.models.put("local", [{"id": "listed", "pricing": {"input": 30.0, "output": 60.0}}])
    async with metered(ctx.store, ctx.clients, "local", "embeddings", "listed") as meter:
        second = meter.ok(await meter.client.embeddings("listed", "priced from the list"))
    assert second.cost == pytest.approx(entry.cost * 10)
    costs = sorted(float(row["cost"]) for row in await _rows(ctx))  # type: ignore[arg-type]
    assert costs == pytest.approx(sorted([entry.cost, second.cost]))


async def test_an_explicit_price_wins_and_a_chat_image_is_billed_per_picture(
    ctx: AppContext,
) -> None:
    price = ModelPrice(input_per_m=1.0, per_image=0.05)
    async with metered(
        ctx.store, ctx.clients, "local", "chat", "emb", price=price, per_image=True, connect=False
    ) as meter:
        assert meter.price is price
        entry = meter.ok(images=2)
    assert entry.cost == pytest.approx(0.1) and entry.images == 2


async def test_record_keeps_a_call_made_elsewhere(ctx: AppContext) -> None:
    client = await ctx.clients.get("local")
    listing = await client.list_models()
    ok = await record(ctx.store, ctx.clients, "local", "models", "", result=listing)
    failed = await record(
        ctx.store, ctx.clients, "p2", "models", "", error=RateLimitError("x", status=429)
    )
    assert ok.status == "ok" and ok.cost == 0.0 and ok.latency_s is not None
    assert failed.status == "error:RateLimitError" and failed.latency_s is None
    assert len(await _rows(ctx)) == 2
