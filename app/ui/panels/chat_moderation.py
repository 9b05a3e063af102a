"""The chat panel's moderation pieces: the checks it starts and the flagged-prompt question.

A failed check is a verdict of "not checked", never a reason not to send (see
:mod:`app.core.moderation`); the panel decides what waits for what.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from PySide6.QtWidgets import QWidget

from app.core import moderation
from app.core.context import AppContext
from app.store import Message

Check = Coroutine[Any, Any, moderation.Verdict]


def check(ctx: AppContext, text: str, provider_id: str) -> Check:
    """Check ``text`` with the moderation provider the settings choose for ``provider_id``."""
    provider, model = moderation.provider_for(ctx.settings.get(), provider_id)
    return moderation.check(ctx.store, ctx.clients, provider, text, model=model, models=ctx.models)


def answer_check(ctx: AppContext, answer: Message) -> Check | None:
    """The check of a finished answer, when the settings ask for answers to be checked."""
    settings = ctx.settings.get()
    if not (settings.moderation and settings.moderation_answers and answer.text.strip()):
        return None
    return check(ctx, answer.text, answer.provider or "")


async def confirm_flagged(parent: QWidget, verdict: moderation.Verdict) -> bool:
    """Ask whether to send a flagged prompt anyway (window-modal; Cancel is the default)."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Flagged prompt",
        f"{verdict.summary()}\n\nSend it anyway?",
        QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setObjectName("moderationWarning")
    box.setAccessibleName("Flagged prompt warning")
    send = box.addButton("Send anyway", QMessageBox.ButtonRole.AcceptRole)
    send.setObjectName("moderationSendAnyway")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_box_finished(_code: int) -> None:
        if not answered.done():
            answered.set_result(None)

    box.finished.connect(on_box_finished)
    box.open()  # window-modal, never exec() inside a coroutine
    try:
        await answered
        return box.clickedButton() is send
    finally:
        box.close()
        box.deleteLater()
