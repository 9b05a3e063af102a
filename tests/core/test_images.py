"""The image job against a real store and the local server (both styles of provider)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.api import ProviderProfile
from app.api.profiles import ModelPrice
from app.core.clients import ClientPool
from app.core.context import AppContext
from app.core.images import (
    ImageJob,
    ImageJobError,
    ImageRequest,
    image_options,
    image_type,
    parse_extra,
    parse_size,
)
from app.paths import AppPaths
from app.store import SearchFilters
from tests.helpers.app_context import open_context
from tests.helpers.openai_server import OpenAIServer, png_bytes
from tests.helpers.waiting import until


def _profile(server: OpenAIServer, **changes: object) -> ProviderProfile:
    fields: dict[str, object] = {
        "id": "local",
        "name": "Local test",
        "base_url": server.base_url,
        "kind": "local",
        "key_required": False,
        "capabilities": {"images": True},
        "chat_image_models": ["flux"],
        "prices": {"dall-e-test": ModelPrice(per_image=0.04), "flux": ModelPrice(per_image=0.01)},
    }
    fields.update(changes)
    return ProviderProfile.model_validate(fields)


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path))
    context.registry.add(_profile(openai_server))
    context.registry.add(
        _profile(openai_server, id="starry", name="Starry", image_size_separator="*", prices={})
    )
    yield context
    await context.close()


@pytest.fixture(autouse=True)
def no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_wait(_seconds: float) -> None:
        return None

    monkeypatch.setattr("app.api.base._sleep", no_wait)


async def _ledger(ctx: AppContext) -> list[dict[str, object]]:
    return list(reversed(await ctx.store.usage_entries()))


# --- the images endpoint ---------------------------------------------------------------------


async def test_b64_images_are_stored_with_their_settings_and_cost(ctx: AppContext) -> None:
    request = ImageRequest(
        "local", "dall-e-test", "a red fox in snow", n=2, size="64x48", quality="hd",
        style="natural", response_format="b64_json", extra={"seed": 7},
    )  # fmt: skip
    progress: list[str] = []
    outcome = await ImageJob(ctx.store, ctx.clients, request, progress=progress.append).run()
    generation = outcome.generation
    assert outcome.problems == []
    assert len(generation.images) == 2
    for ref in generation.images:
        data = ctx.store.blob_path(ref).read_bytes()
        assert ref.mime == "image/png" and data.startswith(b"\x89PNG")
        assert data[16:24] == (64).to_bytes(4, "big") + (48).to_bytes(4, "big")  # IHDR size
    assert generation.params["size"] == "64x48" and generation.params["extra"] == {"seed": 7}
    assert generation.params["via"] == "images"
    assert generation.cost == pytest.approx(0.08)
    assert ImageRequest.from_generation(generation) == request
    assert progress[0].startswith("Waiting for Local test")
    rows = await _ledger(ctx)
    assert [(r["endpoint"], r["images"], r["status"]) for r in rows] == [("images", 2, "ok")]
    assert rows[0]["cost"] == pytest.approx(0.08)


async def test_url_images_are_downloaded_through_the_client(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    request = ImageRequest(
        "local", "dall-e-test", "a lighthouse", size="32x32", response_format="url"
    )
    outcome = await ImageJob(ctx.store, ctx.clients, request).run()
    assert len(outcome.generation.images) == 1
    assert any(r.path.startswith("/files/") for r in openai_server.requests)
    ref = outcome.generation.images[0]
    assert image_type(ctx.store.blob_path(ref).read_bytes()) == "image/png"


async def test_size_is_spelled_the_providers_way(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    request = ImageRequest("starry", "dall-e-test?flavor=seed002", "a cat", size="40x30")
    outcome = await ImageJob(ctx.store, ctx.clients, request).run()
    assert openai_server.requests[-1].json["size"] == "40*30"
    assert outcome.generation.params["size_sent"] == "40*30"
    assert outcome.generation.cost is None  # no price known
    # The same provider spelled the other way refuses, in plain words.
    with pytest.raises(ImageJobError, match="size"):
        await ImageJob(
            ctx.store,
            ctx.clients,
            ImageRequest("local", "dall-e-test?flavor=seed002", "a cat", size="40x30"),
        ).run()


# --- chat-image models -------------------------------------------------------------------------


async def test_chat_image_model_answers_with_a_downloaded_image(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    outcome = await ImageJob(
        ctx.store, ctx.clients, ImageRequest("local", "flux", "a blue bird", n=2)
    ).run()
    assert len(outcome.generation.images) == 2  # the server draws the same picture twice
    chats = [r for r in openai_server.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 2 and chats[0].json["messages"] == [
        {"role": "user", "content": "a blue bird"}
    ]
    assert outcome.generation.params["via"] == "chat"
    rows = await _ledger(ctx)
    assert [(r["endpoint"], r["images"]) for r in rows] == [("chat", 1), ("chat", 1)]
    assert sum(float(r["cost"]) for r in rows) == pytest.approx(0.02)
    assert outcome.generation.cost == pytest.approx(0.02)


async def test_chat_model_answering_text_is_a_clear_error(ctx: AppContext) -> None:
    ctx.registry.replace(_profile_of(ctx, chat_image_models=["gpt-test"]))
    with pytest.raises(ImageJobError, match="text instead of an image"):
        await ImageJob(ctx.store, ctx.clients, ImageRequest("local", "gpt-test", "a tree")).run()
    assert ctx.store.list_image_generations() == []
    assert [r["endpoint"] for r in await _ledger(ctx)] == ["chat"]


def _profile_of(ctx: AppContext, **changes: object) -> ProviderProfile:
    profile = ctx.registry.get("local")
    assert profile is not None
    return profile.model_copy(update=changes)


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("dall-e-test?fault=402", "credit"),
        ("dall-e-test?fault=429&retry_after=0", "rate"),
        ("dall-e-test?fault=500", "500"),
        ("dall-e-test?fault=502", "502"),
        ("flux?fault=504&delay=0", "504"),
    ],
)
async def test_provider_errors_are_plain_and_accounted(
    ctx: AppContext, model: str, words: str
) -> None:
    with pytest.raises(ImageJobError) as caught:
        await ImageJob(ctx.store, ctx.clients, ImageRequest("local", model, "x")).run()
    message = caught.value.user_message
    assert words in message.lower() and "<" not in message
    rows = await _ledger(ctx)
    assert rows and all(str(r["status"]).startswith("error:") for r in rows)
    assert ctx.store.list_image_generations() == []


async def test_unknown_provider_and_bad_requests(ctx: AppContext) -> None:
    with pytest.raises(ImageJobError, match="not configured"):
        await ImageJob(ctx.store, ctx.clients, ImageRequest("nobody", "m", "x")).run()
    with pytest.raises(ImageJobError, match="prompt is empty"):
        await ImageJob(ctx.store, ctx.clients, ImageRequest("local", "m", "  ")).run()
    with pytest.raises(ImageJobError, match="1 to 10"):
        await ImageJob(ctx.store, ctx.clients, ImageRequest("local", "m", "x", n=11)).run()
    with pytest.raises(ImageJobError, match="positive"):
        await ImageJob(ctx.store, ctx.clients, ImageRequest("local", "m", "x", size="0x5")).run()
    assert await ctx.store.usage_entries() == []  # refused before sending: no call to account


async def test_bad_links_and_non_images_are_named_and_the_rest_kept(
    ctx: AppContext, tmp_path: Path
) -> None:
    png = png_bytes(8, 8, "ok")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/images/generations"):
            return httpx.Response(200, json={"data": [
                {"url": "https://cdn.example/a.png"},
                {"url": "https://cdn.example/page"},
                {"url": "https://cdn.example/gone.png"},
                {"url": "https://cdn.example/lies.png"},
                {"b64_json": base64.b64encode(b"hello").decode()},
                {"url": "ftp://cdn.example/x.png"},
                {},
            ]})  # fmt: skip
        if request.url.path == "/a.png":
            return httpx.Response(200, content=png, headers={"content-type": "image/png"})
        if request.url.path == "/page":
            return httpx.Response(
                200, text="<html>hi</html>", headers={"content-type": "text/html"}
            )
        if request.url.path == "/lies.png":
            return httpx.Response(200, content=b"not really", headers={"content-type": "image/png"})
        return httpx.Response(404, json={"error": {"message": "no such file"}})

    pool = ClientPool(
        ctx.registry,
        ctx.keys,
        ctx.settings,
        transport_factory=lambda _p: httpx.MockTransport(handler),
    )
    try:
        outcome = await ImageJob(ctx.store, pool, ImageRequest("local", "dall-e-test", "x")).run()
    finally:
        await pool.aclose()
    assert len(outcome.generation.images) == 1
    problems = " | ".join(outcome.problems)
    assert len(outcome.problems) == 6, problems
    assert "did not return an image (it returned text/html)" in outcome.problems[0]
    assert "404" in outcome.problems[1]
    assert "not a picture" in outcome.problems[2] and "not a picture" in outcome.problems[3]
    assert "http" in outcome.problems[4] and "neither data nor a link" in outcome.problems[5]
    rows = await _ledger(ctx)
    assert rows[0]["images"] == 7 and rows[0]["cost"] == pytest.approx(0.28)  # billed as sent


async def test_all_images_bad_is_an_error(ctx: AppContext) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"data": [{"b64_json": base64.b64encode(b"<svg/>").decode()}]}
        )

    pool = ClientPool(
        ctx.registry,
        ctx.keys,
        ctx.settings,
        transport_factory=lambda _p: httpx.MockTransport(handler),
    )
    try:
        with pytest.raises(ImageJobError, match="not a picture"):
            await ImageJob(ctx.store, pool, ImageRequest("local", "dall-e-test", "x")).run()
    finally:
        await pool.aclose()
    assert ctx.store.list_image_generations() == []


# --- cancel ------------------------------------------------------------------------------------


async def test_cancel_stops_and_keeps_nothing_half_done(
    ctx: AppContext, openai_server: OpenAIServer
) -> None:
    request = ImageRequest("local", "dall-e-test?delay=1.5", "slow")
    task = asyncio.create_task(ImageJob(ctx.store, ctx.clients, request).run())
    await until(lambda: any(r.path.endswith("/images/generations") for r in openai_server.requests))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ctx.store.list_image_generations() == []
    rows = await _ledger(ctx)
    assert [(r["endpoint"], r["status"]) for r in rows] == [("images", "stopped")]


# --- offline -----------------------------------------------------------------------------------


async def test_saved_images_browse_offline_after_reopening(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    paths = AppPaths.from_root(tmp_path / "again")
    first = await open_context(paths)
    first.registry.add(_profile(openai_server))
    request = ImageRequest("local", "dall-e-test", "an orange submarine", size="24x24")
    made = (await ImageJob(first.store, first.clients, request).run()).generation
    await first.close()
    openai_server.stop()
    second = await open_context(paths)
    try:
        [kept] = second.store.list_image_generations()
        assert kept.id == made.id and kept.prompt == "an orange submarine"
        assert second.store.blob_path(kept.images[0]).read_bytes().startswith(b"\x89PNG")
        hits = await second.store.search("submarine", SearchFilters(kinds=("image",)))
        assert [h.kind for h in hits] == ["image"]
    finally:
        await second.close()


# --- small parts -------------------------------------------------------------------------------


def test_parse_extra() -> None:
    assert parse_extra("") == {}
    assert parse_extra('{"seed": 42, "negative_prompt": "blur"}') == {
        "seed": 42,
        "negative_prompt": "blur",
    }
    with pytest.raises(ImageJobError, match=r"not valid JSON \(line 1, column 10"):
        parse_extra('{"seed": }')
    with pytest.raises(ImageJobError, match="JSON object"):
        parse_extra("[1, 2]")
    with pytest.raises(ImageJobError, match="model, prompt"):
        parse_extra(json.dumps({"prompt": "x", "model": "y"}))


def test_parse_size_and_options(openai_server: OpenAIServer) -> None:
    assert parse_size("1024x768") == (1024, 768)
    assert parse_size(" 512 * 512 ") == (512, 512)
    assert parse_size("auto") is None and parse_size("0x5") is None
    plain = image_options(_profile(openai_server), "dall-e-test")
    assert not plain.via_chat and "url" in plain.formats and plain.qualities
    assert plain.spell("512x512") == "512x512"
    star = image_options(_profile(openai_server, image_size_separator="*"), "sdxl")
    assert star.formats == ("b64_json",) and not star.qualities and not star.styles
    assert star.spell("512x512") == "512*512" and star.spell("auto") == "auto"
    chat = image_options(_profile(openai_server), "flux")
    assert chat.via_chat and not chat.sizes and not chat.formats
    told = image_options(
        _profile(openai_server, capabilities={"images": True, "image_qualities": ["auto", "high"]}),
        "gpt-image-1",
    )
    assert told.qualities == ("auto", "high")


def test_image_type() -> None:
    assert image_type(png_bytes(4, 4, "x")) == "image/png"
    assert image_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert image_type(b"GIF89a....") == "image/gif"
    assert image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert image_type(b"<html>") is None
