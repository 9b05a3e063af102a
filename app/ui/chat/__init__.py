"""The conversation view: messages and streamed markdown, rendered fast at any length.

The widget is :class:`ConversationView` (objectName ``messageList``); it shows
:class:`DisplayMessage` rows and knows nothing of the store or the client: the app maps
its records onto these dataclasses, streams deltas in with ``append_delta``, and acts on
the view's ``*_requested`` signals. See ``message_view`` for the API and signals.

Names load on first use (PEP 562): importing ``app.ui.chat.messages`` must not build the
view's module, which start-up leaves for after the first paint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.ui.chat.message_view import ConversationView
    from app.ui.chat.messages import DisplayMessage, Role, Status, ToolCall, Usage

__all__ = ["ConversationView", "DisplayMessage", "Role", "Status", "ToolCall", "Usage"]


def __getattr__(name: str) -> Any:
    if name == "ConversationView":
        from app.ui.chat.message_view import ConversationView

        return ConversationView
    if name in __all__:
        from app.ui.chat import messages

        return getattr(messages, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
