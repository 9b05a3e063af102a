"""The history sidebar: conversations grouped by age (pinned on top), search with snippets.

Data in, signals out: the window hands it conversations and search hits from the store,
and reacts to ``conversation_selected``, ``search_changed`` and the context-menu requests.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QPainter,
    QPalette,
    QStandardItem,
    QStandardItemModel,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.store import Conversation, SearchHit
from app.ui.dialogs.common import named

CONVERSATION_ID = Qt.ItemDataRole.UserRole + 1
HIT_MESSAGE_ID = Qt.ItemDataRole.UserRole + 2
SNIPPET_HTML = Qt.ItemDataRole.UserRole + 3
HIT_ITEM = Qt.ItemDataRole.UserRole + 4


def group_label(updated_at: float, today: dt.date) -> str:
    day = dt.datetime.fromtimestamp(updated_at).date()
    age = (today - day).days
    if age <= 0:
        return "Today"
    if age == 1:
        return "Yesterday"
    if age < 7:
        return "Previous 7 days"
    if age < 30:
        return "Previous 30 days"
    return day.strftime("%B %Y") if day.year == today.year else str(day.year)


def grouped(
    conversations: Iterable[Conversation], today: dt.date | None = None
) -> list[tuple[str, list[Conversation]]]:
    """Pinned first, then by age, newest first within each group; archived ones are left out."""
    today = today or dt.date.today()
    live = sorted(
        (c for c in conversations if not c.archived), key=lambda c: c.updated_at, reverse=True
    )
    groups: dict[str, list[Conversation]] = {}
    pinned = [c for c in live if c.pinned]
    if pinned:
        groups["Pinned"] = pinned
    for conversation in live:
        if not conversation.pinned:
            groups.setdefault(group_label(conversation.updated_at, today), []).append(conversation)
    return list(groups.items())


class _SnippetDelegate(QStyledItemDelegate):
    """Draws a search hit: title line, then the snippet with matches in bold (escaped HTML)."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if not index.data(SNIPPET_HTML):
            super().paint(painter, option, index)
            return
        from PySide6.QtWidgets import QStyle  # its Python side costs ~11 ms: not at start-up

        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget else None
        option_text = option.text
        option.text = ""
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        option.text = option_text
        doc = self._document(index, option.rect.width())
        painter.save()
        painter.translate(option.rect.topLeft())
        context = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        context.palette.setColor(QPalette.ColorRole.Text, option.palette.color(role))
        context.clip = QRectF(0, 0, option.rect.width(), option.rect.height())
        doc.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        if not index.data(SNIPPET_HTML):
            return super().sizeHint(option, index)
        doc = self._document(index, max(option.rect.width(), 200))
        return QSize(int(doc.idealWidth()), int(doc.size().height()))

    @staticmethod
    def _document(index: QModelIndex | QPersistentModelIndex, width: int) -> QTextDocument:
        doc = QTextDocument()
        doc.setDocumentMargin(4)
        doc.setHtml(index.data(SNIPPET_HTML))
        doc.setTextWidth(width)
        return doc


