"""Moderation checks against the local server (which flags violent and hateful words)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.api import ProviderProfile
from app.core import moderation
from app.core.context import AppContext
from app.core.moderation import Verdict
from app.paths import AppPaths
from app.settings import Settings
from tests.helpers.app_context import open_context
from tests.helpers.openai_server import OpenAIServer


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
        )
    )
    yield context
    await context.close()


async def test_flagged_prompt_names_its_categories_and_is_accounted(ctx: AppContext) -> None:
    verdict = await moderation.check(ctx.store, ctx.clients, "local", "I will attack and kill")
    assert verdict.flagged and verdict.model == "omni-moderation-test"
    assert verdict.categories == (("violence", 0.91),)
    assert verdict.summary() == "Flagged by moderation: violence 0.91."
    rows = await ctx.store.usage_entries()
    assert [(r["endpoint"], r["status"]) for r in rows] == [("moderations", "ok")]


async def test_clean_prompt_shows_its_highest_scores(ctx: AppContext) -> None:
    verdict = await moderation.check(
        ctx.store, ctx.clients, "local", "a recipe for bread", model="omni-moderation-test"
    )
    assert verdict.status == "ok" and not verdict.flagged
    assert len(verdict.categories) == moderation.SHOWN_SCORES
    assert all(score == pytest.approx(0.01) for _, score in verdict.categories)
    assert verdict.summary() == "Moderation: nothing flagged."


@pytest.mark.parametrize("model", ["omni-moderation-test?fault=500", "x?fault=401"])
async def test_a_failing_check_is_not_checked_never_an_error(ctx: AppContext, model: str) -> None:
    verdict = await moderation.check(ctx.store, ctx.clients, "local", "kill", model=model)
    assert verdict.status == "not_checked" and verdict.reason
    assert verdict.summary().startswith("Moderation: not checked (")
    rows = await ctx.store.usage_entries()
    assert rows and rows[0]["status"].startswith("error:")


async def test_unreachable_or_unknown_provider_is_not_checked(ctx: AppContext) -> None:
    ctx.registry.add(
        ProviderProfile(
            id="gone",
            name="Gone",
            base_url="http://127.0.0.1:9/v1",
            kind="local",
            key_required=False,
        )
    )
    offline = await moderation.check(ctx.store, ctx.clients, "gone", "hello")
    assert offline.status == "not_checked"
    unknown = await moderation.check(ctx.store, ctx.clients, "nobody", "hello")
    assert unknown.status == "not_checked"
    empty = await moderation.check(ctx.store, ctx.clients, "local", "   ")
    assert empty.reason == "nothing to check"


async def test_slow_check_times_out_as_not_checked(ctx: AppContext) -> None:
    verdict = await moderation.check(
        ctx.store, ctx.clients, "local", "hi", model="m?fault=504&delay=2", timeout_s=0.2
    )
    assert verdict.status == "not_checked" and "no answer within" in verdict.reason


async def test_verdict_is_kept_on_the_message(ctx: AppContext) -> None:
    conv = await ctx.store.create_conversation()
    message = await ctx.store.add_message(
        conv.id, "user", "hate", parts=[{"type": "file", "name": "a.txt"}]
    )
    first = await moderation.check(ctx.store, ctx.clients, "local", message.text)
    await moderation.attach(ctx.store, message.id, first)
    again = await moderation.attach(ctx.store, message.id, moderation.not_checked("offline"))
    assert [p["type"] for p in again.parts] == ["file", "moderation"]  # replaced, not added
    assert moderation.verdict_in(again) == moderation.not_checked("offline")
    assert Verdict.from_part(first.to_part()) == first
    assert Verdict.from_part({"type": "moderation", "status": "weird"}) is None


def test_the_chat_provider_checks_unless_settings_choose_one() -> None:
    assert moderation.provider_for(Settings(), "chat") == ("chat", None)
    chosen = Settings(moderation_provider="openai", moderation_model="omni-moderation-latest")
    assert moderation.provider_for(chosen, "chat") == ("openai", "omni-moderation-latest")
