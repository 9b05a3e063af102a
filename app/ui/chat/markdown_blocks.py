"""Markdown split into top-level blocks, from complete lines only (no Qt, no Markdown).

:func:`split_blocks` finds the closed blocks and the open tail of a (streaming) text: a block
is final once the next one begins. Boundaries are decided from complete lines only, so those
found in a prefix hold in the full text. Long fences and lists come in segments, so a
streamed 2,000-line file re-renders one segment per frame. The block-text helpers below
prepare a block for the renderer (fence code, list indents, the plain-paragraph fast path).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_QUOTE = re.compile(r"^ {0,3}>")
_TABLE_RULE = re.compile(r"^ *\|? *:?-+:? *(?:\| *:?-+:? *)*\|? *$")
# Text that Markdown would pass through unchanged: no inline syntax, no entities, no
# line that could start a block or a hard break. Most streamed prose is like this.
_PLAIN_TEXT = re.compile(r"[^`*_\[\]<>!&\\|~]*")
_PLAIN_LINE_START = re.compile(r"^(?:[ \t#=+*>~-]|\d+[.)]|$)")
_ATX_PLAIN = re.compile(r"^(#{1,6}) ([^#\n]*[^#\s\n])$")


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
        is_item = bool(LIST_ITEM.match(line))
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
            and LIST_ITEM.match(line)
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
            continues_list = cur.list_like and (bool(LIST_ITEM.match(line)) or indented)
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


# --------------------------------------------------------------------------- block text


def fence_code(block: Block) -> str:
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


def normalise_list_indent(text: str) -> str:
    """Re-indent nested list lines to Python-Markdown's 4 spaces per level.

    Models nest with 2 or 3 spaces (CommonMark: a line belongs to an item when it is
    indented to the item's content column); Python-Markdown wants 4 per level.
    """
    out: list[str] = []
    stack: list[int] = []  # content columns of the open items
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        k = len(line) - len(stripped)
        if not stripped or (k == 0 and not LIST_ITEM.match(line)):
            out.append(line)
            continue
        while stack and k < stack[-1]:
            stack.pop()
        item = LIST_ITEM.match(stripped)
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


def plain_html(text: str) -> str | None:
    """What Markdown makes of a plain paragraph or ATX heading, without running it.

    A fast path (Markdown's fixed cost is ~0.3 ms per block): ``None`` when the text has
    anything Markdown could act on.
    """
    if "://" in text or "www." in text:
        return None  # a bare address becomes a link
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


def looks_like_table(text: str) -> bool:
    lines = text.split("\n")
    return len(lines) >= 2 and any(_TABLE_RULE.match(line) and "-" in line for line in lines[1:3])
