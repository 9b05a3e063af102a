"""Moderation checks of prompts (and optionally answers) with the provider's endpoint.

:func:`check` never raises for a failed check: a provider that is down, slow, keyless or
without the endpoint gives a ``not_checked`` :class:`Verdict`, so a check never blocks
sending. Every call goes through the usage ledger. A verdict is kept on the message as a
part ``{"type": "moderation", ...}`` (:func:`attach`), so history shows it offline.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from app import log

if TYPE_CHECKING:
    from app.api.types import ModerationResult
    from app.core.clients import ClientPool
    from app.core.models_cache import ModelsCache
    from app.settings import Settings
    from app.store import Message, Store

_log = log.get("core.moderation")

MODERATION_PART = "moderation"
TIMEOUT_S = 10.0
"""A check that takes longer is "not checked": sending never waits on it for long."""
SHOWN_SCORES = 3

VerdictStatus = Literal["ok", "flagged", "not_checked"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one check. ``categories`` are the flagged ones (or, when nothing is
    flagged, the highest scores) as ``(name, score)``, highest first."""

    status: VerdictStatus
    categories: tuple[tuple[str, float], ...] = ()
    model: str = ""
    reason: str = ""
    """Why it was not checked, in plain words."""

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"

    def summary(self) -> str:
        """One line for the status bar or a tooltip."""
        scores = ", ".join(f"{name} {score:.2f}" for name, score in self.categories)
        if self.status == "flagged":
            return f"Flagged by moderation: {scores}."
        if self.status == "ok":
            return "Moderation: nothing flagged."
        return f"Moderation: not checked ({self.reason})." if self.reason else "Not checked."

    def to_part(self) -> dict[str, Any]:
        return {
            "type": MODERATION_PART,
            "status": self.status,
            "categories": [[name, score] for name, score in self.categories],
            "model": self.model,
            "reason": self.reason,
        }

    @classmethod
    def from_part(cls, part: dict[str, Any]) -> Verdict | None:
        status = part.get("status")
        if part.get("type") != MODERATION_PART or status not in ("ok", "flagged", "not_checked"):
            return None
        categories = tuple(
            (str(item[0]), float(item[1]))
            for item in part.get("categories") or ()
            if isinstance(item, list | tuple) and len(item) == 2
        )
        return cls(status, categories, str(part.get("model") or ""), str(part.get("reason") or ""))


def not_checked(reason: str) -> Verdict:
    return Verdict("not_checked", reason=reason)


def verdict_of(result: ModerationResult) -> Verdict:
    """Flagged categories across all results with their highest score; when nothing is
    flagged, the few highest scores (so "how close" is visible)."""
    flagged: dict[str, float] = {}
    scores: dict[str, float] = {}
    for item in result.results:
        for name, score in item.category_scores.items():
            if score is not None:
                scores[name] = max(scores.get(name, 0.0), float(score))
        for name in item.flagged_categories:
            flagged[name] = max(flagged.get(name, 0.0), scores.get(name, 0.0))
    model = result.model or ""
    if flagged or result.flagged:
        return Verdict("flagged", _highest(flagged), model)
    return Verdict("ok", _highest(scores)[:SHOWN_SCORES], model)


def _highest(scores: dict[str, float]) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(scores.items(), key=lambda item: (-item[1], item[0])))


def verdict_in(message: Message) -> Verdict | None:
    """The verdict kept on a message, if any."""
    for part in message.parts:
        verdict = Verdict.from_part(part)
        if verdict is not None:
            return verdict
    return None


def provider_for(settings: Settings, chat_provider: str) -> tuple[str, str | None]:
    """Which provider and model check: the settings' choice, else the chat's provider and
    its default moderation model."""
    return settings.moderation_provider or chat_provider, settings.moderation_model


async def check(
    store: Store,
    clients: ClientPool,
    provider_id: str,
    text: str,
    *,
    model: str | None = None,
    models: ModelsCache | None = None,
    timeout_s: float = TIMEOUT_S,
) -> Verdict:
    """Check ``text``; any failure gives a ``not_checked`` verdict (cancellation passes)."""
    from app.api import ApiError
    from app.core.clients import ProviderUnavailable
    from app.core.metered import metered

    if not text.strip():
        return not_checked("nothing to check")
    name = model or "default"
    try:
        async with metered(
            store, clients, provider_id, "moderations", name, models=models
        ) as meter:
            async with asyncio.timeout(timeout_s):  # a timed-out call is "error:TimeoutError"
                result = await meter.client.moderate(text, model)
            meter.model = result.model or name
            meter.ok(result)
    except ProviderUnavailable as exc:
        return not_checked(exc.user_message)
    except TimeoutError:
        return not_checked(f"no answer within {timeout_s:.0f} s")
    except ApiError as exc:
        _log.info("moderation failed: %s", exc)
        return not_checked(exc.user_message)
    return verdict_of(result)


async def attach(store: Store, message_id: int, verdict: Verdict) -> Message:
    """Keep ``verdict`` on the message (replacing an earlier one)."""
    message = store.get_message(message_id)
    parts = [p for p in message.parts if p.get("type") != MODERATION_PART]
    return await store.set_message_parts(message_id, [*parts, verdict.to_part()])
