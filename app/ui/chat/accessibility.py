"""The painted message rows as screen readers see them: a list of messages.

The conversation view paints its rows, so Qt knows nothing of them. This module gives the
view an accessible interface (role List) whose children are the messages (role ListItem):
name (who wrote it, "You" or the model), value (the text, as it streams in), description
(state such as streaming / interrupted / failed, the branch position "2 of 3", the number
of the message), and the card's place on screen.

Qt owns accessible interfaces made by a factory (its cache deletes each with its object), so
each message is a small ``QObject`` made only when an assistive technology asks for it, and
the factory below wraps it. Nothing is made while no screen reader (or test) looks.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, QPoint, QRect
from PySide6.QtGui import QAccessible, QAccessibleEvent, QAccessibleInterface, QAccessibleObject
from PySide6.QtWidgets import QAccessibleWidget, QWidget

from app.ui.chat.messages import DisplayMessage, Status


class ConversationView(Protocol):
    """What this module reads of the view (``app.ui.chat.message_view``)."""

    def message(self, message_id: int) -> DisplayMessage | None: ...
    def message_ids(self) -> list[int]: ...
    def row_index(self, message_id: int) -> int: ...
    def card_rect(self, message_id: int) -> QRect: ...
    def message_at(self, pos: QPoint) -> int | None: ...
    def accessible_node(self, message_id: int) -> MessageNode: ...
    def is_on_screen(self, message_id: int) -> bool: ...
    def hasFocus(self) -> bool: ...
    def viewport(self) -> QWidget: ...

    @property
    def current_id(self) -> int | None: ...


_STATE_WORDS = {
    Status.STREAMING: "streaming",
    Status.STOPPED: "stopped",
    Status.INTERRUPTED: "interrupted",
    Status.ERROR: "failed",
}


class MessageNode(QObject):
    """One message of a view, for its accessible interface (made on demand)."""

    def __init__(self, view: ConversationView, message_id: int) -> None:
        super().__init__(view)  # type: ignore[arg-type]  # the view is a QWidget
        self.view = view
        self.message_id = message_id


class MessageAccessible(QAccessibleObject):
    def __init__(self, node: MessageNode) -> None:
        super().__init__(node)
        self.node = node

    def _index(self) -> int:
        return self.node.view.row_index(self.node.message_id)

    def isValid(self) -> bool:
        return self._index() >= 0

    def role(self) -> QAccessible.Role:
        return QAccessible.Role.ListItem

    def parent(self) -> QAccessibleInterface:
        return QAccessible.queryAccessibleInterface(self.node.view)  # type: ignore[arg-type]

    def childCount(self) -> int:
        return 0

    def child(self, index: int) -> QAccessibleInterface | None:  # type: ignore[override]
        return None

    def indexOfChild(self, child: QAccessibleInterface) -> int:
        return -1

    def childAt(self, x: int, y: int) -> QAccessibleInterface | None:  # type: ignore[override]
        return None

    def text(self, t: QAccessible.Text) -> str:
        view, message_id = self.node.view, self.node.message_id
        msg = view.message(message_id)
        if msg is None:
            return ""
        if t == QAccessible.Text.Name:
            return msg.role_label()
        if t == QAccessible.Text.Value:
            return f"{msg.text}\n{msg.error}" if msg.error else msg.text
        if t == QAccessible.Text.Description:
            return describe(view, message_id)
        return ""

    def state(self) -> QAccessible.State:
        state = QAccessible.State()
        view = self.node.view
        state.selectable = True
        state.focusable = True
        if view.current_id == self.node.message_id:
            state.selected = True
            state.focused = view.hasFocus()
        if not view.is_on_screen(self.node.message_id):
            state.offscreen = True
        msg = view.message(self.node.message_id)
        if msg is not None and msg.status is Status.STREAMING:
            state.busy = True
        state.readOnly = True
        return state

    def rect(self) -> QRect:
        local = self.node.view.card_rect(self.node.message_id)
        viewport = self.node.view.viewport()
        return QRect(viewport.mapToGlobal(local.topLeft()), local.size())


class ConversationAccessible(QAccessibleWidget):
    """The view as a list whose items are its messages."""

    def __init__(self, view: ConversationView) -> None:
        super().__init__(view, QAccessible.Role.List, "Messages")  # type: ignore[call-overload]
        self.view = view

    def childCount(self) -> int:
        return len(self.view.message_ids())

    def child(self, index: int) -> QAccessibleInterface | None:  # type: ignore[override]
        ids = self.view.message_ids()
        if not 0 <= index < len(ids):
            return None
        return QAccessible.queryAccessibleInterface(self.view.accessible_node(ids[index]))

    def indexOfChild(self, child: QAccessibleInterface) -> int:
        node = child.object() if child is not None else None
        if isinstance(node, MessageNode) and node.view is self.view:
            return self.view.row_index(node.message_id)
        return -1

    def childAt(self, x: int, y: int) -> QAccessibleInterface | None:  # type: ignore[override]
        local = self.view.viewport().mapFromGlobal(QPoint(x, y))
        message_id = self.view.message_at(local)
        if message_id is None:
            return None
        return QAccessible.queryAccessibleInterface(self.view.accessible_node(message_id))


def describe(view: ConversationView, message_id: int) -> str:
    """``Message 3 of 8, streaming, version 2 of 3``: what a screen reader says after the text."""
    msg = view.message(message_id)
    if msg is None:
        return ""
    parts = [f"Message {view.row_index(message_id) + 1} of {len(view.message_ids())}"]
    if msg.status in _STATE_WORDS:
        parts.append(_STATE_WORDS[msg.status])
    if msg.branch_count > 1:
        parts.append(f"version {msg.branch_index + 1} of {msg.branch_count}")
    if msg.attachments:
        names = ", ".join(a.name for a in msg.attachments)
        parts.append(f"attached: {names}")
    return ", ".join(parts)


_view_classes: list[type] = []


def _factory(key: str, obj: QObject) -> QAccessibleInterface | None:
    if isinstance(obj, MessageNode):
        return MessageAccessible(obj)
    if _view_classes and isinstance(obj, tuple(_view_classes)):
        return ConversationAccessible(obj)  # type: ignore[arg-type]
    return None


def install(view_class: type) -> None:
    """Register the factory for ``view_class`` (once per process, before the first view
    is asked about)."""
    if not _view_classes:
        QAccessible.installFactory(_factory)
    if view_class not in _view_classes:
        _view_classes.append(view_class)


def notify_changed(view: QWidget, node: QObject | None, what: QAccessible.Event) -> None:
    """Tell assistive technologies that a message changed (only when one is listening)."""
    if QAccessible.isActive() and node is not None:
        QAccessible.updateAccessibility(QAccessibleEvent(node, what))
