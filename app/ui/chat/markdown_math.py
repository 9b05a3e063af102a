"""Math in Markdown (no Qt): find ``$…$``, ``\\(…\\)``, ``$$…$$`` and ``\\[…\\]``, render them.

The renderer takes each formula out of a block before Markdown sees it (a placeholder
stands in, so Markdown's escapes never touch the LaTeX) and puts the HTML back after. A
formula is a ``copy:N`` anchor: clicking it copies its LaTeX source. One that does not
parse is shown as its source, in code style, so nothing is lost. Rendered formulas are
cached by source, so a streaming tail re-rendered every frame costs a dictionary lookup.

Dollar signs follow Pandoc's rule so prices stay prices: an opening ``$`` is not followed
by a space, a closing one is not preceded by a space nor followed by a digit.
"""

from __future__ import annotations

import html
import re
from collections import OrderedDict
from collections.abc import Callable

from app.ui.chat.tex_html import MATH_FONT, Emitter
from app.ui.chat.tex_parse import TexError, parse

PLACEHOLDER = re.compile("\ue000pvm(\\d+)\ue001")
_ALONE = re.compile("<p>\ue000pvm(\\d+)\ue001</p>")
_CACHE_SIZE = 1024
_INDEX = "\x01"  # where the anchor's number goes in a cached rendering


def might_have_math(text: str) -> bool:
    return "$" in text or "\\(" in text or "\\[" in text


def extract(text: str) -> tuple[str, list[tuple[str, bool]]]:
    """``text`` with each formula replaced by a placeholder, and the formulas found.

    Each formula is ``(source, display)``; an escaped ``\\$`` becomes a literal ``$``
    (source ``"$"`` with display ``None``-like marker: see :func:`Maths.html`).
    """
    out: list[str] = []
    found: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    start = 0

    def stash(source: str, display: bool) -> None:
        out.append(f"\ue000pvm{len(found)}\ue001")
        found.append((source, display))

    while i < n:
        ch = text[i]
        if ch == "`":
            run = len(text) - len(text[i:].lstrip("`"))
            ticks = text[i:run]
            close = text.find(ticks, run)
            i = run if close < 0 else close + len(ticks)
            continue
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            closer = {"(": "\\)", "[": "\\]"}.get(nxt)
            if closer is not None:
                end = text.find(closer, i + 2)
                if end > i + 2:
                    out.append(text[start:i])
                    stash(text[i + 2 : end], nxt == "[")
                    i = start = end + 2
                    continue
            if nxt == "$":
                out.append(text[start:i])
                stash("$", False)
                i = start = i + 2
                continue
            i += 2
            continue
        if ch == "$":
            if text.startswith("$$", i):
                end = text.find("$$", i + 2)
                if end > i + 2:
                    out.append(text[start:i])
                    stash(text[i + 2 : end], True)
                    i = start = end + 2
                    continue
                i += 2
                continue
            end = _inline_close(text, i)
            if end > 0:
                out.append(text[start:i])
                stash(text[i + 1 : end], False)
                i = start = end + 1
                continue
        i += 1
    if not found:
        return text, found
    out.append(text[start:])
    return "".join(out), found


def _inline_close(text: str, i: int) -> int:
    """Where the ``$`` opened at ``i`` closes, or -1 (a price, a lone dollar)."""
    if i + 1 >= len(text) or text[i + 1].isspace():
        return -1
    j = i + 1
    while True:
        j = text.find("$", j)
        if j < 0 or text.find("\n\n", i, j) >= 0:
            return -1
        if text[j - 1] == "\\":
            j += 1
            continue
        if not text[j - 1].isspace() and not (j + 1 < len(text) and text[j + 1].isdigit()):
            return j
        return -1


class Maths:
    """Renders formulas for one theme colour, with a cache of what it rendered."""

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[str, bool, str], str] = OrderedDict()

    def put_back(
        self,
        out: str,
        found: list[tuple[str, bool]],
        *,
        colours: tuple[str, str],
        register: Callable[[str], int],
    ) -> str:
        """``out`` (HTML with placeholders) with every formula rendered in place.

        ``colours`` is (text, code background); ``register`` files a source for ``copy:N``.
        """

        def alone(m: re.Match[str]) -> str:
            source, display = found[int(m[1])]
            return self.html(source, display, colours, register) if display else m[0]

        out = _ALONE.sub(alone, out)
        return PLACEHOLDER.sub(lambda m: self.html(*found[int(m[1])], colours, register), out)

    def html(
        self, source: str, display: bool, colours: tuple[str, str], register: Callable[[str], int]
    ) -> str:
        if source == "$" and not display:
            return "$"
        key = (source, display, colours[0])
        cached = self._cache.get(key)
        if cached is None:
            cached = self._render(source, display, colours)
            self._cache[key] = cached
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return cached.replace(_INDEX, str(register(source.strip())))

    def _render(self, source: str, display: bool, colours: tuple[str, str]) -> str:
        text, code_bg = colours
        link = f'<a href="copy:{_INDEX}" style="color:{text}; text-decoration:none">'
        try:
            tree = parse(source)
            emitter = Emitter(text, link)
            if display:
                return f'<div style="font-family:{MATH_FONT}">{emitter.display(tree)}</div>'
            return f'<span style="font-family:{MATH_FONT}">{emitter.inline(tree)}</span>'
        except (TexError, RecursionError):
            shown = html.escape(f"$${source}$$" if display else f"${source}$")
            return (
                f'{link}<code style="background-color:{code_bg}; font-family:monospace">'
                f"{shown}</code></a>"
            )
