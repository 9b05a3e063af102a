"""The prompt library: saved prompts and assistants, kept in the history database.

The composer's ``/`` menu reads :attr:`PromptLibrary.items` (loaded once, kept up to date by
every save and delete), so typing filters without a query per key. An assistant applied
to a conversation sets its system prompt, parameters and, when it names one that is still
configured, its model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.store import Prompt, Store
from app.store import prompt_queries as q

__all__ = ["AssistantSetup", "Prompt", "PromptLibrary", "matching"]


@dataclass(frozen=True, slots=True)
class AssistantSetup:
    """What starting from an assistant sets on a conversation."""

    system_prompt: str
    params: dict[str, Any]
    provider: str | None
    model: str | None


class PromptLibrary:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.items: list[Prompt] = []
        self.loaded = False

    async def load(self) -> list[Prompt]:
        self.items = await self._store.read(q.list_prompts)
        self.loaded = True
        return self.items

    async def save_prompt(self, name: str, text: str, prompt_id: int | None = None) -> Prompt:
        saved = await self._store.write(q.save_prompt, "prompt", name, text, prompt_id=prompt_id)
        return await self._saved(saved)

    async def save_assistant(
        self,
        name: str,
        setup: AssistantSetup,
        prompt_id: int | None = None,
    ) -> Prompt:
        saved = await self._store.write(
            q.save_prompt, "assistant", name, setup.system_prompt,
            provider=setup.provider, model=setup.model, params=setup.params, prompt_id=prompt_id,
        )  # fmt: skip
        return await self._saved(saved)

    async def delete(self, prompt_id: int) -> None:
        await self._store.write(q.delete_prompt, prompt_id)
        await self.load()

    async def _saved(self, saved: Prompt) -> Prompt:
        await self.load()
        return saved

    @staticmethod
    def setup(assistant: Prompt) -> AssistantSetup:
        return AssistantSetup(
            assistant.body, dict(assistant.params or {}), assistant.provider, assistant.model
        )


def matching(items: list[Prompt], typed: str) -> list[Prompt]:
    """The items whose name (then text) contains every word typed, best first."""
    words = typed.lower().split()
    if not words:
        return list(items)
    by_name, by_text = [], []
    for item in items:
        name = item.name.lower()
        if all(w in name for w in words):
            by_name.append((not name.startswith(words[0]), item))
        elif all(w in f"{name} {item.body.lower()}" for w in words):
            by_text.append(item)
    return [item for _, item in sorted(by_name, key=lambda x: x[0])] + by_text
