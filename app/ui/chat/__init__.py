"""The conversation view: messages and streamed markdown, rendered fast at any length.

The widget is :class:`ConversationView` (objectName ``messageList``); it shows
:class:`DisplayMessage` rows and knows nothing of the store or the client: the app maps
its records onto these dataclasses, streams deltas in with ``append_delta``, and acts on
the view's ``*_requested`` signals. See ``message_view`` for the API and signals.
"""

from app.ui.chat.message_view import ConversationView
from app.ui.chat.messages import DisplayMessage, Role, Status, ToolCall, Usage

__all__ = ["ConversationView", "DisplayMessage", "Role", "Status", "ToolCall", "Usage"]
