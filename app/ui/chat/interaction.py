"""The conversation view's input: hit-testing, mouse, wheel, keys and the context menu,
the hover bar of action buttons and the jump-to-latest button.

Actions live on the hover bar of real buttons (objectNames, accessible names), in the
context menu, and on keys (Up/Down pick a message, Ctrl+C copy, Delete, Alt+Left/Right
switch branch, Menu/Shift+F10 for everything else).
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    Qt,
    QUrl,
    QVariantAnimation,
    Signal,
)
from PySide6.QtGui import (
    QContextMenuEvent,
    QGuiApplication,
    QKeyEvent,
    QMouseEvent,
    QTextLine,
    QWheelEvent,
)
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from app.ui.chat.action_bar import ActionBar
from app.ui.chat.layout import PAD, RowLayout
from app.ui.chat.markdown_render import is_safe_url
from app.ui.chat.messages import Role, Status

_HREF = re.compile(r'<a [^>]*href="([^"]+)"')


def _cursor_x(line: QTextLine, position: int) -> float:
    x: Any = line.cursorToX(position)  # PySide6 returns (x, position)
    return float(x[0] if isinstance(x, tuple) else x)


class RowInteraction(RowLayout):
    """Input on the rows; every action leaves the view as a signal carrying a message id.

    Only ``link_activated`` carries a URL to open, and only ever an http(s) one.
    """

    link_activated = Signal(QUrl)  # only http(s); the app opens it
    image_requested = Signal(int, QUrl)  # message id, image URL: fetch, then set_image()
    older_requested = Signal()  # scrolled to the top: prepend_messages() older ones
    delete_requested = Signal(int)
    read_aloud_requested = Signal(int)
    edit_requested = Signal(int)  # user messages: edit and resend
    regenerate_requested = Signal(int)  # assistant messages
    retry_requested = Signal(int)
    branch_requested = Signal(int, int)  # message id, -1 previous / +1 next
    message_copied = Signal(int)
    code_copied = Signal(int, int)  # message id, code block index

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._older_pending = False  # older_requested emitted, no prepend_messages yet
        self._hover_row = -1
        self._pressed_anchor: tuple[int, str] | None = None
        self._actions = ActionBar(self.viewport())
        self._actions.hide()
        self._jump = QToolButton(self.viewport())
        self._jump.setObjectName("jumpToLatestButton")
        self._jump.setText("↓ Jump to latest")
        self._jump.setAccessibleName("Jump to latest message")
        self._jump.hide()
        self._connect_signals()

    def _connect_signals(self) -> None:
        bar = self._actions
        for button, signal in (
            (bar.read_aloud, self.read_aloud_requested),
            (bar.edit, self.edit_requested),
            (bar.regenerate, self.regenerate_requested),
            (bar.retry, self.retry_requested),
            (bar.delete, self.delete_requested),
        ):
            button.clicked.connect(self._bar_action(signal.emit))
        bar.copy.clicked.connect(self._bar_action(self.copy_message))
        bar.branch_prev.clicked.connect(self._bar_action(self.branch_requested.emit, -1))
        bar.branch_next.clicked.connect(self._bar_action(self.branch_requested.emit, 1))
        self._jump.clicked.connect(self.on_jump_clicked)
        self.verticalScrollBar().valueChanged.connect(self.on_scroll_value_changed)
        self._scroll_anim.valueChanged.connect(self.on_scroll_anim_value_changed)

    def _bar_action(self, action: Callable[..., object], *args: int) -> Callable[[], None]:
        """A hover-bar button's slot: ``action`` on the message the bar is over."""

        def run() -> None:
            if self._actions.message_id is not None:
                action(self._actions.message_id, *args)

        return run

    def _after_rows_changed(self) -> None:
        if self._actions.message_id is not None:  # its row may have changed or gone
            i = self._index.get(self._actions.message_id)
            if i is None:
                self._hide_actions()
            else:
                self._actions.configure(self._rows[i].msg)
        super()._after_rows_changed()

    def _update_overlays(self) -> None:
        vp = self.viewport()
        self._jump.setVisible(not self._stick and bool(self._rows))
        if self._jump.isVisible():
            self._jump.adjustSize()
            size = self._jump.size()
            self._jump.move((vp.width() - size.width()) // 2, vp.height() - size.height() - 12)
            self._jump.raise_()
        row = self._hover_row if self._hover_row >= 0 else self._current_row
        if 0 <= row < len(self._rows):
            self._show_actions(row)
        else:
            self._hide_actions()

    def _show_actions(self, index: int) -> None:
        bar = self._actions
        msg = self._rows[index].msg
        if bar.message_id != msg.id or not bar.isVisible():
            bar.configure(msg)
        card = self._card_rect(
            index, self._heights.offset(index) - self.verticalScrollBar().value()
        )
        if (
            card.bottom() < bar.height() + PAD
            or card.top() > self.viewport().height() - bar.height()
        ):
            bar.hide()  # the row is off screen; its actions stay in the menu and on keys
            return
        # Pinned to the top edge while a tall message is scrolled, never below its card.
        y = min(max(0, card.top() + PAD // 2), card.bottom() - bar.height())
        bar.move(max(0, card.right() - bar.width() - PAD // 2), y)
        bar.show()
        bar.raise_()

    def _hide_actions(self) -> None:
        self._actions.hide()
        self._actions.message_id = None

    def copy_message(self, message_id: int) -> None:
        """Copy the message's text (its markdown source) to the clipboard."""
        msg = self.message(message_id)
        if msg is not None:
            QGuiApplication.clipboard().setText(msg.text)
            self.message_copied.emit(message_id)

    def copy_code(self, message_id: int, index: int) -> bool:
        i = self._index.get(message_id)
        code = None if i is None else self._rows[i].ctx.code(index)
        if code is None:
            return False
        QGuiApplication.clipboard().setText(code)
        self.code_copied.emit(message_id, index)
        return True

    def toggle_tool_call(self, message_id: int, index: int) -> None:
        i = self._index.get(message_id)
        if i is None:
            return
        row = self._rows[i]
        row.expanded_tools ^= {index}
        self._render_extras(row)
        self._relayout_row(i)
        self._after_rows_changed()

    def message_links(self, message_id: int) -> list[str]:
        """The message's http(s) links, in order, once each (keyboard access to them)."""
        i = self._index.get(message_id)
        if i is None:
            return []
        row = self._rows[i]
        self._materialise(row)
        seen: dict[str, None] = {}
        for part in row.parts():
            for url in _HREF.findall(part.html):
                url = html_lib.unescape(url)
                if is_safe_url(url):
                    seen.setdefault(url, None)
        return list(seen)

    def anchor_rects(self, message_id: int) -> list[tuple[str, QRect]]:
        """Anchors of a visible message in viewport coordinates (for tests and automation)."""
        i = self._index.get(message_id)
        if i is None:
            return []
        self._prepare_visible()
        out: list[tuple[str, QRect]] = []
        value = self.verticalScrollBar().value()
        for part, origin, k in self._part_origins(i):
            if part.doc is None:
                self._measure(self._rows[i], part, self._body_width(), k)
            assert part.doc is not None
            block = part.doc.begin()
            while block.isValid():
                it = block.begin()
                while not it.atEnd():
                    frag = it.fragment()
                    href = frag.charFormat().anchorHref()
                    if href:
                        layout = block.layout()
                        line = layout.lineForTextPosition(frag.position() - block.position())
                        if line.isValid():
                            x = _cursor_x(line, frag.position() - block.position())
                            pos = part.doc.documentLayout().blockBoundingRect(block).topLeft()
                            end = _cursor_x(
                                line, frag.position() + frag.length() - block.position()
                            )
                            r = QRectF(
                                origin.x() + pos.x() + x,
                                origin.y() + pos.y() + line.y() - value,
                                max(2.0, end - x),
                                line.height(),
                            )
                            out.append((href, r.toRect()))
                    it += 1
                block = block.next()
        return out

    def _hit(self, pos: QPoint) -> tuple[int, str]:
        """(row index, anchor href or "") under a viewport position; (-1, "") if none."""
        if not self._rows:
            return -1, ""
        y = pos.y() + self.verticalScrollBar().value()
        i = self._heights.row_at(y)
        if not (0 <= i < len(self._rows)) or y >= self._heights.total():
            return -1, ""
        for part, origin, _k in self._part_origins(i, y, y):
            if part.doc is None:
                continue
            local = QPointF(pos.x() - origin.x(), y - origin.y())
            if 0 <= local.y() < part.height and 0 <= local.x() <= part.width:
                return i, part.doc.documentLayout().anchorAt(local)
        return i, ""

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        row, href = self._hit(event.position().toPoint())
        if row != self._hover_row:
            self._hover_row = row
            self._update_overlays()
        vp = self.viewport()
        if href:
            vp.setCursor(Qt.CursorShape.PointingHandCursor)
            vp.setToolTip(href if is_safe_url(href) else "")
        else:
            vp.unsetCursor()
            vp.setToolTip("")
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._hover_row = -1
        self._update_overlays()
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        row, href = self._hit(event.position().toPoint())
        if row >= 0:
            self._current_row = row
        self._pressed_anchor = (
            (row, href) if href and event.button() == Qt.MouseButton.LeftButton else None
        )
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        row, href = self._hit(event.position().toPoint())
        if self._pressed_anchor == (row, href) and href:
            self.activate_anchor(self._rows[row].msg.id, href)
        self._pressed_anchor = None
        super().mouseReleaseEvent(event)

    def activate_anchor(self, message_id: int, href: str) -> None:
        """What clicking an anchor does: only http(s) leaves the view, as a signal."""
        i = self._index.get(message_id)
        if i is None:
            return
        row = self._rows[i]
        scheme, _, rest = href.partition(":")
        if scheme == "copy" and rest.isdigit():
            self.copy_code(message_id, int(rest))
        elif scheme == "tool" and rest.isdigit():
            self.toggle_tool_call(message_id, int(rest))
        elif scheme == "retry":
            self.retry_requested.emit(message_id)
        elif scheme == "loadimg" and rest.isdigit():
            url = row.ctx.image(int(rest))
            if url is not None and is_safe_url(url):
                self.image_requested.emit(message_id, QUrl(url))
        elif is_safe_url(href):
            self.link_activated.emit(QUrl(href))

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.angleDelta().y() > 0 or event.pixelDelta().y() > 0:
            self._stick = False  # the user reads upwards: streaming must not pull them down
        if not event.pixelDelta().isNull():
            self._scroll_anim.stop()
            self._user_scroll_to(self.verticalScrollBar().value() - event.pixelDelta().y())
        else:
            steps = event.angleDelta().y() / 120
            bar = self.verticalScrollBar()
            start = bar.value()
            end = (
                self._scroll_anim.endValue()
                if self._scroll_anim.state() == QVariantAnimation.State.Running
                else start
            )
            target = int(end) - int(steps * bar.singleStep())
            target = max(bar.minimum(), min(bar.maximum(), target))
            self._scroll_anim.stop()
            self._scroll_anim.setStartValue(start)
            self._scroll_anim.setEndValue(target)
            self._scroll_anim.start()
        event.accept()

    def _user_scroll_to(self, value: int) -> None:
        self.verticalScrollBar().setValue(value)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        mods = event.modifiers()
        n = len(self._rows)
        cur = self._current_row if 0 <= self._current_row < n else n - 1
        if n and key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            step = -1 if key == Qt.Key.Key_Up else 1
            self.select_row(max(0, min(n - 1, cur + step)) if self._current_row >= 0 else cur)
        elif n and key == Qt.Key.Key_Home and mods & Qt.KeyboardModifier.ControlModifier:
            self.select_row(0)
        elif n and key == Qt.Key.Key_End and mods & Qt.KeyboardModifier.ControlModifier:
            self.select_row(n - 1)
            self.scroll_to_bottom()
        elif n and key == Qt.Key.Key_C and mods & Qt.KeyboardModifier.ControlModifier:
            if not self._copy_selection():  # the selected text, else the current message
                self.copy_message(self._rows[cur].msg.id)
        elif n and key == Qt.Key.Key_Delete:
            self.delete_requested.emit(self._rows[cur].msg.id)
        elif (
            n
            and mods & Qt.KeyboardModifier.AltModifier
            and key in (Qt.Key.Key_Left, Qt.Key.Key_Right)
        ):
            msg = self._rows[cur].msg
            if msg.branch_count > 1:
                self.branch_requested.emit(msg.id, -1 if key == Qt.Key.Key_Left else 1)
        else:
            super().keyPressEvent(event)

    def select_row(self, index: int) -> None:
        """Make a message current (keyboard focus ring, action bar) and scroll it into view."""
        if not 0 <= index < len(self._rows):
            return
        self._current_row = index
        self._relayout_row(index)
        top = self._heights.offset(index)
        h = self._heights[index]
        bar = self.verticalScrollBar()
        vh = self.viewport().height()
        if top < bar.value():
            self._stick = False
            bar.setValue(top)
        elif top + h > bar.value() + vh:
            bar.setValue(min(top, top + h - vh))
        # Painted text is invisible to screen readers: say what the current message is.
        msg = self._rows[index].msg
        words = " ".join(msg.text.split())
        status = "" if msg.status is Status.COMPLETE else f" ({msg.status.value})"
        self.setAccessibleDescription(
            f"Message {index + 1} of {len(self._rows)}, {msg.role_label()}{status}: "
            f"{words[:500]}{'…' if len(words) > 500 else ''}"
        )
        self._update_overlays()
        self.viewport().update()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if event.reason() == QContextMenuEvent.Reason.Mouse:
            row, href = self._hit(event.pos())
        else:
            row, href = self._current_row if self._current_row >= 0 else len(self._rows) - 1, ""
        if not 0 <= row < len(self._rows):
            return
        menu = self.build_context_menu(row, href)
        pos = event.globalPos()
        if event.reason() != QContextMenuEvent.Reason.Mouse:
            card = self._card_rect(
                row, self._heights.offset(row) - self.verticalScrollBar().value()
            )
            pos = self.viewport().mapToGlobal(card.topLeft() + QPoint(PAD, PAD))
        menu.exec(pos)

    def build_context_menu(self, index: int, href: str = "") -> QMenu:
        """Every action of a message (the keyboard and screen-reader path to them)."""
        row = self._rows[index]
        msg = row.msg
        mid = msg.id
        menu = QMenu(self)
        menu.setObjectName("messageContextMenu")
        menu.setAccessibleName("Message actions")
        if href and is_safe_url(href):
            menu.addAction("Open link", lambda: self.link_activated.emit(QUrl(href)))
            menu.addAction("Copy link address", lambda: QGuiApplication.clipboard().setText(href))
            menu.addSeparator()
        if self._has_selection():
            menu.addAction("Copy selection", self._copy_selection)
        menu.addAction("Copy message", lambda: self.copy_message(mid))
        for n in range(len(row.ctx.codes)):
            menu.addAction(f"Copy code block {n + 1}", partial(self.copy_code, mid, n))
        menu.addAction("Read aloud", lambda: self.read_aloud_requested.emit(mid))
        if msg.role is Role.USER:
            menu.addAction("Edit and resend", lambda: self.edit_requested.emit(mid))
        if msg.role is Role.ASSISTANT and msg.status is not Status.STREAMING:
            menu.addAction("Regenerate", lambda: self.regenerate_requested.emit(mid))
        if msg.status in (Status.ERROR, Status.INTERRUPTED):
            menu.addAction("Retry", lambda: self.retry_requested.emit(mid))
        if msg.branch_count > 1:
            prev = menu.addAction("Previous version", lambda: self.branch_requested.emit(mid, -1))
            prev.setEnabled(msg.branch_index > 0)
            nxt = menu.addAction("Next version", lambda: self.branch_requested.emit(mid, 1))
            nxt.setEnabled(msg.branch_index < msg.branch_count - 1)
        for n, call in enumerate(msg.tool_calls):
            verb = "Collapse" if n in row.expanded_tools else "Expand"
            menu.addAction(f"{verb} tool call {call.name}", partial(self.toggle_tool_call, mid, n))
        for n, url in enumerate(row.ctx.images):
            if url not in row.ctx.loaded:
                menu.addAction(
                    f"Load image {n + 1}", partial(self.image_requested.emit, mid, QUrl(url))
                )
        links = self.message_links(mid)
        if links and not href:
            sub = menu.addMenu("Open link")
            sub.setObjectName("openLinkMenu")
            for url in links[:20]:
                label = url if len(url) <= 70 else url[:67] + "…"
                sub.addAction(label, partial(self.link_activated.emit, QUrl(url)))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete_requested.emit(mid))
        return menu

    def on_scroll_value_changed(self, value: int) -> None:
        if not self._programmatic:
            bar = self.verticalScrollBar()
            self._stick = value >= bar.maximum() - 2
            if value <= 0 and self._rows and not self._older_pending:
                self._older_pending = True
                self.older_requested.emit()
        self._update_overlays()
        self.viewport().update()

    def on_scroll_anim_value_changed(self, value: object) -> None:
        if isinstance(value, int):
            self._user_scroll_to(value)

    def on_jump_clicked(self) -> None:
        self.scroll_to_bottom()
