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
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from app.ui.chat import highlight

if TYPE_CHECKING:  # loaded with Markdown, after start-up
    import xml.etree.ElementTree as ET

SAFE_SCHEMES = frozenset({"http", "https"})

_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_QUOTE = re.compile(r"^ {0,3}>")
_TABLE_RULE = re.compile(r"^ *\|? *:?-+:? *(?:\| *:?-+:? *)*\|? *$")
# Text that Markdown would pass through unchanged: no inline syntax, no entities, no
# line that could start a block or a hard break. Most streamed prose is like this.
_PLAIN_TEXT = re.compile(r"[^`*_\[\]<>!&\\|]*")
_PLAIN_LINE_START = re.compile(r"^(?:[ \t#=+*>~-]|\d+[.)]|$)")
_ATX_PLAIN = re.compile(r"^(#{1,6}) ([^#\n]*[^#\s\n])$")


# --------------------------------------------------------------------------- theme


@dataclass(frozen=True, slots=True)
class Theme:
    """Colours baked into the HTML (QTextDocument has no live stylesheet variables)."""

    text: str = "#1f2328"
    muted: str = "#656d76"
    link: str = "#0969da"
    code_bg: str = "#f6f8fa"
    code_header_bg: str = "#eaeef2"
    border: str = "#d0d7de"
    inline_code_bg: str = "#eff1f3"
    quote_bar: str = "#8c959f"
    error_bg: str = "#ffebe9"
    error_border: str = "#cf222e"
    warn_bg: str = "#fff8c5"
    warn_border: str = "#bf8700"
    pygments_style: str = highlight.LIGHT_STYLE
    dark: bool = False

    @classmethod
    def light(cls) -> Theme:
        return cls()

    @classmethod
    def dark_theme(cls) -> Theme:
        return cls(
            text="#e6edf3",
            muted="#8d96a0",
            link="#4493f8",
            code_bg="#272822",
            code_header_bg="#343941",
            border="#3d444d",
            inline_code_bg="#343941",
            quote_bar="#6e7681",
            error_bg="#3c1618",
            error_border="#f85149",
            warn_bg="#3a2e0b",
            warn_border="#d29922",
            pygments_style=highlight.DARK_STYLE,
            dark=True,
        )


# --------------------------------------------------------------------------- blocks


@dataclass(frozen=True, slots=True)
class FenceState:
    """Where a split stopped inside a long fence: how to read the next segment."""

    fence: str
    language: str
    indent: int
    segment: int


@dataclass(frozen=True, slots=True)
class Block:
    """A top-level markdown block: ``kind`` is ``"md"`` or ``"fence"``.

    Long fences come in segments of :data:`SEGMENT_LINES` lines (``segment`` counts
    them, ``more`` says another follows) and long lists in segments of
    :data:`SEGMENT_ITEMS` items, so that streaming a 2,000-line file or a 500-item list
    re-renders at most one segment per frame. Segments are stacked without gaps.
    """

    kind: str
    text: str
    closed: bool = True  # False for the open tail while streaming
    language: str = ""  # fences only
    partial_line: bool = False  # the tail ends in a line without its newline yet
    end: int = 0  # closed blocks: offset just after the block in the split text
    segment: int = 0
    more: bool = False
    has_close: bool = False  # the text ends with the closing fence line
    indent: int = 0  # of the opening fence (continuation lines are dedented by it)
    continues: FenceState | None = None  # for ``more``: the state after this block


@dataclass(slots=True)
class _Open:
    kind: str
    start: int
    fence: str = ""
    language: str = ""
    list_like: bool = False
    quote_like: bool = False
    blank_seen: bool = False
    segment: int = 0
    indent: int = 0
    code_lines: int = 0
    items: int = 0  # top-level list items so far
    list_indent: int = 0


SEGMENT_LINES = 40  # code lines per segment of a long fence
SEGMENT_ITEMS = 20  # top-level items per segment of a long list
SEGMENT_MARK = "<!--palaver:segment-->"  # ends the HTML of a segment that continues


