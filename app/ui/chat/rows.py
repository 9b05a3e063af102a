"""The rows of the conversation view: a message and its lazily laid-out parts (no widgets).

A row's body is one :class:`Part` per markdown block, each with its own QTextDocument
created on demand; the heights of the body parts are kept in prefix sums so a streaming
answer with thousands of blocks finds its visible blocks and its height in O(log n).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from PySide6.QtGui import QTextDocument

from app.ui.chat.markdown_render import SEGMENT_MARK, RenderContext, StreamRender
from app.ui.chat.messages import DisplayMessage
from app.ui.chat.row_heights import RowHeights

PART_GAP = 8  # between markdown blocks (each is its own document)


@dataclass(eq=False, slots=True)
class Part:
    """One block of a row: its HTML, its (lazy) document and its height at ``width``."""

    html: str
    doc: QTextDocument | None = None
    height: int = -1
    width: int = -1
    gap: int = PART_GAP  # space below it (none between segments of one code box)


def body_part(html: str) -> Part:
    return Part(html, gap=0 if html.endswith(SEGMENT_MARK) else PART_GAP)


# Shared, never mutated: a row never shown holds no containers of its own (2,000 rows
# would otherwise add thousands of objects for the cyclic GC to walk).
NO_PARTS: list[Part] = []
_NO_HEIGHTS = RowHeights()


@dataclass(eq=False, slots=True)
class Row:
    msg: DisplayMessage
    _ctx: RenderContext | None = None  # made when first needed (most rows never are)
    body: list[Part] | None = None  # None until the row is first shown
    tail: Part | None = None
    extras: list[Part] = field(default_factory=lambda: NO_PARTS)
    stream: StreamRender | None = None
    expanded_tools: frozenset[int] = frozenset()
    exact: bool = False  # height measured (else estimated)
    # Prefix sums over the body parts (height + gap each): a streaming row with thousands
    # of blocks still finds its visible blocks and its height in O(log n).
    body_h: RowHeights = field(default_factory=lambda: _NO_HEIGHTS)

    @property
    def ctx(self) -> RenderContext:
        if self._ctx is None:
            self._ctx = RenderContext()
        return self._ctx

    @ctx.setter
    def ctx(self, value: RenderContext) -> None:
        self._ctx = value

    def parts(self) -> list[Part]:
        """Every part, top to bottom (O(parts): not for per-frame paths)."""
        return [*(self.body or ()), *self.trailing()]

    def trailing(self) -> list[Part]:
        """The few parts after the body: the streaming tail, tool calls, the error box."""
        return [self.tail, *self.extras] if self.tail is not None else self.extras

    def set_body(self, parts: list[Part]) -> None:
        self.body = parts
        self.body_h = RowHeights(max(0, p.height) + p.gap for p in parts)

    def append_body(self, part: Part) -> None:
        assert self.body is not None
        self.body.append(part)
        self.body_h.append(max(0, part.height) + part.gap)

    def content_height(self) -> int:
        trailing = self.trailing()
        total = self.body_h.total() + sum(max(0, p.height) + PART_GAP for p in trailing)
        if trailing:
            return total - PART_GAP
        return total - self.body[-1].gap if self.body else 0

    def visible(self, y0: int, y1: int) -> Iterator[tuple[Part, int, int]]:
        """Parts meeting ``y0..y1`` (body coordinates): (part, top, body index or -1)."""
        body = self.body or []
        heights = self.body_h
        if body:
            k = heights.row_at(y0)
            top = heights.offset(k)
            while k < len(body) and top <= y1:
                yield body[k], top, k
                top += heights[k]
                k += 1
        top = heights.total()
        for part in self.trailing():
            h = max(0, part.height)
            if top + h >= y0 and top <= y1:
                yield part, top, -1
            top += h + PART_GAP