class HistorySidebar(QWidget):
    """Conversation list and history search."""

    conversation_selected = Signal(int)
    hit_activated = Signal(int, int)  # conversation id, message id (0 when none)
    item_activated = Signal(str, int)  # a hit outside conversations: kind ("image", ...), its id
    new_chat_requested = Signal()
    search_changed = Signal(str)
    meaning_toggled = Signal(bool)  # search by meaning too
    rename_requested = Signal(int)
    pin_toggled = Signal(int, bool)
    archive_requested = Signal(int)
    delete_requested = Signal(int)
    export_requested = Signal(int)
    more_requested = Signal()  # scrolled near the end of a list that may hold more

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historySidebar")
        self.setAccessibleName("History")
        self._conversations: dict[int, Conversation] = {}
        self._may_have_more = False

        self.new_chat_button = named(QPushButton("＋ New chat"), "newChatButton", "New chat")
        self.new_chat_button.setToolTip("New chat (Ctrl+N)")
        self.search = named(QLineEdit(), "sidebarSearch", "Search history")
        self.search.setPlaceholderText("Search history (Ctrl+K)")
        self.search.setClearButtonEnabled(True)
        self.meaning_toggle = named(QCheckBox("By meaning"), "meaningToggle", "Search by meaning")
        self.meaning_toggle.setToolTip(
            "Also find messages that mean the same thing in other words (needs an embeddings model)"
        )

        self.model = QStandardItemModel(self)
        self.tree = named(QTreeView(), "conversationList", "Conversations")
        self.tree.setModel(self.model)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(0)
        self.tree.setUniformRowHeights(True)
        self.tree.setEditTriggers(QTreeView.EditTrigger.NoEditTriggers)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

        self.results_model = QStandardItemModel(self)
        self.results = named(QTreeView(), "searchResults", "Search results")
        self.results.setModel(self.results_model)
        self.results.setHeaderHidden(True)
        self.results.setRootIsDecorated(False)
        self.results.setIndentation(0)
        self.results.setWordWrap(True)
        self.results.setEditTriggers(QTreeView.EditTrigger.NoEditTriggers)
        self.results.setItemDelegate(_SnippetDelegate(self.results))

        self.empty_label = QLabel("No conversations yet.\nStart one with “New chat”.")
        self.empty_label.setObjectName("sidebarEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setEnabled(False)
        self.status_label = QLabel()
        self.status_label.setObjectName("searchStatus")
        self.status_label.setEnabled(False)
        self.status_label.setWordWrap(True)
        self.status_label.hide()

        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.tree)
        self.stack.addWidget(self.results)

        top = QHBoxLayout()
        top.addWidget(self.new_chat_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.addLayout(top)
        search_row = QHBoxLayout()
        search_row.addWidget(self.search, 1)
        search_row.addWidget(self.meaning_toggle)
        layout.addLayout(search_row)
        layout.addWidget(self.status_label)
        layout.addWidget(self.stack, 1)

        # Typing is debounced so a fast typist triggers one query, not one per key.
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.new_chat_button.clicked.connect(self.new_chat_requested)
        self.search.textChanged.connect(self.on_search_edited)
        self._search_timer.timeout.connect(self.on_search_timer_fired)
        self.meaning_toggle.toggled.connect(self.on_meaning_toggle_toggled)
        self.tree.clicked.connect(self.on_tree_clicked)
        self.tree.activated.connect(self.on_tree_clicked)
        self.tree.customContextMenuRequested.connect(self.on_tree_context_menu)
        self.tree.verticalScrollBar().valueChanged.connect(self.on_tree_scrolled)
        self.results.clicked.connect(self.on_result_clicked)
        self.results.activated.connect(self.on_result_clicked)

    # --- data in -----------------------------------------------------------------------------
    def set_conversations(
        self,
        conversations: Sequence[Conversation],
        current_id: int | None = None,
        *,
        may_have_more: bool = False,
    ) -> None:
        """Show ``conversations`` (the scroll position is kept). With ``may_have_more``,
        scrolling near the end asks for more (``more_requested``)."""
        self._conversations = {c.id: c for c in conversations}
        self._may_have_more = may_have_more
        scroll = self.tree.verticalScrollBar().value()
        self.model.clear()
        bold = self.font()
        bold.setBold(True)
        current_index = None
        for label, items in grouped(conversations):
            header = QStandardItem(label)
            header.setFlags(Qt.ItemFlag.ItemIsEnabled)
            header.setFont(bold)
            self.model.appendRow(header)
            for conversation in items:
                item = QStandardItem(conversation.title or "Untitled")
                item.setToolTip(conversation.title)
                item.setData(conversation.id, CONVERSATION_ID)
                self.model.appendRow(item)
                if conversation.id == current_id:
                    current_index = item.index()
        if current_index is not None:
            self.tree.setCurrentIndex(current_index)
        if scroll:
            self.tree.doItemsLayout()  # else the range is only known after the next layout
            self.tree.verticalScrollBar().setValue(scroll)
        if not self.search.text().strip():
            self.stack.setCurrentWidget(self.tree if self._conversations else self.empty_label)

    def set_current(self, conversation_id: int | None) -> None:
        for row in range(self.model.rowCount()):
            item = self.model.item(row)
            if item is not None and item.data(CONVERSATION_ID) == conversation_id:
                self.tree.setCurrentIndex(item.index())
                return
        self.tree.clearSelection()

    def set_search_results(self, hits: Sequence[SearchHit], note: str = "") -> None:
        self.results_model.clear()
        for hit in hits:
            title = hit.title or "Untitled"
            meta = " · ".join(x for x in (hit.role, hit.model) if x)
            rich = f"<b>{html.escape(title)}</b>" + (
                f" <small>{html.escape(meta)}</small>" if meta else ""
            )
            rich += f"<br><span>{hit.snippet_html()}</span>"
            item = QStandardItem(f"{title}\n{hit.snippet}")
            item.setData(rich, SNIPPET_HTML)
            item.setData(hit.conversation_id or 0, CONVERSATION_ID)
            item.setData(hit.id if hit.kind == "message" else 0, HIT_MESSAGE_ID)
            item.setData((hit.kind, hit.id), HIT_ITEM)
            self.results_model.appendRow(item)
        count = len(hits)
        text = note or (f"{count} result{'s' if count != 1 else ''}" if count else "No matches.")
        self.status_label.setText(text)
        self.status_label.show()
        self.stack.setCurrentWidget(self.results)

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # --- slots -------------------------------------------------------------------------------
    def on_tree_scrolled(self, value: int) -> None:
        bar = self.tree.verticalScrollBar()
        # Within about a screen of the end: ask early, so scrolling rarely reaches the bottom.
        if self._may_have_more and value >= bar.maximum() - max(bar.pageStep(), 1):
            self._may_have_more = False  # one request until the next page arrives
            self.more_requested.emit()

    def on_search_edited(self, text: str) -> None:
        if not text.strip():
            self._search_timer.stop()
            self.status_label.hide()
            self.stack.setCurrentWidget(self.tree if self._conversations else self.empty_label)
            return
        self._search_timer.start()

    def on_search_timer_fired(self) -> None:
        query = self.search.text().strip()
        if query:
            self.search_changed.emit(query)

    def on_meaning_toggle_toggled(self, checked: bool) -> None:
        self.meaning_toggled.emit(checked)
        self.on_search_timer_fired()  # the current query again, in the new mode

    def on_tree_clicked(self, index: QModelIndex) -> None:
        conversation_id = index.data(CONVERSATION_ID)
        if conversation_id is not None:
            self.conversation_selected.emit(int(conversation_id))

    def on_result_clicked(self, index: QModelIndex) -> None:
        conversation_id = index.data(CONVERSATION_ID)
        if conversation_id:
            self.hit_activated.emit(int(conversation_id), int(index.data(HIT_MESSAGE_ID) or 0))
            return
        kind, item_id = index.data(HIT_ITEM) or ("", 0)
        if kind:
            self.item_activated.emit(str(kind), int(item_id))

    def on_tree_context_menu(self, pos: QPoint) -> None:
        conversation_id = self.tree.indexAt(pos).data(CONVERSATION_ID)
        conversation = self._conversations.get(conversation_id) if conversation_id else None
        if conversation is None:
            return
        menu = QMenu(self)
        menu.setObjectName("conversationMenu")
        menu.addAction("Rename…", lambda: self.rename_requested.emit(conversation.id))
        menu.addAction(
            "Unpin" if conversation.pinned else "Pin",
            lambda: self.pin_toggled.emit(conversation.id, not conversation.pinned),
        )
        menu.addAction("Export…", lambda: self.export_requested.emit(conversation.id))
        menu.addAction("Archive", lambda: self.archive_requested.emit(conversation.id))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete_requested.emit(conversation.id))
        menu.popup(self.tree.viewport().mapToGlobal(pos))