def _fence_closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return (
        len(line) - len(line.lstrip(" ")) <= 3
        and stripped.startswith(fence)
        and set(stripped) == {fence[0]}
    )


def split_blocks(
    text: str, *, final: bool, resume: FenceState | None = None
) -> tuple[list[Block], Block | None, int]:
    """Split ``text`` into closed blocks and the open tail.

    Returns ``(closed, tail, consumed)``: ``consumed`` is the offset where the tail (or
    whatever follows the last closed block) starts. With ``final`` the last, unterminated
    line counts as complete and every block is closed. ``resume`` continues a long fence
    whose earlier segments were split off before (``Block.continues``).
    """
    closed: list[Block] = []
    cur: _Open | None = None
    if resume is not None:
        cur = _Open(
            "fence", 0, resume.fence, resume.language, segment=resume.segment, indent=resume.indent
        )
    pos = 0
    consumed = 0
    n = len(text)

    def close(end: int, *, has_close: bool = False, more: bool = False) -> None:
        nonlocal cur, consumed
        assert cur is not None
        body = text[cur.start : end]
        if cur.kind == "fence":
            state = (
                FenceState(cur.fence, cur.language, cur.indent, cur.segment + 1) if more else None
            )
            closed.append(
                Block(
                    "fence",
                    body,
                    True,
                    cur.language,
                    end=end,
                    segment=cur.segment,
                    more=more,
                    has_close=has_close,
                    indent=cur.indent,
                    continues=state,
                )
            )
            cur = (
                None
                if state is None
                else _Open(
                    "fence",
                    end,
                    state.fence,
                    state.language,
                    segment=state.segment,
                    indent=state.indent,
                )
            )
        else:
            closed.append(Block("md", body.rstrip("\n"), end=end, more=more))
            cur = None
        consumed = end

    def start(line: str, at: int) -> None:
        nonlocal cur
        is_item = bool(_LIST_ITEM.match(line))
        cur = _Open(
            "md",
            at,
            list_like=is_item,
            quote_like=bool(_QUOTE.match(line)),
            items=int(is_item),
            list_indent=len(line) - len(line.lstrip(" ")),
        )

    while pos < n:
        nl = text.find("\n", pos)
        if nl < 0:
            if not final:
                break
            line_end = n
        else:
            line_end = nl + 1
        line = text[pos:line_end].rstrip("\n")
        if cur is not None and cur.kind == "fence":
            if _fence_closes(line, cur.fence):
                close(line_end, has_close=True)
            else:
                if cur.code_lines >= SEGMENT_LINES:
                    close(pos, more=True)  # this line starts the next segment
                    assert cur is not None
                cur.code_lines += 1
            pos = line_end
            continue
        fence = _FENCE_OPEN.match(line)
        if fence and not (fence["fence"][0] == "`" and "`" in fence["info"]):
            if cur is not None:
                close(pos)
            consumed = pos
            cur = _Open(
                "fence",
                pos,
                fence=fence["fence"],
                language=fence["info"].split(" ")[0],
                indent=len(line) - len(line.lstrip(" ")),
            )
            pos = line_end
            continue
        if not line.strip():
            if cur is None:
                consumed = line_end  # blank lines between blocks belong to no block
            else:
                cur.blank_seen = True
            pos = line_end
            continue
        if _HEADING.match(line):
            if cur is not None:
                close(pos)
            cur = _Open("md", pos)
            close(line_end)
            pos = line_end
            continue
        if cur is None:
            start(line, pos)
        elif (
            cur.list_like
            and _LIST_ITEM.match(line)
            and len(line) - len(line.lstrip(" ")) <= cur.list_indent + 1
        ):
            if cur.items >= SEGMENT_ITEMS:
                close(pos, more=True)  # a long list goes on in a new segment
                start(line, pos)
            else:
                cur.items += 1
                cur.blank_seen = False
        elif cur.blank_seen:
            indented = len(line) - len(line.lstrip(" \t")) >= 2
            continues_list = cur.list_like and (bool(_LIST_ITEM.match(line)) or indented)
            continues_quote = cur.quote_like and bool(_QUOTE.match(line))
            if continues_list or continues_quote:
                cur.blank_seen = False
            else:
                close(pos)
                start(line, pos)
        pos = line_end

    if final:
        if cur is not None:
            close(n)
        return closed, None, n
    partial = pos < n
    if cur is None:
        if not partial:
            return closed, None, consumed
        line = text[pos:]
        fence = _FENCE_OPEN.match(line)
        if fence:
            language = fence["info"].split(" ")[0]
            indent = len(line) - len(line.lstrip(" "))
            return closed, Block("fence", text[pos:], False, language, True, indent=indent), pos
        return closed, Block("md", text[pos:], False, partial_line=True), pos
    body = text[cur.start :]
    if cur.kind == "fence":
        tail = Block(
            "fence",
            body,
            False,
            cur.language,
            partial,
            segment=cur.segment,
            indent=cur.indent,
        )
        return closed, tail, cur.start
    return closed, Block("md", body, False, partial_line=partial), cur.start


