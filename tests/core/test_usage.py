"""Usage accounting: prices per endpoint, credits, budgets, and the live monitor fed by the
chat flow against the local server."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.api import ApiClient, InsufficientCreditsError, ModelPrice, ProviderProfile, RateLimitError
from app.api.types import RateLimitStatus, Usage
from app.core import metered, usage
from app.core.chat import ChatSession, Target
from app.core.context import AppContext
from app.core.usage import (
    Budgets,
    CallRecorded,
    CreditsExhausted,
    LimitsChanged,
    UsageEvent,
    UsageMonitor,
    budget_level,
    call_cost,
)
from app.paths import AppPaths
from tests.helpers.app_context import open_context
from tests.helpers.openai_server import OpenAIServer

PRICE = ModelPrice(input_per_m=2.0, output_per_m=8.0, per_image=0.04, per_m_chars=15.0,
                   per_audio_minute=0.006)  # fmt: skip


def test_call_cost_per_endpoint() -> None:
    assert call_cost(PRICE, "chat", prompt_tokens=1000, completion_tokens=500) == pytest.approx(
        0.006
    )
    assert call_cost(PRICE, "embeddings", prompt_tokens=1_000_000) == pytest.approx(2.0)
    assert call_cost(PRICE, "images", images=3) == pytest.approx(0.12)
    assert call_cost(PRICE, "speech", characters=2000) == pytest.approx(0.03)
    assert call_cost(PRICE, "transcriptions", audio_seconds=90) == pytest.approx(0.009)
    assert call_cost(None, "models") == 0.0 and call_cost(PRICE, "models") == 0.0
    assert call_cost(None, "chat", prompt_tokens=5) is None
    assert call_cost(ModelPrice(input_per_m=1.0), "images", images=1) is None


def test_credits_and_formatting() -> None:
    stansa = ProviderProfile(id="stansa", name="Stansa", base_url="https://api.stansa.ai/v1",
                             credits_per_usd=1000, credit_unit="credit",
                             dashboard_url="https://stansa.ai/")  # fmt: skip
    plain = ProviderProfile(id="x", name="X", base_url="https://x.test/v1")
    assert usage.to_credits(stansa, 0.0125) == pytest.approx(12.5)
    assert usage.to_credits(plain, 1.0) is None
    assert usage.format_credits(stansa, 0.0125) == "12.50 credits"
    assert usage.format_credits(stansa, 0.0125, estimated=True).startswith("≈")
    assert usage.format_credits(plain, 1.0) == ""
    assert usage.format_usd(1234.5) == "$1,234" or usage.format_usd(1234.5) == "$1,235"
    assert usage.format_usd(0.0042, estimated=True) == "≈$0.0042"
    assert usage.format_tokens(1_234_567) == "1.2M"
    message = usage.credits_message(stansa, "stansa")
    assert "402" in message and "https://stansa.ai/" in message


def test_ledger_entry_from_meta_and_error() -> None:
    from app.api.types import CallMeta

    meta = CallMeta(latency_s=0.5, ttft_s=0.1, request_id="r1",
                    usage=Usage(prompt_tokens=100, completion_tokens=50, estimated=True),
                    rate_limit=RateLimitStatus(remaining_requests=5, raw={"x": "1"}))  # fmt: skip
    entry = metered.ledger_entry("p", "chat", "m", price=PRICE, meta=meta)
    assert entry.cost == pytest.approx((100 * 2 + 50 * 8) / 1e6)
    assert entry.estimated and entry.status == "ok" and entry.request_id == "r1"
    assert entry.rate_limit is not None and entry.rate_limit["remaining_requests"] == 5
    failed = metered.ledger_entry(
        "p", "images", "m", price=PRICE, error=RateLimitError("x", status=429)
    )
    assert failed.status == "error:RateLimitError" and failed.cost == 0.0


def test_budget_levels_and_file(tmp_path: Path) -> None:
    assert budget_level(5, None) == "none"
    assert budget_level(7.9, 10) == "ok"
    assert budget_level(8, 10) == "warning"
    assert budget_level(10, 10) == "over"
    budgets = Budgets.in_config(tmp_path)
    budgets.set("stansa", 10)
    assert Budgets.in_config(tmp_path).get("stansa") == 10
    assert "key" not in (tmp_path / "budgets.json").read_text().lower()
    today = dt.date(2026, 3, 14)
    assert budgets.crossed({"stansa": 5}, today) == []
    assert budgets.crossed({"stansa": 8.5}, today) == [("stansa", "warning", 8.5, 10.0)]
    assert budgets.crossed({"stansa": 9}, today) == []  # each level once a month
    assert budgets.crossed({"stansa": 11}, today) == [("stansa", "over", 11, 10.0)]
    assert budgets.crossed({"stansa": 11}, dt.date(2026, 4, 2))[0][1] == "over"  # a new month
    budgets.set("stansa", None)
    assert Budgets.in_config(tmp_path).all() == {}
    (tmp_path / "budgets.json").write_text("{not json")
    damaged = Budgets.in_config(tmp_path)
    assert damaged.all() == {} and damaged.problem


def test_monitor_tracks_limits_and_countdowns() -> None:
    monitor = UsageMonitor()
    events: list[UsageEvent] = []
    unsubscribe = monitor.subscribe(events.append)
    now = time.time()
    status = RateLimitStatus(limit_requests=60, remaining_requests=3, reset_requests_s=30,
                             observed_at=now, raw={"x-ratelimit-limit-requests": "60"})  # fmt: skip
    monitor.observe_rate_limit("p", status)
    limits = monitor.get("p")
    assert limits.requests_remaining(now) == 3
    assert limits.requests_remaining(now + 31) == 60  # the window has reset
    monitor.observe_error("p", RateLimitError("slow down", status=429, retry_after=12))
    assert limits.retry_in() == pytest.approx(12, abs=0.5)
    monitor.observe_error("p", InsufficientCreditsError("no money", status=402))
    assert limits.credits_out_at is not None
    assert any(isinstance(e, CreditsExhausted) for e in events)
    monitor.observe_call(metered.ledger_entry("p", "chat", "m"))
    assert limits.retry_in() is None and limits.credits_out_at is None
    assert isinstance(events[-1], CallRecorded)
    unsubscribe()
    monitor.observe_rate_limit("p", status)
    assert not isinstance(events[-1], LimitsChanged)


# --- the chat flow reports to the monitor ------------------------------------------------


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path))
    context.registry.add(
        ProviderProfile(id="local", name="Local", base_url=openai_server.base_url, kind="local",
                        key_required=False,
                        prices={"m?tokens=20": ModelPrice(input_per_m=1.0, output_per_m=2.0)},
                        credits_per_usd=1000, dashboard_url="https://example.test/billing")
    )  # fmt: skip
    yield context
    await context.close()


async def _run(session: ChatSession, model: str) -> None:
    async for _ in session.send("hello there", Target("local", model)):
        pass


async def test_chat_calls_feed_the_monitor_and_ledger(ctx: AppContext) -> None:
    events: list[UsageEvent] = []
    ctx.clients.usage.subscribe(events.append)
    await _run(ChatSession(ctx.store, ctx.clients), "m?tokens=20")
    rows = await ctx.store.usage_entries()
    assert rows[0]["status"] == "ok" and rows[0]["completion_tokens"] == 20
    assert rows[0]["cost"] == pytest.approx((rows[0]["prompt_tokens"] * 1 + 20 * 2) / 1e6)
    limits = ctx.clients.usage.get("local")
    assert limits.status is not None and limits.status.limit_requests == 60
    assert limits.requests_reset_at is not None
    assert any(isinstance(e, CallRecorded) for e in events)
    summary = await ctx.store.usage_summary(("provider",))
    assert summary[0].errors == 0


async def test_429_and_402_reach_the_monitor(ctx: AppContext) -> None:
    # Longer than the client waits by itself, so the 429 reaches the flow.
    await _run(ChatSession(ctx.store, ctx.clients), "m?fault=429&retry_after=90")
    limits = ctx.clients.usage.get("local")
    retry = limits.retry_in()
    assert retry is not None and 80 < retry <= 90
    assert limits.status is not None and limits.status.limit_requests == 60  # error headers too
    await _run(ChatSession(ctx.store, ctx.clients), "m?fault=402")
    assert limits.credits_out_at is not None
    rows = await ctx.store.usage_entries()
    assert rows[0]["status"] == "error:InsufficientCreditsError"


async def test_record_call_helper(ctx: AppContext) -> None:
    client: ApiClient = await ctx.clients.get("local")
    result = await client.embeddings("m", "some text")
    price = ModelPrice(input_per_m=1.0)
    entry = metered.ledger_entry("local", "embeddings", "m", price=price, meta=result.meta)
    await metered.record_call(
        ctx.store, ctx.clients.usage, entry, rate_limit=result.meta.rate_limit
    )
    rows = await ctx.store.usage_entries()
    assert rows[0]["endpoint"] == "embeddings" and rows[0]["cost"] is not None
    assert ctx.clients.usage.get("local").status is not None


async def test_record_prices_every_endpoint_from_the_profile(ctx: AppContext) -> None:
    profile = ctx.registry.get("local")
    assert profile is not None
    ctx.registry.replace(
        profile.model_copy(
            update={"prices": {"img": ModelPrice(per_image=0.04), "tts": ModelPrice(per_m_chars=15.0),
                               "stt": ModelPrice(per_audio_minute=0.006)}}
        )
    )  # fmt: skip
    client = await ctx.clients.get("local")
    images = await client.generate_images("img", "a red square", n=2)
    await metered.record(ctx.store, ctx.clients, "local", "images", "img", result=images)
    speech = await client.speech("tts", "Hello there")
    await metered.record(ctx.store, ctx.clients, "local", "speech", "tts", result=speech,
                        characters=len("Hello there"))  # fmt: skip
    await metered.record(ctx.store, ctx.clients, "local", "transcriptions", "stt",
                        audio_seconds=30.0, latency_s=0.2)  # fmt: skip
    listing = await client.list_models()
    await metered.record(ctx.store, ctx.clients, "local", "models", "", result=listing)
    rows = {r["endpoint"]: r for r in await ctx.store.usage_entries()}
    assert rows["images"]["images"] == 2 and rows["images"]["cost"] == pytest.approx(0.08)
    assert rows["speech"]["cost"] == pytest.approx(11 * 15.0 / 1e6)
    assert rows["transcriptions"]["cost"] == pytest.approx(0.003)
    assert rows["models"]["cost"] == 0.0


async def test_a_402_in_chat_names_the_dashboard(ctx: AppContext) -> None:
    from app.core.chat import AnswerFinished

    session = ChatSession(ctx.store, ctx.clients)
    events = [e async for e in session.send("hi", Target("local", "m?fault=402"))]
    finished = events[-1]
    assert isinstance(finished, AnswerFinished) and finished.error is not None
    assert "credits ran out (402)" in finished.error.message
    assert "https://example.test/billing" in finished.error.message
