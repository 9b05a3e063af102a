"""Fixtures for the conversation view tests: a shown view and message factories."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from app.ui.chat.message_view import ConversationView
from app.ui.chat.messages import DisplayMessage, Role, Usage

LONG_ANSWER = (
    "## Heading\n\nSome **bold** text and `inline code`.\n\n"
    "- one\n- two\n  - nested\n\n"
    "```python\nprint('hello')\n```\n\n"
    "> a quote\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
)


def conversation(n: int) -> list[DisplayMessage]:
    out = []
    for i in range(n):
        if i % 2 == 0:
            out.append(DisplayMessage(i, Role.USER, f"Question number {i}?"))
        else:
            out.append(
                DisplayMessage(
                    i,
                    Role.ASSISTANT,
                    LONG_ANSWER if i % 10 == 1 else f"Answer {i}.",
                    model="test-model",
                    usage=Usage(12, 34, estimated=i % 4 == 1),
                )
            )
    return out


@pytest.fixture
def view(qtbot: QtBot) -> ConversationView:
    v = ConversationView()
    qtbot.addWidget(v)
    v.resize(700, 500)
    v.show()
    qtbot.waitExposed(v)
    return v
