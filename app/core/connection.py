"""Test connection: list a provider's models and say what went wrong in plain words.

The providers dialog and `palaver providers test` share it: :func:`check_connection` is a
coroutine (the dialog runs it as an owned task), and
:func:`describe_failure` turns the client's error tree into a headline plus a hint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from app import log
from app.api import Endpoint, ProviderProfile
from app.core.discovery import is_loopback
from app.core.keys import KeyStore, KeyStoreError
from app.settings import Settings

_log = log.get("core.connection")


class ModelLister(Protocol):
    async def list_models(self) -> Any: ...

    async def chat(self, request: Any) -> Any: ...

    async def aclose(self) -> None: ...


ClientFactory = Callable[[ProviderProfile, str | None], ModelLister]


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    headline: str
    detail: str = ""
    models: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    checked: bool = True  # False when nothing could be asked over the network
    # The call itself, for the usage ledger: the listing (with its metadata) or the error.
    listing: Any = None
    error: Exception | None = None

    @property
    def model_ids(self) -> list[str]:
        return [str(getattr(m, "id", m)) for m in self.models]


async def check_with_saved_key(
    profile: ProviderProfile,
    typed_key: str | None,
    keys: KeyStore,
    key_owner: str,
    make_client: ClientFactory,
    *,
    probe: bool = False,
) -> ConnectionResult:
    """Test ``profile`` with ``typed_key``, else the key saved for ``key_owner`` (the
    keyring or the profile's environment variable); a key that cannot be read, or none
    where one is needed, is a failed result that says so."""
    key = typed_key or None
    if key is None:
        try:
            resolved = await keys.get(key_owner, profile.key_env)
        except KeyStoreError as error:
            return ConnectionResult(False, error.user_message, checked=False)
        key = resolved.value if resolved is not None else None
    if key is None and profile.key_required and profile.capabilities.model_list:
        return ConnectionResult(
            False, "No key yet: paste the provider's API key first.", checked=False
        )
    return await check_connection(profile, key, make_client, probe=probe)


async def check_connection(
    profile: ProviderProfile, key: str | None, make_client: ClientFactory, *, probe: bool = False
) -> ConnectionResult:
    """Ask ``profile`` for its model list with ``key``; never raises an :class:`ApiError`.
    A provider without a list is checked only with ``probe``: a one-token message to its
    first model (which may cost a token)."""
    from app.api import ApiError

    if not profile.capabilities.model_list:
        if probe and profile.models:
            return await probe_connection(profile, key, make_client, profile.models[0])
        return ConnectionResult(
            True,
            "This provider has no model list, so there is nothing to ask without sending a message.",
            "Test with one token sends a one-token message to its first model (it may cost a "
            "token). The models named under Models & prices are offered in the model picker.",
            [*profile.models],
            checked=False,
        )
    started = time.perf_counter()
    client = make_client(profile, key)
    try:
        listing = await client.list_models()
    except ApiError as error:
        headline, hint = describe_failure(error, profile)
        seconds = time.perf_counter() - started
        return ConnectionResult(False, headline, hint, seconds=seconds, error=error)
    finally:
        await client.aclose()
    models = list(getattr(listing, "models", listing))
    seconds = time.perf_counter() - started
    count = len(models)
    if count == 0:
        headline = "Connected, but the provider lists no models. Add the models you use by hand."
    else:
        headline = f"Connected: {count} model{'s' if count != 1 else ''} available."
    detail = f"Answered in {seconds:.1f} s."
    return ConnectionResult(True, headline, detail, models, seconds, listing=listing)


async def probe_connection(
    profile: ProviderProfile, key: str | None, make_client: ClientFactory, model: str
) -> ConnectionResult:
    """Check the key with a one-token message to ``model`` (max_tokens 1)."""
    from app.api import ApiError

    started = time.perf_counter()
    client = make_client(profile, key)
    request = {"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
    try:
        result = await client.chat(request)
    except ApiError as error:
        headline, hint = describe_failure(error, profile)
        return ConnectionResult(
            False, headline, hint, seconds=time.perf_counter() - started, error=error
        )
    finally:
        await client.aclose()
    seconds = time.perf_counter() - started
    return ConnectionResult(
        True,
        f"The key works: {model} answered a one-token test message.",
        f"Answered in {seconds:.1f} s; the provider may bill that token.",
        [*profile.models],
        seconds,
        listing=result,
    )


def describe_failure(error: Exception, profile: ProviderProfile) -> tuple[str, str]:
    """(headline, what to do) for a failed model list, in words a user can act on."""
    from app.api import (
        ApiConnectionError,
        ApiTimeoutError,
        AuthenticationError,
        InsufficientCreditsError,
        MalformedResponseError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        TLSError,
    )

    url = profile.url(Endpoint.MODELS)
    host = urlsplit(profile.base_url).netloc
    said = getattr(error, "user_message", str(error))
    if isinstance(error, AuthenticationError):
        if profile.key_required:
            return (
                "Wrong key: the provider refused it (401).",
                "Paste the key again (check for missing characters) or create a new one in the provider's dashboard.",
            )
        return (
            "The provider wants a key (401).",
            "Tick \u201cNeeds an API key\u201d and enter one.",
        )
    if isinstance(error, PermissionDeniedError):
        return ("The key is valid but may not list models (403).", said)
    if isinstance(error, NotFoundError):
        return (
            f"Wrong path: nothing at {url} (404).",
            "Check the base URL (it usually ends in /v1) and the model-list path under Paths & headers.",
        )
    if isinstance(error, TLSError):
        return (
            f"TLS error: a secure connection to {host} failed.",
            "The certificate was refused, or the server does not speak https (try http:// for a local server). "
            + said,
        )
    if isinstance(error, ApiConnectionError):
        return (
            f"Offline or refused: could not reach {host}.",
            "Check the network, the host and port, and that the server is running.",
        )
    if isinstance(error, ApiTimeoutError):
        return (
            f"Timed out: {host} did not answer in time.",
            "The server may be overloaded or the URL points elsewhere.",
        )
    if isinstance(error, MalformedResponseError):
        return (
            "Not an OpenAI-compatible answer (an HTML page or other text came back).",
            f"Check the base URL: {url} should return a JSON model list. " + said,
        )
    if isinstance(error, RateLimitError):
        return ("Rate limited (429): the key works, but the provider asks to slow down.", said)
    if isinstance(error, InsufficientCreditsError):
        return ("The key works, but the balance is empty (402).", said)
    return ("The provider answered with an error.", said)


def default_presets() -> list[ProviderProfile]:
    """The bundled presets, or none when they cannot be read (the dialog still works)."""
    try:
        from app.api import load_presets

        return list(load_presets())
    except (ImportError, OSError, ValueError) as error:
        _log.warning("provider presets unavailable: %s", error)
        return []


def client_factory_for(settings: Settings | None) -> ClientFactory:
    """Clients for the test connection, honouring the user's proxy and (capped) timeout."""

    def make(profile: ProviderProfile, key: str | None) -> ModelLister:
        from app.api import ApiClient

        timeout = min(settings.request_timeout, 20.0) if settings else 20.0
        if is_loopback(profile.base_url):
            # A local server is reached directly, never through the user's proxy; an
            # explicit transport makes httpx ignore HTTP(S)_PROXY.
            import httpx

            direct: ModelLister = ApiClient(
                profile, key, timeout=timeout, max_retries=0, transport=httpx.AsyncHTTPTransport()
            )
            return direct
        proxy = settings.proxy_url if settings else None
        client: ModelLister = ApiClient(profile, key, timeout=timeout, proxy=proxy, max_retries=0)
        return client

    return make
