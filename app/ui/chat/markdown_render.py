"""Markdown → sanitised HTML for QTextDocument, one block at a time (no Qt here).

Model output is untrusted. Raw HTML is escaped (shown as text), links survive only with an
``http``/``https`` address (others become plain text), and images never load by
themselves: they become a ``loadimg:N`` placeholder link until the app hands the bytes
back. Fenced code is highlighted with Pygments and boxed with a language label and a
``copy:N`` link.

Streaming is incremental (:class:`StreamRender`): the text is split into blocks
(:func:`split_blocks`); a block is final once the next one begins, is converted once, and
only the unfinished tail is converted again per frame. The splitter decides boundaries
from complete lines only, so boundaries found in a prefix hold in the full text and the
finished stream equals :func:`render_text` of the same text.

The pieces live beside this module (all re-exported here): ``markdown_blocks`` (the block
splitter), ``markdown_tree`` (safe links and images, :class:`RenderContext`),
``markdown_boxes`` (:class:`Theme`, code, error and tool-call boxes).
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.ui.chat import markdown_boxes as boxes
from app.ui.chat import markdown_extras as extras
from app.ui.chat.markdown_blocks import (
    LIST_ITEM,
    SEGMENT_ITEMS,
    SEGMENT_LINES,
    Block,
    FenceState,
    fence_code,
    looks_like_table,
    normalise_list_indent,
    plain_html,
    split_blocks,
)
from app.ui.chat.markdown_boxes import Theme, pretty_json
from app.ui.chat.markdown_math import Maths, might_have_math
from app.ui.chat.markdown_math import extract as extract_math
from app.ui.chat.markdown_tree import (
    SAFE_SCHEMES,
    RenderContext,
    Sanitiser,
    is_safe_url,
    tick_task_items,
)

if TYPE_CHECKING:  # loaded with Markdown, after start-up
    import xml.etree.ElementTree as ET

__all__ = [
    "SAFE_SCHEMES",
    "SEGMENT_ITEMS",
    "SEGMENT_LINES",
    "SEGMENT_MARK",
    "Block",
    "FenceState",
    "MarkdownRenderer",
    "RenderContext",
    "StreamRender",
    "StreamUpdate",
    "Theme",
    "is_safe_url",
    "pretty_json",
    "split_blocks",
]

SEGMENT_MARK = "<!--palaver:segment-->"  # ends the HTML of a segment that continues


# --------------------------------------------------------------------------- renderer


class MarkdownRenderer:
    """Converts blocks to HTML with ONE reused ``markdown.Markdown`` (``reset()`` per call)."""

    def __init__(self, theme: Theme | None = None) -> None:
        import markdown
        from markdown.inlinepatterns import SimpleTagInlineProcessor
        from markdown.treeprocessors import Treeprocessor

        self.theme = theme or Theme.light()
        self._sanitiser = Sanitiser(self.theme)
        self._raw: list[str] = []
        md = markdown.Markdown(extensions=["tables", "sane_lists"], output_format="html")
        md.preprocessors.deregister("html_block")  # raw HTML blocks → escaped text
        md.inlinePatterns.deregister("html")  # inline tags → escaped text
        # GitHub's ~~strikethrough~~ (Qt's rich text draws <s>).
        md.inlinePatterns.register(SimpleTagInlineProcessor(r"(~~)(.+?)~~", "s"), "strike", 40)
        extras.register_inline(md, self._sanitiser)
        sanitiser = self._sanitiser
        raw = self._raw

        class _Tree(Treeprocessor):
            def run(self, root: ET.Element) -> None:
                sanitiser.run(root)
                tick_task_items(root)
                # Verbatim fragments go through the stash so they are not escaped.
                for el in root.iter("div"):
                    if el.get("data-raw"):
                        raw.append(el.text or "")
                        el.attrib.clear()
                        el.text = f"\x02raw{len(raw) - 1}\x03"

        md.treeprocessors.register(_Tree(md), "palaver_sanitise", 15)
        self._md = md
        self._maths = Maths()

    # -- blocks

    def render_block(self, block: Block, ctx: RenderContext) -> str:
        """HTML for one block; registers its code and images in ``ctx``."""
        if block.kind == "fence":
            return self._fence(block, ctx)
        text = block.text
        if not block.closed and block.partial_line and looks_like_table(text):
            text = text[: text.rfind("\n") + 1]  # hide a half-written table row
        if LIST_ITEM.match(text):
            text = normalise_list_indent(text)
        found: list[tuple[str, bool]] = []
        if might_have_math(text):
            text, found = extract_math(text)
        notes = extras.FOOTNOTE_DEF.match(text)
        if notes:
            out = "".join(
                extras.footnote_html(label, self._inline_html(body, ctx), self.theme)
                for label, body in extras.split_footnotes(text)
            )
        else:
            out = plain_html(text) or self.markdown_html(text, ctx)
        if found:
            colours = (self.theme.text, self.theme.inline_code_bg)
            out = self._maths.put_back(out, found, colours=colours, register=ctx.add_code)
        return out + SEGMENT_MARK if block.more else out

    def _inline_html(self, text: str, ctx: RenderContext) -> str:
        """Markdown of one paragraph without its ``<p>``."""
        out = plain_html(text) or self.markdown_html(text, ctx)
        return out.removeprefix("<p>").removesuffix("</p>")

    def markdown_html(self, text: str, ctx: RenderContext) -> str:
        self._sanitiser.ctx = ctx
        self._sanitiser.theme = self.theme  # the view switches themes live
        self._raw.clear()
        self._md.reset()
        out: str = self._md.convert(text)
        if self._raw:
            out = re.sub(r"<div>\x02raw(\d+)\x03</div>", lambda m: self._raw[int(m[1])], out)
        return out

    def render_text(self, text: str, ctx: RenderContext) -> list[str]:
        """The full render: every block of ``text``, closed."""
        blocks, _, _ = split_blocks(text, final=True)
        return [self.render_block(b, ctx) for b in blocks]

    def plain_text(self, text: str) -> list[str]:
        """User messages: shown as typed (escaped, line breaks kept), one block per paragraph."""
        paragraphs = [p for p in re.split(r"\n\s*\n", text.strip("\n")) if p.strip()] or [""]
        return [
            f'<p style="white-space:pre-wrap; margin:0">{html.escape(p, quote=False)}</p>'
            for p in paragraphs
        ]

    # -- boxes

    def _fence(self, block: Block, ctx: RenderContext) -> str:
        code = fence_code(block)
        if block.segment == 0:
            n = ctx.add_code(code)
            if block.closed and block.more:
                ctx.open_fence = n
        else:
            n = ctx.open_fence if ctx.open_fence is not None else -1
            if block.closed and n >= 0:
                ctx.codes[n] += "\n" + code
            if block.closed and not block.more:
                ctx.open_fence = None
        out = boxes.code_box(
            self.theme,
            code,
            block.language,
            n,
            header=block.segment == 0,
            bottom=not (block.closed and block.more),
        )
        return out + SEGMENT_MARK if block.closed and block.more else out

    def code_box(self, code: str, language: str, ctx: RenderContext | None = None) -> str:
        """A whole code box, its code registered in ``ctx`` for its ``copy:N`` link."""
        n = ctx.add_code(code) if ctx is not None else -1
        return boxes.code_box(self.theme, code, language, n)

    def error_box(self, message: str, *, retry: bool, warning: bool = False) -> str:
        """An inline box in plain words, with a ``retry:`` link."""
        return boxes.error_box(self.theme, message, retry=retry, warning=warning)

    def tool_call(self, index: int, name: str, arguments: str, *, expanded: bool) -> str:
        """A collapsible block: ``tool:N`` toggles it; arguments pretty-printed JSON."""
        return boxes.tool_call(self.theme, index, name, arguments, expanded=expanded)


# --------------------------------------------------------------------------- streaming


@dataclass(slots=True)
class StreamUpdate:
    """What a flush changed: newly finished blocks (append them) and the new tail."""

    finished: list[str]
    tail: str | None
    behind: bool = False  # the time budget ran out: more finished blocks wait


class StreamRender:
    """Incremental render of one streaming answer.

    ``feed`` appends text; finished blocks are rendered once and returned; the open tail is
    re-rendered each call. ``finish`` closes everything; afterwards :attr:`blocks` equals
    ``renderer.render_text(text, ...)``.
    """

    def __init__(self, renderer: MarkdownRenderer, ctx: RenderContext | None = None) -> None:
        self.renderer = renderer
        self.ctx = ctx or RenderContext()
        self.text = ""
        self.blocks: list[str] = []
        self.tail: str | None = None
        self._consumed = 0
        self._resume: FenceState | None = None  # inside a long fence at ``_consumed``
        # Closed blocks found but not rendered yet (the budget ran out), with the offset
        # they are relative to: a backlog is split once, not again every frame.
        self._backlog: list[Block] = []
        self._backlog_base = 0

    def feed(self, delta: str, budget: float | None = None) -> StreamUpdate:
        """Append ``delta`` and render; ``budget`` (seconds) bounds the finished-block work.

        After a stall many blocks may finish at once; with a budget they are rendered a
        few per call (``behind`` says more wait; feed ``""`` again next frame) and the
        tail is hidden meanwhile, as it would repeat text now in finished blocks.
        """
        self.text += delta
        return self._advance(final=False, budget=budget)

    def finish(self) -> StreamUpdate:
        return self._advance(final=True)

    def _advance(self, *, final: bool, budget: float | None = None) -> StreamUpdate:
        deadline = None if budget is None else time.perf_counter() + budget
        finished: list[str] = []
        if not self._render_backlog(finished, deadline):  # what an earlier call left
            return self._behind(finished)
        start = self._consumed
        closed, tail, consumed = split_blocks(self.text[start:], final=final, resume=self._resume)
        self._backlog, self._backlog_base = closed, start
        if not self._render_backlog(finished, deadline):
            return self._behind(finished)
        self._consumed = start + consumed
        if tail is None:
            self.tail = None
            self.ctx.tail_codes, self.ctx.tail_images = [], []
        else:
            self.ctx.begin_tail()
            try:
                self.tail = self.renderer.render_block(tail, self.ctx)
            finally:
                self.ctx.end_tail()
        return StreamUpdate(finished, self.tail)

    def _render_backlog(self, finished: list[str], deadline: float | None) -> bool:
        """Render backlog blocks into ``finished`` until done (True) or out of time."""
        done = 0
        for block in self._backlog:
            if deadline is not None and finished and time.perf_counter() > deadline:
                break
            html = self.renderer.render_block(block, self.ctx)
            finished.append(html)
            self.blocks.append(html)
            self._consumed = self._backlog_base + block.end
            self._resume = block.continues
            done += 1
        del self._backlog[:done]
        return not self._backlog

    def _behind(self, finished: list[str]) -> StreamUpdate:
        self.tail = None
        self.ctx.tail_codes, self.ctx.tail_images = [], []
        return StreamUpdate(finished, None, behind=True)
