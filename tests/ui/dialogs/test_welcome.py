"""The first-run welcome: leads to the providers dialog and offers what discovery found."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pytestqt.qtbot import QtBot

from app.api.profiles import ProviderProfile
from app.core.discovery import Discovered, LocalServer, discover
from app.core.providers import ProviderRegistry
from app.paths import AppPaths
from app.ui.dialogs.welcome import WelcomePanel
from tests.helpers.openai_server import OpenAIServer

FAKE_KEY = "sk-test-not-a-real-key-welcome"


async def until(condition: Callable[[], object], seconds: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():  # noqa: ASYNC110 - Qt state has no asyncio.Event to wait on
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), seconds)


def files_containing(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.fixture
def registry(data_dir: Path) -> ProviderRegistry:
    return ProviderRegistry.load(AppPaths.from_root(data_dir).ensure().providers_file)


def found(profile_id: str, base_url: str, description: str) -> Discovered:
    profile = ProviderProfile(
        id=profile_id, name=profile_id.title(), base_url=base_url, kind="local", key_required=False
    )
    return Discovered(profile, "local", description, ["m1"])


async def test_offers_what_was_found_and_adds_it_in_one_click(
    qtbot: QtBot, registry: ProviderRegistry
) -> None:
    registry.add(ProviderProfile(id="vllm", name="vLLM", base_url="http://127.0.0.1:8000/v1"))

    async def fake_discover() -> list[Discovered]:
        return [
            found(
                "ollama", "http://127.0.0.1:11434/v1", "Ollama answers on 127.0.0.1:11434 (1 model)"
            ),
            found("vllm", "http://127.0.0.1:8000/v1", "vLLM answers on 127.0.0.1:8000 (1 model)"),
        ]

    panel = WelcomePanel(registry, discover_fn=fake_discover)
    qtbot.addWidget(panel)
    counts: list[int] = []
    panel.discovery_finished.connect(counts.append)
    panel.show()  # showing starts the search
    await until(lambda: counts)
    assert counts == [2]
    ollama, vllm = panel.add_buttons["ollama"], panel.add_buttons["vllm"]
    assert ollama.isEnabled() and ollama.accessibleName() == "Add Ollama"
    assert not vllm.isEnabled() and vllm.text() == "Already added"

    with qtbot.waitSignal(panel.provider_added) as blocker:
        ollama.click()
    assert blocker.args == ["ollama"]
    assert registry.get("ollama") is not None
    assert not ollama.isEnabled() and ollama.text() == "Added"
    assert "Added Ollama" in panel.status_label.text()


async def test_nothing_found_says_so_and_can_look_again(
    qtbot: QtBot, registry: ProviderRegistry
) -> None:
    calls: list[int] = []

    async def nothing() -> list[Discovered]:
        calls.append(1)
        return []

    panel = WelcomePanel(registry, discover_fn=nothing)
    qtbot.addWidget(panel)
    counts: list[int] = []
    panel.discovery_finished.connect(counts.append)
    panel.start_discovery()
    await until(lambda: counts)
    assert "Nothing found" in panel.status_label.text()
    panel.rescan_button.click()
    await until(lambda: len(counts) == 2)
    assert len(calls) == 2


async def test_buttons_lead_to_the_providers_dialog_and_settings(
    qtbot: QtBot, registry: ProviderRegistry
) -> None:
    async def nothing() -> list[Discovered]:
        return []

    panel = WelcomePanel(registry, discover_fn=nothing)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.providers_requested):
        panel.add_button.click()
    with qtbot.waitSignal(panel.settings_requested):
        panel.settings_button.click()


async def test_real_discovery_finds_the_environment_and_a_local_server(
    qtbot: QtBot, registry: ProviderRegistry, openai_server: OpenAIServer, data_dir: Path
) -> None:
    port = urlsplit(openai_server.base_url).port
    assert port is not None
    env = {"OPENAI_API_KEY": FAKE_KEY}
    panel = WelcomePanel(
        registry,
        discover_fn=lambda: discover(
            [], env, servers=[LocalServer("llamacpp", "llama.cpp", port)], seconds=2.0
        ),
    )
    qtbot.addWidget(panel)
    counts: list[int] = []
    panel.discovery_finished.connect(counts.append)
    panel.start_discovery()
    await until(lambda: counts)
    assert counts == [2]
    assert set(panel.add_buttons) == {"openai", "llamacpp"}
    panel.add_buttons["openai"].click()
    panel.add_buttons["llamacpp"].click()
    openai = registry.get("openai")
    assert openai is not None and openai.key_env == "OPENAI_API_KEY"
    assert registry.get("llamacpp").base_url == openai_server.base_url  # type: ignore[union-attr]
    # The environment's key is read when needed, never copied into a file.
    assert files_containing(data_dir, FAKE_KEY) == []


async def test_hiding_cancels_a_search_under_way(qtbot: QtBot, registry: ProviderRegistry) -> None:
    started = asyncio.Event()

    async def slow() -> list[Discovered]:
        started.set()
        await asyncio.sleep(60)
        return []

    panel = WelcomePanel(registry, discover_fn=slow)
    qtbot.addWidget(panel)
    panel.show()
    await asyncio.wait_for(started.wait(), 5)
    assert panel.tasks.running("discover")
    panel.hide()
    assert not panel.tasks.running("discover")
    assert panel.rescan_button.isEnabled()