# --------------------------------------------------------------------------- context


@dataclass(slots=True)
class RenderContext:
    """Per-message registry behind the ``copy:N`` and ``loadimg:N`` anchors.

    Finished blocks register for good; the streaming tail registers in a scratch area
    (:meth:`begin_tail` / :meth:`end_tail`) so a half-written tail never shifts numbers.
    """

    codes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    loaded: set[str] = field(default_factory=set)  # image URLs whose bytes the view holds
    tail_codes: list[str] = field(default_factory=list)
    tail_images: list[str] = field(default_factory=list)
    open_fence: int | None = None  # code index of a long fence whose segments still come
    _marks: tuple[int, int] | None = None

    def clear(self) -> None:
        """Forget every registration (before the message is rendered again)."""
        self.codes.clear()
        self.images.clear()
        self.tail_codes, self.tail_images = [], []
        self.open_fence = None

    def add_code(self, code: str) -> int:
        self.codes.append(code)
        return len(self.codes) - 1

    def add_image(self, url: str) -> int:
        if url in self.images:
            return self.images.index(url)
        self.images.append(url)
        return len(self.images) - 1

    def begin_tail(self) -> None:
        self._marks = (len(self.codes), len(self.images))

    def end_tail(self) -> None:
        assert self._marks is not None
        codes, images = self._marks
        self.tail_codes = self.codes[codes:]
        self.tail_images = self.images[images:]
        del self.codes[codes:], self.images[images:]
        self._marks = None

    def code(self, index: int) -> str | None:
        every = self.codes + self.tail_codes
        return every[index] if 0 <= index < len(every) else None

    def image(self, index: int) -> str | None:
        every = self.images + self.tail_images
        return every[index] if 0 <= index < len(every) else None


