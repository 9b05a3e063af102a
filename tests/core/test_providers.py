"""The provider registry: add, edit, remove, save readable JSON, refuse secrets; model cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.api.profiles import ModelPrice, ProviderProfile
from app.core.models_cache import (
    ModelsCache,
    effective_price,
    format_price,
    model_choices,
    price_from_listing,
)
from app.core.providers import ProviderRegistry, SecretInProfileError, slug
from app.paths import AppPaths


@pytest.fixture
def paths(data_dir: Path) -> AppPaths:
    return AppPaths.from_root(data_dir).ensure()


def groq() -> ProviderProfile:
    return ProviderProfile(
        id="groq",
        name="Groq",
        base_url="https://api.groq.com/openai/v1",
        key_env="GROQ_API_KEY",
        prices={"llama-3.1-8b-instant": ModelPrice(input_per_m=0.05, output_per_m=0.08)},
    )


def test_add_saves_readable_json_and_reloads(paths: AppPaths) -> None:
    registry = ProviderRegistry.load(paths.providers_file)
    assert len(registry) == 0 and registry.problem is None
    registry.add(groq())
    text = paths.providers_file.read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["version"] == 1
    entry = document["providers"][0]
    assert list(entry)[:4] == ["id", "name", "base_url", "kind"]
    assert "rate_limit_headers" not in entry  # defaults left out: short to read
    assert '\n  "providers": [' in text
    again = ProviderRegistry.load(paths.providers_file)
    assert again.all() == registry.all()
    assert again.get("groq") == groq()


def test_adding_a_taken_id_gets_a_fresh_one_and_presets_are_copied(paths: AppPaths) -> None:
    registry = ProviderRegistry.load(paths.providers_file)
    preset = groq()
    first = registry.add_preset(preset)
    second = registry.add_preset(preset)
    assert (first.id, second.id) == ("groq", "groq-2")
    assert first is not preset


def test_replace_keeps_order_and_can_rename(paths: AppPaths) -> None:
    registry = ProviderRegistry.load(paths.providers_file)
    registry.add(ProviderProfile(id="a", name="A", base_url="http://a.example/v1"))
    registry.add(groq())
    registry.add(ProviderProfile(id="c", name="C", base_url="http://c.example/v1"))
    edited = groq().model_copy(update={"id": "fast", "name": "Fast"})
    registry.replace(edited, old_id="groq")
    assert [p.id for p in registry] == ["a", "fast", "c"]
    with pytest.raises(ValueError, match="already"):
        registry.replace(edited.model_copy(update={"id": "a"}), old_id="fast")
    with pytest.raises(KeyError):
        registry.replace(ProviderProfile(id="zz", name="Z", base_url="http://z.example"))


def test_remove_and_listeners(paths: AppPaths) -> None:
    registry = ProviderRegistry.load(paths.providers_file)
    seen: list[list[str]] = []
    unsubscribe = registry.subscribe(lambda r: seen.append([p.id for p in r]))
    registry.add(groq())
    assert registry.remove("groq") is not None
    assert registry.remove("groq") is None  # no second notification
    unsubscribe()
    registry.add(groq())
    assert seen == [["groq"], []]
    assert ProviderRegistry.load(paths.providers_file).get("groq") is not None


@pytest.mark.parametrize(
    "header", ["Authorization", "X-Api-Key", "api-key", "Cookie", "X-Auth-Token", "X-Custom-Auth"]
)
def test_headers_that_would_carry_a_secret_are_refused(paths: AppPaths, header: str) -> None:
    registry = ProviderRegistry.load(paths.providers_file)
    profile = groq().model_copy(update={"headers": {header: "sk-test-not-a-real-key"}})
    with pytest.raises(SecretInProfileError, match="keyring"):
        registry.add(profile)
    assert not paths.providers_file.exists()


def test_harmless_headers_are_kept(paths: AppPaths) -> None:
    registry = ProviderRegistry.load(paths.providers_file)
    registry.add(
        groq().model_copy(
            update={"headers": {"HTTP-Referer": "https://palaver.app", "X-Title": "Palaver"}}
        )
    )
    assert ProviderRegistry.load(paths.providers_file).get("groq").headers["X-Title"] == "Palaver"  # type: ignore[union-attr]


def test_secret_looking_extra_fields_are_never_written(paths: AppPaths) -> None:
    paths.providers_file.write_text(
        json.dumps(
            {"providers": [{**groq().model_dump(mode="json"), "api_key": "sk-test-not-a-real-key"}]}
        ),
        encoding="utf-8",
    )
    registry = ProviderRegistry.load(paths.providers_file)
    assert registry.get("groq") is not None
    registry.add(ProviderProfile(id="other", name="Other", base_url="http://o.example"))
    assert "sk-test-not-a-real-key" not in paths.providers_file.read_text(encoding="utf-8")


def test_damaged_file_is_kept_aside(paths: AppPaths) -> None:
    paths.providers_file.write_text("{oops", encoding="utf-8")
    registry = ProviderRegistry.load(paths.providers_file)
    assert len(registry) == 0
    assert registry.problem is not None and "damaged" in registry.problem
    assert [p.read_text(encoding="utf-8") for p in paths.config.glob("providers.json.bad-*")] == [
        "{oops"
    ]


def test_one_invalid_profile_does_not_lose_the_others(paths: AppPaths) -> None:
    good = groq().model_dump(mode="json")
    bad = {"id": "bad", "name": "Bad", "base_url": "ftp://nowhere"}
    paths.providers_file.write_text(
        json.dumps({"version": 1, "providers": [good, bad]}), encoding="utf-8"
    )
    registry = ProviderRegistry.load(paths.providers_file)
    assert [p.id for p in registry] == ["groq"]
    assert registry.problem is not None and "Bad" in registry.problem
    # The original stays readable by hand, both in place and in the copy kept aside.
    assert paths.providers_file.exists()
    assert len(list(paths.config.glob("providers.json.bad-*"))) == 1


def test_find_by_base_url_ignores_trailing_slash_and_host_case(paths: AppPaths) -> None:
    registry = ProviderRegistry.load(paths.providers_file)
    registry.add(groq())
    assert registry.find_by_base_url("https://API.groq.com/openai/v1/") is not None
    assert registry.find_by_base_url("https://api.groq.com/other") is None


def test_slug() -> None:
    assert slug("LM Studio") == "lm-studio"
    assert slug("  ") == "provider"
    assert slug("api.example.com") == "api.example.com"


# -- model cache and prices -------------------------------------------------------------


def test_models_cache_round_trip_with_fetch_time(paths: AppPaths) -> None:
    cache = ModelsCache(paths.cache / "models")
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    cache.put(
        "stansa",
        [
            {
                "id": "stansa-g4",
                "owned_by": "stansa",
                "pricing": {"input": 1.75, "output": 6.5},
                "description": "x" * 500,
            },
            "gpt-4.1-mini-unfiltered",
            {"id": "stansa-g4"},  # duplicates collapse
        ],
        fetched_at=when,
    )
    again = ModelsCache(paths.cache / "models").get("stansa")
    assert again is not None
    assert again.fetched_at == when
    assert again.ids == ["gpt-4.1-mini-unfiltered", "stansa-g4"]
    entry = again.get("stansa-g4")
    assert entry is not None and "description" not in (entry.model_extra or {})
    assert ModelsCache(paths.cache / "models").get("nobody") is None


def test_unreadable_cache_is_ignored(paths: AppPaths) -> None:
    directory = paths.cache / "models"
    directory.mkdir()
    (directory / "x.json").write_text("garbage", encoding="utf-8")
    assert ModelsCache(directory).get("x") is None


def test_prices_from_listings() -> None:
    openrouter = price_from_listing(
        {"id": "m", "pricing": {"prompt": "0.0000025", "completion": "0.00001"}}
    )
    assert openrouter is not None and (openrouter.input_per_m, openrouter.output_per_m) == (
        2.5,
        10.0,
    )
    per_million = price_from_listing({"id": "m", "pricing": {"input": 2.44, "output": 9.75}})
    assert per_million is not None and (per_million.input_per_m, per_million.output_per_m) == (
        2.44,
        9.75,
    )
    assert price_from_listing({"id": "m"}) is None
    assert price_from_listing({"id": "m", "pricing": "free"}) is None


def test_the_listings_live_price_wins_and_choices_span_providers(paths: AppPaths) -> None:
    cache = ModelsCache(paths.cache / "models")
    profile = groq().model_copy(update={"models": ["llama-3.1-8b-instant", "typed-by-hand"]})
    cache.put(
        "groq",
        [
            {"id": "llama-3.1-8b-instant", "pricing": {"input": 9, "output": 9}},
            {"id": "listed-only", "pricing": {"input": 1, "output": 2}},
        ],
    )
    stapi = ProviderProfile(
        id="stapi", name="stapi", base_url="https://stapi.pw/v1", models=["gpt-4o"]
    )
    price = effective_price(profile, "llama-3.1-8b-instant", cache)
    assert price is not None and price.input_per_m == 9  # the provider's list, not the copy
    typed = effective_price(profile, "typed-by-hand", cache)
    assert typed is None or typed == profile.price("typed-by-hand")
    choices = model_choices([profile, stapi], cache)
    assert [c.label for c in choices] == [
        "Groq / llama-3.1-8b-instant",
        "Groq / typed-by-hand",
        "Groq / listed-only",
        "stapi / gpt-4o",
    ]
    assert [c.source for c in choices] == ["profile", "profile", "list", "profile"]
    assert format_price(choices[2].price) == "$1 / $2 per 1M"
    assert format_price(None) == ""


async def test_refresh_fetches_through_the_client_and_caches(paths: AppPaths) -> None:
    class FakeClient:
        async def list_models(self) -> SimpleNamespace:
            return SimpleNamespace(
                models=[{"id": "b"}, {"id": "a", "pricing": {"input": 1, "output": 2}}]
            )

    cache = ModelsCache(paths.cache / "models")
    cached = await cache.refresh("p", FakeClient())
    assert cached.ids == ["a", "b"]
    assert ModelsCache(paths.cache / "models").get("p") == cached
    assert cached.age() >= timedelta(0)
    assert cached.age(cached.fetched_at + timedelta(hours=2)) == timedelta(hours=2)
