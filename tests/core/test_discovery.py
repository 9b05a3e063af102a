"""Discovery: the OpenAI SDK environment variables and local servers on their usual ports."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

import pytest

from app.api.profiles import ProviderProfile
from app.core.discovery import (
    LOCAL_SERVERS,
    LocalServer,
    discover,
    from_environment,
    is_loopback,
    local_profile,
    probe_local,
)
from tests.helpers.openai_server import OpenAIServer

FAKE_KEY = "sk-test-not-a-real-key"

OLLAMA_PRESET = ProviderProfile(
    id="ollama",
    name="Ollama",
    base_url="http://localhost:11434/v1",
    kind="local",
    key_required=False,
    notes="preset",
)


def test_nothing_set_finds_nothing() -> None:
    assert from_environment({}) == []


def test_openai_key_alone_means_openai_with_the_key_read_from_the_environment() -> None:
    (found,) = from_environment({"OPENAI_API_KEY": FAKE_KEY})
    assert found.source == "environment"
    assert found.profile.base_url == "https://api.openai.com/v1"
    assert found.profile.key_env == "OPENAI_API_KEY"
    assert "OPENAI_API_KEY is set" in found.description
    assert FAKE_KEY not in found.profile.model_dump_json() and FAKE_KEY not in found.description


def test_base_url_points_at_another_server() -> None:
    (found,) = from_environment(
        {"OPENAI_API_KEY": FAKE_KEY, "OPENAI_BASE_URL": "https://llm.example.org/v1/"}
    )
    assert found.profile.base_url == "https://llm.example.org/v1"
    assert found.profile.id == "llm.example.org" and found.profile.kind == "custom"
    assert "OPENAI_API_KEY and OPENAI_BASE_URL are set" in found.description


def test_base_url_without_key_needs_no_key_and_uses_a_matching_preset() -> None:
    (found,) = from_environment({"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}, [OLLAMA_PRESET])
    assert found.profile.notes == "preset"  # the Ollama preset, recognised by host and port
    assert found.profile.key_required is False


def test_a_base_url_that_is_not_http_is_ignored() -> None:
    assert from_environment({"OPENAI_BASE_URL": "file:///etc/passwd"}) == []


async def test_probe_keeps_only_ports_that_list_models() -> None:
    asked: list[str] = []

    async def probe(profile: ProviderProfile, seconds: float) -> list[str]:
        asked.append(profile.base_url)
        if ":11434/" in profile.base_url:
            return ["llama3.2", "qwen2.5"]
        if ":8080/" in profile.base_url:
            await asyncio.sleep(60)  # accepts, never answers: the outer bound cuts it short
        raise ConnectionRefusedError

    found = await probe_local([OLLAMA_PRESET], probe=probe, seconds=0.05)
    assert sorted(asked) == sorted(f"http://127.0.0.1:{s.port}/v1" for s in LOCAL_SERVERS)
    assert [f.profile.id for f in found] == ["ollama"]
    assert (
        found[0].profile.notes == "preset"
        and found[0].profile.base_url == "http://127.0.0.1:11434/v1"
    )
    assert found[0].models == ["llama3.2", "qwen2.5"]
    assert found[0].description == "Ollama answers on 127.0.0.1:11434 (2 models)"


def test_is_loopback() -> None:
    assert is_loopback("http://localhost:1234/v1") and is_loopback("http://[::1]:8000/v1")
    assert not is_loopback("https://api.openai.com/v1")


def test_local_profile_without_preset_needs_no_key() -> None:
    profile = local_profile(LocalServer("vllm", "vLLM", 8000), "127.0.0.1", [])
    assert (profile.base_url, profile.kind, profile.key_required) == (
        "http://127.0.0.1:8000/v1",
        "local",
        False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_real_probe_through_the_api_client_finds_the_test_server(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy in the environment must not swallow loopback probes.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{_free_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    port = urlsplit(openai_server.base_url).port
    assert port is not None
    servers = [
        LocalServer("llamacpp", "llama.cpp", port),
        LocalServer("vllm", "vLLM", _free_port()),
    ]
    found = await discover([], {"OPENAI_API_KEY": FAKE_KEY}, servers=servers, seconds=2.0)
    assert [f.source for f in found] == ["environment", "local"]
    assert found[1].profile.name == "llama.cpp" and found[1].models
    assert all(r.path.endswith("/v1/models") for r in openai_server.requests)
