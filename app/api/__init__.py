"""The internal async client for OpenAI-compatible APIs (no Qt, no widgets).

Flat modules behind this curated surface: ``client`` (ApiClient: its text endpoints, on
``media``'s images, speech and transcription, on ``base``'s sending), ``streaming`` (chat,
completion and speech streams), ``sse`` (the SSE decoder), ``types`` (requests, results,
metadata), ``errors`` (the error tree), ``retry``, ``meta`` (headers → metadata),
``profiles`` and ``presets``; ``wire`` is the seam between the client and its streams.

Names load lazily (PEP 562): ``from app.api import ProviderProfile`` imports only the
profiles module, so start-up does not pay for httpx and the client until the first call.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.api.client import ApiClient
    from app.api.errors import (
        ApiConnectionError,
        ApiError,
        ApiStatusError,
        ApiTimeoutError,
        AuthenticationError,
        BadGatewayError,
        BadRequestError,
        ConflictError,
        GatewayTimeoutError,
        InsufficientCreditsError,
        InternalServerError,
        MalformedResponseError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        RequestValidationError,
        ServiceUnavailableError,
        StreamInterruptedError,
        TLSError,
    )
    from app.api.meta import parse_rate_limit
    from app.api.presets import load_presets
    from app.api.profiles import (
        DEFAULT_PATHS,
        Capabilities,
        Endpoint,
        ModelPrice,
        ProviderProfile,
        RateLimitHeaders,
    )
    from app.api.retry import (
        RetryPolicy,
        Waiting,
        WaitReporter,
        reporting_waits,
        wait_out,
        wait_words,
    )
    from app.api.sse import SSEDecoder
    from app.api.streaming import ChatStream, CompletionStream, SpeechStream
    from app.api.types import (
        CallMeta,
        ChatChoice,
        ChatDelta,
        ChatMessage,
        ChatRequest,
        ChatResult,
        CompletionDelta,
        CompletionResult,
        EmbeddingResult,
        ImageItem,
        ImageResult,
        ModelInfo,
        ModelList,
        ModerationResult,
        RateLimitStatus,
        SpeechResult,
        ToolCall,
        TranscriptionResult,
        Usage,
        estimate_tokens,
        image_part,
        user_message,
    )

_WHERE = {
    "DEFAULT_PATHS": "app.api.profiles",
    "ApiClient": "app.api.client",
    "ApiConnectionError": "app.api.errors",
    "ApiError": "app.api.errors",
    "ApiStatusError": "app.api.errors",
    "ApiTimeoutError": "app.api.errors",
    "AuthenticationError": "app.api.errors",
    "BadGatewayError": "app.api.errors",
    "BadRequestError": "app.api.errors",
    "CallMeta": "app.api.types",
    "Capabilities": "app.api.profiles",
    "ChatChoice": "app.api.types",
    "ChatDelta": "app.api.types",
    "ChatMessage": "app.api.types",
    "ChatRequest": "app.api.types",
    "ChatResult": "app.api.types",
    "ChatStream": "app.api.streaming",
    "CompletionDelta": "app.api.types",
    "CompletionResult": "app.api.types",
    "CompletionStream": "app.api.streaming",
    "ConflictError": "app.api.errors",
    "EmbeddingResult": "app.api.types",
    "Endpoint": "app.api.profiles",
    "GatewayTimeoutError": "app.api.errors",
    "ImageItem": "app.api.types",
    "ImageResult": "app.api.types",
    "InsufficientCreditsError": "app.api.errors",
    "InternalServerError": "app.api.errors",
    "MalformedResponseError": "app.api.errors",
    "ModelInfo": "app.api.types",
    "ModelList": "app.api.types",
    "ModelPrice": "app.api.profiles",
    "ModerationResult": "app.api.types",
    "NotFoundError": "app.api.errors",
    "PermissionDeniedError": "app.api.errors",
    "ProviderProfile": "app.api.profiles",
    "RateLimitError": "app.api.errors",
    "RateLimitHeaders": "app.api.profiles",
    "RateLimitStatus": "app.api.types",
    "RequestValidationError": "app.api.errors",
    "RetryPolicy": "app.api.retry",
    "reporting_waits": "app.api.retry",
    "Waiting": "app.api.retry",
    "WaitReporter": "app.api.retry",
    "wait_out": "app.api.retry",
    "wait_words": "app.api.retry",
    "SSEDecoder": "app.api.sse",
    "ServiceUnavailableError": "app.api.errors",
    "SpeechResult": "app.api.types",
    "SpeechStream": "app.api.streaming",
    "StreamInterruptedError": "app.api.errors",
    "TLSError": "app.api.errors",
    "ToolCall": "app.api.types",
    "TranscriptionResult": "app.api.types",
    "Usage": "app.api.types",
    "estimate_tokens": "app.api.types",
    "image_part": "app.api.types",
    "load_presets": "app.api.presets",
    "parse_rate_limit": "app.api.meta",
    "user_message": "app.api.types",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'app.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # next time, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_PATHS",
    "ApiClient",
    "ApiConnectionError",
    "ApiError",
    "ApiStatusError",
    "ApiTimeoutError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "CallMeta",
    "Capabilities",
    "ChatChoice",
    "ChatDelta",
    "ChatMessage",
    "ChatRequest",
    "ChatResult",
    "ChatStream",
    "CompletionDelta",
    "CompletionResult",
    "CompletionStream",
    "ConflictError",
    "EmbeddingResult",
    "Endpoint",
    "GatewayTimeoutError",
    "ImageItem",
    "ImageResult",
    "InsufficientCreditsError",
    "InternalServerError",
    "MalformedResponseError",
    "ModelInfo",
    "ModelList",
    "ModelPrice",
    "ModerationResult",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderProfile",
    "RateLimitError",
    "RateLimitHeaders",
    "RateLimitStatus",
    "RequestValidationError",
    "RetryPolicy",
    "SSEDecoder",
    "ServiceUnavailableError",
    "SpeechResult",
    "SpeechStream",
    "StreamInterruptedError",
    "TLSError",
    "ToolCall",
    "TranscriptionResult",
    "Usage",
    "WaitReporter",
    "Waiting",
    "estimate_tokens",
    "image_part",
    "load_presets",
    "parse_rate_limit",
    "reporting_waits",
    "user_message",
    "wait_out",
    "wait_words",
]
