"""What a model is for (chat, embeddings, image, audio...) and what it can do (vision,
tools, reasoning), from its provider's list where it says, else from its name.

Lists say it in different words: Stansa's ``category``, OpenRouter's ``architecture``
modalities and ``supported_parameters``, some servers' ``capabilities``; most say nothing,
so well-known name patterns fill in. The picker shows these as tags and keeps to the kinds
a panel can use; the default chat model is the first of kind ``chat``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.api.profiles import ProviderProfile

KINDS = ("chat", "embeddings", "image", "audio", "moderation", "rerank")

# Words in a model's id or category that say its kind, checked in this order.
_KIND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("embeddings", ("embed",)),
    ("rerank", ("rerank",)),
    ("moderation", ("moderation",)),
    ("audio", ("tts", "speech", "whisper", "transcri", "audio")),
    ("image", ("image", "dall-e", "flux", "diffusion", "sdxl", "imagen")),
)
_VISION_NAMES = (
    "vision", "-vl", "llava", "gpt-4o", "gpt-4.1", "gpt-5", "claude", "gemini", "pixtral",
    "gemma-3", "llama-4", "qwen2.5-vl", "minicpm-v",
)  # fmt: skip
_REASONING_NAMES = (
    "o1", "o3", "o4", "-r1", "r1-", "reason", "think", "qwq", "gpt-5", "magistral",
)  # fmt: skip
_TOOLS_NAMES = (
    "gpt-4", "gpt-5", "gpt-3.5", "claude", "gemini", "mistral", "llama-3.1", "llama-3.3",
    "qwen", "command-r", "deepseek",
)  # fmt: skip


def model_kind(model: str, category: str | None = None) -> str:
    """``chat`` unless the id or the list's category names another kind."""
    words = f"{model} {category or ''}".lower()
    for kind, markers in _KIND_WORDS:
        if any(marker in words for marker in markers):
            return kind
    return "chat"


def model_tags(
    model: str,
    category: str | None,
    modalities: tuple[str, ...],
    profile: ProviderProfile,
    extra: dict[str, Any],
) -> tuple[str, ...]:
    """``("chat", "vision", "tools")``: the kind first, then what the model can do.

    ``extra`` is the list's entry for the model (empty when it is not listed)."""
    kind = model_kind(model, category)
    tags = [kind]
    if kind != "chat":
        return tuple(tags)
    name = model.lower()
    said = _said_capabilities(extra)
    if "image" in modalities or said.get("vision") or any(n in name for n in _VISION_NAMES):
        tags.append("vision")
    if said.get("tools") or (
        said.get("tools") is None
        and profile.capabilities.tools
        and any(n in name for n in _TOOLS_NAMES)
    ):
        tags.append("tools")
    if said.get("reasoning") or any(n in name for n in _REASONING_NAMES):
        tags.append("reasoning")
    return tuple(tags)


def _said_capabilities(entry: dict[str, Any]) -> dict[str, bool | None]:
    """What the list's entry says outright (None: it says nothing of that)."""
    said: dict[str, bool | None] = {"vision": None, "tools": None, "reasoning": None}
    caps = entry.get("capabilities")
    if isinstance(caps, dict):
        for key, name in (("vision", "vision"), ("tools", "tools"), ("function_calling", "tools"),
                          ("reasoning", "reasoning")):  # fmt: skip
            if isinstance(caps.get(key), bool):
                said[name] = bool(caps[key]) or bool(said[name])
    elif isinstance(caps, list):
        words = {str(c).lower() for c in caps}
        said["vision"] = "vision" in words or None
        said["tools"] = bool(words & {"tools", "function_calling"}) or None
        said["reasoning"] = bool(words & {"reasoning", "thinking"}) or None
    params = entry.get("supported_parameters")
    if isinstance(params, list):
        said["tools"] = "tools" in params
        if "reasoning" in params or "include_reasoning" in params:
            said["reasoning"] = True
    return said