def is_safe_url(url: str) -> bool:
    """True only for absolute ``http``/``https`` URLs with a host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in SAFE_SCHEMES and bool(parts.hostname)


# --------------------------------------------------------------------------- renderer


class _Sanitiser:
    """Rewrites the element tree: inert links, image placeholders, styled code/quotes/tables."""

    def __init__(self, renderer: MarkdownRenderer) -> None:
        self.renderer = renderer
        self.ctx = RenderContext()

    def run(self, root: ET.Element) -> None:
        theme = self.renderer.theme
        for parent in list(root.iter()):
            for index, child in enumerate(list(parent)):
                replacement = self._rewrite(child, theme)
                if replacement is not None:
                    replacement.tail = child.tail
                    parent.remove(child)
                    parent.insert(index, replacement)

    def _rewrite(self, el: ET.Element, theme: Theme) -> ET.Element | None:
        tag = el.tag
        if tag == "a":
            href = el.get("href", "")
            title = el.get("title")
            el.attrib.clear()
            if is_safe_url(href):
                el.set("href", href.strip())
                el.set("title", title or href.strip())
                el.set("style", f"color:{theme.link}")
                return None
            el.tag = "span"  # inert: no anchor, nothing to activate
            return None
        if tag == "img":
            return self._image(el.get("src", ""), el.get("alt", ""), theme)
        if tag == "code":
            el.set("style", f"background-color:{theme.inline_code_bg}; font-family:monospace")
            return None
        if tag == "pre":
            code_el = el.find("code")
            code = "".join(code_el.itertext()) if code_el is not None else "".join(el.itertext())
            return _fragment(self.renderer.code_box(code.rstrip("\n"), "", self.ctx))
        if tag == "blockquote":
            return self._quote(el, theme)
        if tag == "table":
            el.set("border", "1")
            el.set("cellspacing", "0")
            el.set("cellpadding", "5")
            el.set("style", f"border-collapse:collapse; border-color:{theme.border}; margin:4px 0")
            cell = f"border:1px solid {theme.border}; padding:4px 8px"
            for th in el.iter("th"):
                th.set(
                    "style",
                    f"{cell}; background-color:{theme.code_header_bg}; {th.get('style', '')}",
                )
            for td in el.iter("td"):
                td.set("style", f"{cell}; {td.get('style', '')}")  # keeps text-align
            return None
        return None

    def _image(self, src: str, alt: str, theme: Theme) -> ET.Element:
        import xml.etree.ElementTree as ET

        label = alt.strip() or "image"
        if not is_safe_url(src):
            span = ET.Element("span", style=f"color:{theme.muted}")
            span.text = f"[Image: {label} — not loaded: unsupported address]"
            return span
        src = src.strip()
        n = self.ctx.add_image(src)
        if src in self.ctx.loaded:
            return ET.Element("img", src=f"image:{n}", alt=label)
        host = urlsplit(src).hostname or ""
        a = ET.Element("a", href=f"loadimg:{n}", title=src, style=f"color:{theme.link}")
        a.text = f"[Image: {label} — click to load {host}]"
        return a

    def _quote(self, el: ET.Element, theme: Theme) -> ET.Element:
        import xml.etree.ElementTree as ET

        table = ET.Element(
            "table", width="100%", cellspacing="0", cellpadding="0", style="margin:4px 0"
        )
        tr = ET.SubElement(table, "tr")
        ET.SubElement(tr, "td", width="4", bgcolor=theme.quote_bar).text = " "
        td = ET.SubElement(tr, "td", style=f"padding-left:10px; color:{theme.muted}")
        td.text = el.text
        for child in list(el):
            td.append(child)
        return table


def _fragment(markup: str) -> ET.Element:
    """Raw markup as an element for the tree: stashed so the serializer keeps it verbatim."""
    import xml.etree.ElementTree as ET

    holder = ET.Element("div")
    holder.text = markup
    holder.set("data-raw", "1")
    return holder


class MarkdownRenderer:
    """Converts blocks to HTML with ONE reused ``markdown.Markdown`` (``reset()`` per call)."""

    def __init__(self, theme: Theme | None = None) -> None:
        import markdown
        from markdown.treeprocessors import Treeprocessor

        self.theme = theme or Theme.light()
        self._sanitiser = _Sanitiser(self)
        self._raw: list[str] = []
        md = markdown.Markdown(extensions=["tables", "sane_lists"], output_format="html")
        md.preprocessors.deregister("html_block")  # raw HTML blocks → escaped text
        md.inlinePatterns.deregister("html")  # inline tags → escaped text
        sanitiser = self._sanitiser
        raw = self._raw

        class _Tree(Treeprocessor):
            def run(self, root: ET.Element) -> None:
                sanitiser.run(root)
                # Verbatim fragments go through the stash so they are not escaped.
                for el in root.iter("div"):
                    if el.get("data-raw"):
                        raw.append(el.text or "")
                        el.attrib.clear()
                        el.text = f"\x02raw{len(raw) - 1}\x03"

        md.treeprocessors.register(_Tree(md), "palaver_sanitise", 15)
        self._md = md

    # -- blocks

    def render_block(self, block: Block, ctx: RenderContext) -> str:
        """HTML for one block; registers its code and images in ``ctx``."""
        if block.kind == "fence":
            return self._fence(block, ctx)
        text = block.text
        if not block.closed and block.partial_line and _looks_like_table(text):
            text = text[: text.rfind("\n") + 1]  # hide a half-written table row
        if _LIST_ITEM.match(text):
            text = _normalise_list_indent(text)
        out = _plain_html(text)
        if out is None:
            out = self.markdown_html(text, ctx)
        return out + SEGMENT_MARK if block.more else out

    def markdown_html(self, text: str, ctx: RenderContext) -> str:
        self._sanitiser.ctx = ctx
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
        code = _fence_code(block)
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
        out = self.code_box(
            code,
            block.language,
            copy_index=n,
            header=block.segment == 0,
            bottom=not (block.closed and block.more),
        )
        return out + SEGMENT_MARK if block.closed and block.more else out

    def code_box(
        self,
        code: str,
        language: str,
        ctx: RenderContext | None = None,
        *,
        copy_index: int | None = None,
        header: bool = True,
        bottom: bool = True,
    ) -> str:
        """A code box: a language label and a ``copy:N`` link over highlighted code.

        Segments of one long fence stack without gaps: only the first has the header,
        only the last the bottom border (borders are drawn per side for that).
        """
        t = self.theme
        n = copy_index if copy_index is not None else (ctx.add_code(code) if ctx else -1)
        body = highlight.highlight_html(code, language, t.pygments_style) or " "
        bg = highlight.style_background(t.pygments_style)
        side = f"border-left:1px solid {t.border}; border-right:1px solid {t.border}"
        rows = ""
        if header:
            label = html.escape(language or "code")
            copy = (
                f'<a href="copy:{n}" title="Copy code" '
                f'style="color:{t.link}; font-size:small; text-decoration:none">Copy</a>'
                if n >= 0
                else ""
            )
            rows += (
                f'<tr><td style="background-color:{t.code_header_bg}; padding:3px 8px; {side}; '
                f'border-top:1px solid {t.border}">'
                f'<table width="100%" cellspacing="0" cellpadding="0"><tr>'
                f'<td><span style="color:{t.muted}; font-size:small">{label}</span></td>'
                f'<td align="right">{copy}</td></tr></table></td></tr>'
            )
        edge = f"; border-bottom:1px solid {t.border}" if bottom else ""
        pad = f"{8 if header else 0}px 8px {8 if bottom else 0}px 8px"
        rows += (
            f'<tr><td style="background-color:{bg}; padding:{pad}; {side}{edge}">'
            f'<pre style="white-space:pre-wrap; margin:0">{body}</pre></td></tr>'
        )
        margin = f"{6 if header else 0}px 0 {6 if bottom else 0}px 0"
        return (
            f'<table width="100%" cellspacing="0" cellpadding="0" '
            f'style="border-collapse:collapse; margin:{margin}">{rows}</table>'
        )

    def error_box(self, message: str, *, retry: bool, warning: bool = False) -> str:
        """An inline box in plain words, with a ``retry:`` link."""
        t = self.theme
        bg, border = (t.warn_bg, t.warn_border) if warning else (t.error_bg, t.error_border)
        link = f' &nbsp;<a href="retry:" style="color:{t.link}">Retry</a>' if retry else ""
        return (
            f'<table width="100%" cellspacing="0" cellpadding="8" border="1" '
            f'style="border-collapse:collapse; border-color:{border}; margin:4px 0">'
            f'<tr><td style="background-color:{bg}">{html.escape(message)}{link}</td></tr></table>'
        )

    def tool_call(self, index: int, name: str, arguments: str, *, expanded: bool) -> str:
        """A collapsible block: ``tool:N`` toggles it; arguments pretty-printed JSON."""
        t = self.theme
        arrow = "▾" if expanded else "▸"
        head = (
            f'<a href="tool:{index}" style="color:{t.text}; text-decoration:none">'
            f"{arrow} Tool call: <b>{html.escape(name)}</b></a>"
        )
        body = ""
        if expanded:
            pretty = pretty_json(arguments)
            code = highlight.highlight_html(pretty, "json", t.pygments_style)
            bg = highlight.style_background(t.pygments_style)
            body = (
                f'<tr><td style="background-color:{bg}; padding:8px">'
                f'<pre style="white-space:pre-wrap; margin:0">{code}</pre></td></tr>'
            )
        return (
            f'<table width="100%" cellspacing="0" cellpadding="0" border="1" '
            f'style="border-collapse:collapse; border-color:{t.border}; margin:4px 0">'
            f'<tr><td style="background-color:{t.code_header_bg}; padding:4px 8px">{head}</td></tr>'
            f"{body}</table>"
        )


def _fence_code(block: Block) -> str:
    """The code lines of a fence block (or segment), dedented by the fence's indent."""
    text = block.text
    if block.segment == 0:  # drop the opening fence line
        nl = text.find("\n")
        text = "" if nl < 0 else text[nl + 1 :]
    lines = text.split("\n")
    if not block.closed and block.partial_line:
        lines.pop()  # the unfinished line waits for its newline
    elif lines and lines[-1] == "":
        lines.pop()
    if block.has_close and lines:
        lines.pop()
    if block.indent:
        lines = [line[min(block.indent, len(line) - len(line.lstrip(" "))) :] for line in lines]
    return "\n".join(lines)


