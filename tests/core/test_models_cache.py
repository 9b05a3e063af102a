"""Live model metadata: every field a provider's list carries, and the price that applies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.api import ModelPrice, ProviderProfile
from app.core.models_cache import ModelsCache, effective_price, model_facts

STANSA_LIST = [
    {
        "id": "stansa-g4",
        "object": "model",
        "owned_by": "stansa",
        "category": "premium",
        "input_price_per_1m": 1.75,
        "output_price_per_1m": 6.5,
    },
    {
        "id": "router/model",
        "pricing": {"prompt": "0.000002", "completion": "0.00001", "image": "0.01"},
        "top_provider": {"context_length": 128000},
        "architecture": {"input_modalities": ["text", "image"]},
    },
    {"id": "vllm-model", "max_model_len": 32768},
    {"id": "plain"},
]


def _profile(prices: dict[str, ModelPrice] | None = None) -> ProviderProfile:
    return ProviderProfile(
        id="stansa", name="Stansa", base_url="http://127.0.0.1:9/v1", prices=prices or {}
    )


def test_the_cache_keeps_category_prices_and_context_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    ModelsCache(tmp_path).put("stansa", STANSA_LIST)
    cache = ModelsCache(tmp_path)  # read back from disk, as after a restart
    profile = _profile()
    stansa = model_facts(profile, "stansa-g4", cache)
    assert stansa.to_json() == {
        "id": "stansa-g4",
        "provider": "stansa",
        "input_price_per_1m": 1.75,
        "output_price_per_1m": 6.5,
        "price_source": "list",
        "category": "premium",
        "context_length": None,
        "owned_by": "stansa",
        "modalities": [],
        "listed": True,
    }
    router = model_facts(profile, "router/model", cache)
    assert router.price == ModelPrice(input_per_m=2.0, output_per_m=10.0, per_image=0.01)
    assert router.context_length == 128000 and router.modalities == ("text", "image")
    assert model_facts(profile, "vllm-model", cache).context_length == 32768
    plain = model_facts(profile, "plain", cache)
    assert plain.price is None and plain.price_source is None and plain.listed


def test_the_live_price_wins_over_the_presets_copy_and_the_copy_fills_gaps(
    tmp_path: Path,
) -> None:
    cache = ModelsCache(tmp_path)
    cache.put("stansa", STANSA_LIST)
    stale_copy = ModelPrice(input_per_m=1.5, output_per_m=6.0)  # the preset's old table
    profile = _profile({"stansa-g4": stale_copy, "unlisted": stale_copy})
    assert effective_price(profile, "stansa-g4", cache) == ModelPrice(
        input_per_m=1.75, output_per_m=6.5
    )
    assert effective_price(profile, "unlisted", cache) == stale_copy
    facts = model_facts(profile, "unlisted", cache)
    assert facts.price_source == "profile" and not facts.listed


def test_a_list_older_than_a_day_is_stale(tmp_path: Path) -> None:
    cache = ModelsCache(tmp_path)
    fresh = cache.put("a", ["m"])
    old = cache.put("b", ["m"], fetched_at=datetime.now(UTC) - timedelta(hours=25))
    assert not fresh.stale and old.stale
