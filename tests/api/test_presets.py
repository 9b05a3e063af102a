"""The shipped provider presets."""

from __future__ import annotations

import pytest

from app.api import Endpoint, load_presets
from app.api.presets import preset


def test_presets_load_and_ids_are_unique() -> None:
    presets = load_presets()
    ids = [p.id for p in presets]
    assert len(ids) == len(set(ids))
    for expected in (
        "stapi", "stansa", "seed-002", "spafe", "seed-004", "openai", "openrouter", "groq",
        "together", "deepinfra", "mistral", "ollama", "lmstudio", "llamacpp", "vllm",
    ):  # fmt: skip
        assert expected in ids


def test_seed_providers() -> None:
    stapi = preset("stapi")
    assert (
        stapi.base_url == "https://stapi.pw/v1"
        and not stapi.capabilities.model_list
        and stapi.models
    )
    stansa = preset("stansa")
    assert stansa.base_url == "https://stansa.ai/v1" and stansa.credits_per_usd == 1000
    assert (
        stansa.prices["stansa-4.0"].output_per_m == 17.0
        and stansa.prices["stansa-d1-mini"].input_per_m == 0.4
    )
    assert stansa.idempotency and stansa.dashboard_url
    assert stansa.rate_limit_headers.remaining_requests_day == "X-RateLimit-Remaining-Requests-Day"
    seed2 = preset("seed-002")
    assert (
        seed2.image_size_separator == "*"
        and seed2.capabilities.completions
        and seed2.capabilities.embeddings
    )
    assert seed2.image_size(1024, 1024) == "1024*1024" and seed2.needs_base_url
    spafe = preset("spafe")
    assert spafe.base_url == "https://api.spafe.ru/api/v1" and not spafe.key_required
    assert spafe.stream_usage == "never" and "flux" in spafe.chat_image_models
    assert spafe.url(Endpoint.CHAT) == "https://api.spafe.ru/api/v1/chat/completions"
    seed4 = preset("seed-004")
    assert seed4.url(Endpoint.CHAT).endswith("/api/v1/chat/completions")
    assert (
        seed4.url(Endpoint.MODELS).endswith("/api/v1/chat/models")
        and seed4.stream_usage == "always"
    )


@pytest.mark.parametrize(
    ("pid", "port"), [("ollama", 11434), ("lmstudio", 1234), ("llamacpp", 8080), ("vllm", 8000)]
)
def test_local_servers(pid: str, port: int) -> None:
    p = preset(pid)
    assert p.kind == "local" and not p.key_required and p.base_url == f"http://127.0.0.1:{port}/v1"


def test_hosted_presets_need_keys() -> None:
    for pid in ("openai", "openrouter", "groq", "together", "deepinfra", "mistral"):
        p = preset(pid)
        assert (
            p.kind == "hosted"
            and p.key_required
            and p.key_env
            and p.base_url.startswith("https://")
        )
