"""Providers Palaver can find by itself, offered on first run with one click each.

- The official SDKs' convention: ``OPENAI_API_KEY`` (and ``OPENAI_BASE_URL``). The profile
  offered names the variable in ``key_env``, so the key is read from the environment
  when needed and never copied anywhere.
- Local servers answering on loopback at their usual ports: Ollama 11434, LM Studio 1234,
  llama.cpp 8080, vLLM 8000. All are probed at once, each with a short timeout; a port
  counts only when it answers a model list (another web server on 8080 does not).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from app import log
from app.api.profiles import Capabilities, ProviderProfile
from app.core.providers import slug

_log = log.get("core.discovery")

OPENAI_BASE_URL = "https://api.openai.com/v1"
KEY_VAR = "OPENAI_API_KEY"
BASE_VAR = "OPENAI_BASE_URL"


@dataclass(frozen=True)
class LocalServer:
    id: str
    name: str
    port: int


LOCAL_SERVERS: tuple[LocalServer, ...] = (
    LocalServer("ollama", "Ollama", 11434),
    LocalServer("lmstudio", "LM Studio", 1234),
    LocalServer("llamacpp", "llama.cpp", 8080),
    LocalServer("vllm", "vLLM", 8000),
)


@dataclass(frozen=True)
class Discovered:
    """A provider found without asking; ``profile`` is ready to add to the registry."""

    profile: ProviderProfile
    source: str  # "environment" | "local"
    description: str
    models: list[str] = field(default_factory=list)


ModelProbe = Callable[[ProviderProfile, float], Awaitable[list[str]]]


def from_environment(
    environ: Mapping[str, str] | None = None, presets: Sequence[ProviderProfile] = ()
) -> list[Discovered]:
    """A profile for ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` when either is set."""
    env = os.environ if environ is None else environ
    key = env.get(KEY_VAR, "").strip()
    base = env.get(BASE_VAR, "").strip().rstrip("/")
    if not key and not base:
        return []
    base = base or OPENAI_BASE_URL
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        _log.info("ignoring %s: not an http(s) URL", BASE_VAR)
        return []
    is_openai = (parts.hostname or "").endswith("api.openai.com")
    preset = _preset_for(presets, base)
    if preset is not None:
        profile = preset.model_copy(
            deep=True, update={"key_env": KEY_VAR if key else preset.key_env}
        )
    elif is_openai:
        profile = ProviderProfile(id="openai", name="OpenAI", base_url=base, key_env=KEY_VAR)
    else:
        host = parts.hostname or "custom"
        local = host in _LOOPBACK
        profile = ProviderProfile(
            id=slug(host),
            name=f"{host} (from {BASE_VAR})",
            base_url=base,
            kind="local" if local else "custom",
            key_required=bool(key),
            key_env=KEY_VAR if key else None,
        )
    what = f"{KEY_VAR} is set" if key else f"{BASE_VAR} is set"
    if key and env.get(BASE_VAR):
        what = f"{KEY_VAR} and {BASE_VAR} are set"
    return [Discovered(profile, "environment", f"{what}: {profile.name} at {base}")]


async def probe_local(
    presets: Sequence[ProviderProfile] = (),
    *,
    servers: Sequence[LocalServer] = LOCAL_SERVERS,
    host: str = "127.0.0.1",
    seconds: float = 1.5,
    probe: ModelProbe | None = None,
) -> list[Discovered]:
    """Ask every usual local port for its model list at once; keep those that answer."""
    probe = probe or list_models
    profiles = [local_profile(server, host, presets) for server in servers]
    results = await asyncio.gather(
        *(_try(probe, profile, seconds) for profile in profiles), return_exceptions=False
    )
    found: list[Discovered] = []
    for server, profile, models in zip(servers, profiles, results, strict=True):
        if models is None:
            continue
        count = f"{len(models)} model{'s' if len(models) != 1 else ''}"
        found.append(
            Discovered(
                profile, "local", f"{server.name} answers on {host}:{server.port} ({count})", models
            )
        )
    return found


async def discover(
    presets: Sequence[ProviderProfile] = (),
    environ: Mapping[str, str] | None = None,
    *,
    probe: ModelProbe | None = None,
    seconds: float = 1.5,
    servers: Sequence[LocalServer] = LOCAL_SERVERS,
) -> list[Discovered]:
    """Environment first, then whatever local servers answered."""
    local = await probe_local(presets, servers=servers, seconds=seconds, probe=probe)
    return from_environment(environ, presets) + local


def local_profile(
    server: LocalServer, host: str, presets: Sequence[ProviderProfile]
) -> ProviderProfile:
    """The preset of that server, pointed at ``host:port``; a minimal profile without one."""
    base = f"http://{host}:{server.port}/v1"
    preset = next((p for p in presets if p.id == server.id), None) or _preset_for(presets, base)
    if preset is not None:
        return preset.model_copy(deep=True, update={"base_url": base})
    return ProviderProfile(
        id=server.id,
        name=server.name,
        base_url=base,
        kind="local",
        key_required=False,
        capabilities=Capabilities(chat=True, streaming=True, embeddings=True),
    )


async def list_models(profile: ProviderProfile, seconds: float) -> list[str]:
    """The model ids ``profile`` lists, via the app's own client (no key: local servers)."""
    import httpx

    from app.api import ApiClient

    # An explicit transport makes httpx ignore HTTP(S)_PROXY: loopback must never go
    # through a proxy (it would answer for, or hide, the local server). The probes are plain
    # http on loopback, so no certificate store is loaded (~35 ms per probe at start-up).
    client = ApiClient(
        profile,
        None,
        timeout=seconds,
        max_retries=0,
        transport=httpx.AsyncHTTPTransport(verify=False),
    )
    try:
        listing = await client.list_models()
        return [m.id for m in listing.models]
    finally:
        await client.aclose()


async def _try(probe: ModelProbe, profile: ProviderProfile, seconds: float) -> list[str] | None:
    try:
        # The outer bound covers a server that accepts the connection and never answers.
        return await asyncio.wait_for(probe(profile, seconds), seconds + 0.5)
    except asyncio.CancelledError:
        raise
    except Exception as error:
        # Anything but a model list means "no usable server here": refused, 404, HTML...
        _log.debug("no server at %s: %s", profile.base_url, type(error).__name__)
        return None


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def is_loopback(base_url: str) -> bool:
    """Whether ``base_url`` names this computer (127.0.0.1, localhost, ::1)."""
    return (urlsplit(base_url).hostname or "").lower() in _LOOPBACK


def _host_key(host: str | None) -> str:
    host = (host or "").lower()
    return "loopback" if host in _LOOPBACK else host


def _preset_for(presets: Sequence[ProviderProfile], base_url: str) -> ProviderProfile | None:
    """The preset serving the same host and port (``localhost`` and ``127.0.0.1`` alike)."""
    wanted = urlsplit(base_url)
    for preset in presets:
        got = urlsplit(preset.base_url)
        if got.port == wanted.port and _host_key(got.hostname) == _host_key(wanted.hostname):
            return preset
    return None
