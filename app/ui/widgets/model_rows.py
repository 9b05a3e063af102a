"""How the model picker draws its rows: section headers, then per model its name, its
capability tags as small chips, and its price per 1M tokens on the right."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

PROVIDER_ROLE = Qt.ItemDataRole.UserRole + 1
MODEL_ROLE = Qt.ItemDataRole.UserRole + 2
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 3
HEADER_ROLE = Qt.ItemDataRole.UserRole + 4  # a section's title row (not choosable)
TAGS_ROLE = Qt.ItemDataRole.UserRole + 5
PRICE_ROLE = Qt.ItemDataRole.UserRole + 6
SECTION_ROLE = Qt.ItemDataRole.UserRole + 7  # "favourites", "recent" or "provider"
FAVOURITE_ROLE = Qt.ItemDataRole.UserRole + 8

_PAD = 8
_CHIP_GAP = 4


class ModelRowDelegate(QStyledItemDelegate):
    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        height = QFontMetrics(option.font).height()
        extra = 10 if index.data(HEADER_ROLE) else 8
        return QSize(200, height + extra)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        pal = option.palette
        rect: QRect = option.rect
        painter.save()
        if index.data(HEADER_ROLE):
            title = QFont(option.font)
            title.setBold(True)
            title.setPointSizeF(title.pointSizeF() * 0.85)
            painter.setFont(title)
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                rect.adjusted(_PAD, 4, -_PAD, 0),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                str(index.data(Qt.ItemDataRole.DisplayRole)).upper(),
            )
            painter.restore()
            return
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, pal.color(QPalette.ColorRole.Highlight))
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        muted = pal.color(text_role) if selected else pal.color(QPalette.ColorRole.PlaceholderText)
        font = QFont(option.font)
        small = QFont(font)
        small.setPointSizeF(font.pointSizeF() * 0.85)
        fm, sfm = QFontMetrics(font), QFontMetrics(small)
        inner = rect.adjusted(_PAD, 0, -_PAD, 0)
        price = str(index.data(PRICE_ROLE) or "")
        price_w = sfm.horizontalAdvance(price) + _PAD if price else 0
        tags = list(index.data(TAGS_ROLE) or ())
        tag_ws = [sfm.horizontalAdvance(t) + 8 for t in tags]
        tags_w = sum(tag_ws) + _CHIP_GAP * len(tags)
        star = "★ " if index.data(FAVOURITE_ROLE) else ""
        name = star + str(index.data(MODEL_ROLE) or "")
        name_w = max(40, inner.width() - price_w - tags_w - _PAD)
        painter.setFont(font)
        painter.setPen(pal.color(text_role))
        shown = fm.elidedText(name, Qt.TextElideMode.ElideMiddle, name_w)
        painter.drawText(
            QRect(inner.x(), inner.y(), name_w, inner.height()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            shown,
        )
        x = inner.x() + fm.horizontalAdvance(shown) + _PAD
        painter.setFont(small)
        chip_h = sfm.height() + 2
        y = inner.y() + (inner.height() - chip_h) // 2
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for tag, width in zip(tags, tag_ws, strict=True):
            if x + width > inner.right() - price_w:
                break
            chip = QRect(x, y, width, chip_h)
            painter.setPen(muted)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(chip, chip_h / 2, chip_h / 2)
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, tag)
            x += width + _CHIP_GAP
        if price:
            painter.setPen(muted)
            painter.drawText(
                inner, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, price
            )
        painter.restore()
