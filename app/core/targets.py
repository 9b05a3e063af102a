"""Which model answers when nobody said: the chosen default, else the first chat model.

The chat panel and ``palaver ask`` both start from here, so someone who just added a
provider gets an answer instead of "No model chosen".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.chat import Target
from app.core.model_kinds import model_kind

if TYPE_CHECKING:  # the models cache (pydantic) loads on first use, not at start-up
    from app.core.models_cache import ModelsCache
    from app.core.providers import ProviderRegistry
    from app.settings import Settings


def is_chat_model(model: str, category: str | None = None) -> bool:
    """False for embedding, image, speech, transcription, moderation and rerank models."""
    return model_kind(model, category) == "chat"


def default_target(
    settings: Settings, registry: ProviderRegistry, models: ModelsCache | None
) -> Target | None:
    """The saved default when its provider still exists; else the first provider's first
    chat model (the models its profile names, then its fetched list); None without any."""
    provider, model = settings.default_provider, settings.default_model
    if provider and model and registry.get(provider) is not None:
        return Target(provider, model)
    from app.core.models_cache import model_facts

    for profile in registry.all():
        cached = models.get(profile.id) if models is not None else None
        for name in [*profile.models, *(cached.ids if cached is not None else [])]:
            # The name alone rules most out; the list's category (a lookup) only then.
            if is_chat_model(name) and is_chat_model(
                name, model_facts(profile, name, models).category
            ):
                return Target(profile.id, name)
    return None
