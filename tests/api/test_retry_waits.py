"""Waiting made visible and bounded; idempotency done right (seed 001); paths (seed 004)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.api import Endpoint, GatewayTimeoutError, ProviderProfile, RateLimitError, RetryPolicy
from app.api.retry import reporting_waits
from tests.api.test_client import HELLO, Recorder, make, ok, profile, sleeps

__all__ = ["sleeps"]


def _limited(seconds: int) -> httpx.Response:
    return httpx.Response(
        429, json={"error": {"message": "slow down"}}, headers={"retry-after": str(seconds)}
    )


async def test_every_wait_is_announced_before_it_starts(sleeps: list[float]) -> None:
    heard: list[tuple[float, str]] = []
    rec = Recorder(_limited(7), httpx.Response(503, json={"error": {"message": "busy"}}), ok())
    async with make(rec, max_retries=2) as client:
        with reporting_waits(lambda w: heard.append((w.seconds, w.reason))):
            await client.chat({"model": "m", "messages": HELLO})
    assert [round(s) for s, _ in heard] == [round(s) for s in sleeps] and heard[0][0] == 7
    assert "rate limited (429)" in heard[0][1] and "503" in heard[1][1]
    async with make(Recorder(_limited(1), ok())) as client:
        await client.chat({"model": "m", "messages": HELLO})  # no reporter: still fine
    assert len(heard) == 2


async def test_a_wait_past_the_retry_budget_is_not_started(sleeps: list[float]) -> None:
    rec = Recorder(_limited(30), ok())
    async with make(rec, retry_policy=RetryPolicy(budget=20)) as client:
        with pytest.raises(RateLimitError):
            await client.chat({"model": "m", "messages": HELLO})
    assert sleeps == [] and len(rec.requests) == 1


async def test_a_504_the_provider_documents_as_final_is_never_retried(sleeps: list[float]) -> None:
    rec = Recorder(httpx.Response(504, json={"error": {"message": "3-minute upstream limit"}}))
    async with make(rec, max_retries=2, prof=profile(no_retry_statuses=[504])) as client:
        with pytest.raises(GatewayTimeoutError):
            await client.chat({"model": "m", "messages": HELLO})
    assert len(rec.requests) == 1 and sleeps == []


async def test_a_user_set_idempotency_key_is_sent_as_it_is_on_every_retry(
    sleeps: list[float],
) -> None:
    rec = Recorder(httpx.Response(500, json={"error": {"message": "oops"}}), ok())
    async with make(rec, prof=profile(headers={"Idempotency-Key": "my-own-key"})) as client:
        result = await client.chat({"model": "m", "messages": HELLO})
    sent = [r.headers.get_list("idempotency-key") for r in rec.requests]
    assert sent == [["my-own-key"], ["my-own-key"]]
    assert result.meta.idempotency_key == "my-own-key"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://host", "https://host/api/v1/chat/completions"),
        ("https://proxy.example/seed4", "https://proxy.example/seed4/api/v1/chat/completions"),
    ],
)
def test_relative_paths_keep_the_base_urls_prefix(base_url: str, expected: str) -> None:
    profile = ProviderProfile(
        id="s4", name="Seed 004", base_url=base_url, paths={"chat": "api/v1/chat/completions"}
    )
    assert profile.url(Endpoint.CHAT) == expected
    absolute = profile.model_copy(update={"paths": {Endpoint.CHAT: "/api/v1/chat/completions"}})
    assert absolute.url(Endpoint.CHAT) == absolute.origin + "/api/v1/chat/completions"


def test_the_seed_presets_ask_for_their_host_and_have_short_names() -> None:
    from app.api import load_presets

    presets: dict[str, Any] = {p.id: p for p in load_presets()}
    for seed in ("seed-002", "seed-004"):
        assert presets[seed].needs_base_url and "(" not in presets[seed].name
    assert presets["seed-004"].no_retry_statuses == [504]
    assert presets["seed-004"].url(Endpoint.MODELS).endswith(".invalid/api/v1/chat/models")