def pretty_json(text: str) -> str:
    """Indented JSON, or the text unchanged when it is not (yet) valid JSON."""
    import json

    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _normalise_list_indent(text: str) -> str:
    """Re-indent nested list lines to Python-Markdown's 4 spaces per level.

    Models nest with 2 or 3 spaces (CommonMark: a line belongs to an item when it is
    indented to the item's content column); Python-Markdown wants 4 per level.
    """
    out: list[str] = []
    stack: list[int] = []  # content columns of the open items
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        k = len(line) - len(stripped)
        if not stripped or (k == 0 and not _LIST_ITEM.match(line)):
            out.append(line)
            continue
        while stack and k < stack[-1]:
            stack.pop()
        item = _LIST_ITEM.match(stripped)
        if item:
            marker = item.group(0).rstrip()
            rest = stripped[len(marker) :]
            content = k + len(marker) + max(1, len(rest) - len(rest.lstrip(" ")))
            out.append(" " * (4 * len(stack)) + stripped)
            stack.append(content)
        else:
            extra = k - stack[-1] if stack else k
            out.append(" " * (4 * len(stack) + max(0, extra)) + stripped)
    return "\n".join(out)


def _plain_html(text: str) -> str | None:
    """What Markdown makes of a plain paragraph or ATX heading, without running it.

    A fast path (Markdown's fixed cost is ~0.3 ms per block): ``None`` when the text has
    anything Markdown could act on.
    """
    heading = _ATX_PLAIN.match(text)
    if heading and _PLAIN_TEXT.fullmatch(heading[2]):
        level = len(heading[1])
        return f"<h{level}>{heading[2]}</h{level}>"
    if not text or not _PLAIN_TEXT.fullmatch(text):
        return None
    lines = text.split("\n")
    if any(_PLAIN_LINE_START.match(line) or line.endswith(" ") for line in lines):
        return None
    return f"<p>{text}</p>"


def _looks_like_table(text: str) -> bool:
    lines = text.split("\n")
    return len(lines) >= 2 and any(_TABLE_RULE.match(line) and "-" in line for line in lines[1:3])


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
