"""A parsed formula as QTextDocument HTML (no Qt): text, not pictures.

Inline math is one line of rich text (italic letters, sub/superscripts, ⁄ fractions, √ with
an overline). Display math is laid out with nested tables: fractions stacked over a rule,
limits above and below big operators, matrices as grids with tall delimiters. Text stays
text, so it selects, copies, scales with the font and follows the theme without images.
"""

from __future__ import annotations

import html

from app.ui.chat import tex_parse as tp
from app.ui.chat import tex_symbols as sym

MATH_FONT = "'Latin Modern Math','STIX Two Math','Cambria Math','DejaVu Serif',serif"
_REL_SPACE = "\u00a0"  # about a quarter em around relations; kept at cell edges
_BIN_SPACE = "\u00a0"  # around binary operators (a math space would vanish at a cell edge)
_UNARY_AFTER = {None, "rel", "bin", "open", "punct", "op"}
_LINE_PX = 18  # height of one line of math, for tall delimiters
_MAX_LINES = 4  # taller ones stay this size: each size is one more font to load


class Emitter:
    """Turns a tree into HTML; ``line`` is the colour of fraction rules.

    ``link`` (an opening ``<a …>``) wraps every run of text, so a click anywhere on the
    formula activates it.
    """

    def __init__(self, line: str, link: str = "") -> None:
        self.line = line
        self.link = link
        self._font: str | None = None
        self._script = 0  # inside sub/superscripts: relations and operators go unspaced

    # ------------------------------------------------------------------ inline

    def inline(self, node: tp.Node) -> str:
        out = self._inline(node).replace("</i><i>", "")
        return f"{self.link}{out}</a>" if self.link else out

    def _inline(self, node: tp.Node) -> str:
        if isinstance(node, tp.Group):
            return self._row(node.items)
        if isinstance(node, tp.Sym):
            return self._sym(node, None)
        if isinstance(node, tp.Frac):
            num, den = self._inline(node.num), self._inline(node.den)
            if not node.line:
                return f"<sup>{num}</sup><sub>{den}</sub>"
            if _atomic(node.num) and _atomic(node.den):
                return f"<sup>{num}</sup>\u2044<sub>{den}</sub>"
            return f"{_paren(node.num, num)}/{_paren(node.den, den)}"
        if isinstance(node, tp.Root):
            index = f"<sup>{self._inline(node.index)}</sup>" if node.index else ""
            body = self._inline(node.body)
            return f'{index}√<span style="text-decoration:overline">{body}</span>'
        if isinstance(node, tp.Big):
            return html.escape(node.text) if node.name else node.text
        if isinstance(node, tp.Scripts):
            out = self._inline(node.base)
            if node.sub is not None:
                out += f"<sub>{self._script_text(node.sub)}</sub>"
            if node.sup is not None:
                out += f"<sup>{self._script_text(node.sup)}</sup>"
            return out
        if isinstance(node, tp.Over):
            out = self._inline(node.base)
            if node.above is not None:
                out += f"<sup>{self._inline(node.above)}</sup>"
            if node.below is not None:
                out += f"<sub>{self._inline(node.below)}</sub>"
            return out
        if isinstance(node, tp.Accent):
            return self._accent(node)
        if isinstance(node, tp.Styled):
            return self._styled(node, self._inline)
        if isinstance(node, tp.Text):
            return f'<span style="white-space:pre">{html.escape(node.text)}</span>'
        if isinstance(node, tp.Fenced):
            return f"{html.escape(node.left)}{self._inline(node.body)}{html.escape(node.right)}"
        if isinstance(node, tp.Table):
            rows = ["\u2003".join(self._inline(c) for c in row) for row in node.rows]
            return f"{html.escape(node.left)}{'; '.join(rows)}{html.escape(node.right)}"
        return "\u2003"  # a line break inside inline math

    def _script_text(self, group: tp.Group) -> str:
        self._script += 1
        try:
            return self._inline(group)
        finally:
            self._script -= 1

    def _limit(self, group: tp.Group) -> str:
        """A limit or script in display math: small, unspaced."""
        self._script += 1
        try:
            return _small(self.inline(group))
        finally:
            self._script -= 1

    def _row(self, items: list[tp.Node]) -> str:
        out, prev = [], None
        for node in items:
            if isinstance(node, tp.Sym):
                out.append(self._sym(node, prev))
                prev = node.kind if node.kind != "space" else prev
            else:
                out.append(self._inline(node))
                prev = "op" if isinstance(node, tp.Big) else "ord"
        return "".join(out)

    def _sym(self, node: tp.Sym, prev: str | None) -> str:
        text = html.escape(node.text, quote=False)
        if node.kind == "var":
            if self._font in sym.FONTS:
                return html.escape(sym.styled(self._font, node.text))
            return f"<i>{text}</i>"
        if node.kind == "num" and self._font is not None:
            return html.escape(sym.styled(self._font, node.text))
        if node.kind in ("rel", "bin") and self._script:
            return text
        if node.kind == "rel":
            return f"{_REL_SPACE}{text}{_REL_SPACE}"
        if node.kind == "bin":
            return text if prev in _UNARY_AFTER else f"{_BIN_SPACE}{text}{_BIN_SPACE}"
        if node.kind == "punct" and node.text in ",;":
            return text + "\u2009"
        return text

    def _accent(self, node: tp.Accent) -> str:
        body = self._inline(node.body)
        if node.mark in ("overline", "underline"):
            return f'<span style="text-decoration:{node.mark}">{body}</span>'
        if body.endswith("</i>"):
            return body[:-4] + node.mark + "</i>"
        return body + node.mark

    def _styled(self, node: tp.Styled, emit: object) -> str:
        outer, self._font = self._font, node.font
        try:
            out = emit(node.body)  # type: ignore[operator]
        finally:
            self._font = outer
        return str(out)

    # ------------------------------------------------------------------ display

    def display(self, group: tp.Group) -> str:
        """Centred lines (one per ``\\\\``), each a one-row table of cells."""
        lines: list[list[tp.Node]] = [[]]
        for node in group.items:
            if isinstance(node, tp.Break):
                lines.append([])
            else:
                lines[-1].append(node)
        return "".join(
            f'<table align="center" cellspacing="0" cellpadding="0" style="margin:6px 0">'
            f"<tr>{self._cells(tp.Group(line))}</tr></table>"
            for line in lines
            if line
        )

    def _cells(self, node: tp.Node) -> str:
        """One or more ``<td>`` for ``node`` laid out in display style."""
        if not _tall(node):
            return _td(self.inline(node))
        if isinstance(node, tp.Group):
            return self._group_cells(node.items)
        if isinstance(node, tp.Frac):
            return _td(self._stack(node.num, node.den, rule=node.line))
        if isinstance(node, tp.Big):
            return _td(self._big(node))
        if isinstance(node, tp.Scripts):
            return self._script_cells(node)
        if isinstance(node, tp.Over):
            rows = []
            if node.above is not None:
                rows.append(self._limit(node.above))
            rows.append(self._block(node.base))
            if node.below is not None:
                rows.append(self._limit(node.below))
            return _td(_column(rows))
        if isinstance(node, tp.Root):
            index = f"<sup>{self.inline(node.index)}</sup>" if node.index else ""
            px = _LINE_PX * min(_height(node.body), _MAX_LINES)
            return _td(f'{index}<span style="font-size:{px}px">√</span>') + _td(
                self._block(node.body), style=f"border-top:1px solid {self.line}"
            )
        if isinstance(node, tp.Fenced):
            px = _LINE_PX * _height(node.body)
            return _delim(node.left, px) + self._cells(node.body) + _delim(node.right, px)
        if isinstance(node, tp.Table):
            return self._table_cells(node)
        if isinstance(node, tp.Styled):
            return str(self._styled(node, self._cells))
        return _td(self.inline(node))

    def _group_cells(self, items: list[tp.Node]) -> str:
        """Runs of flat items share one cell; each tall item gets its own."""
        out: list[str] = []
        run: list[tp.Node] = []
        for node in items:
            if _tall(node):
                if run:
                    out.append(_td(self.inline(tp.Group(run))))
                    run = []
                out.append(self._cells(node))
            else:
                if not run and out:
                    run.append(tp.Sym("", "ord"))  # "+" after a fraction is binary, not unary
                run.append(node)
        if run:
            out.append(_td(self.inline(tp.Group(run))))
        return "".join(out)

    def _block(self, group: tp.Node) -> str:
        """A group as the content of one cell: inline text, or a nested one-row table."""
        if not _tall(group):
            return self.inline(group)
        return f'<table cellspacing="0" cellpadding="0"><tr>{self._cells(group)}</tr></table>'

    def _stack(self, top: tp.Group, bottom: tp.Group, *, rule: bool) -> str:
        line = f"border-bottom:1px solid {self.line}; " if rule else ""
        return (
            '<table cellspacing="0" cellpadding="0">'
            f'<tr><td align="center" style="{line}padding:0 3px 1px 3px">{self._block(top)}</td></tr>'
            f'<tr><td align="center" style="padding:1px 3px 0 3px">{self._block(bottom)}</td></tr>'
            "</table>"
        )

    def _big(self, node: tp.Big) -> str:
        if node.name:
            return self.inline(tp.Group([tp.Sym(node.text, "op")]))
        big = f'<span style="font-size:x-large">{node.text}</span>'
        return f"{self.link}{big}</a>" if self.link else big

    def _script_cells(self, node: tp.Scripts) -> str:
        base = node.base
        if isinstance(base, tp.Big) and base.limits:
            rows = []
            if node.sup is not None:
                rows.append(self._limit(node.sup))
            rows.append(self._big(base))
            if node.sub is not None:
                rows.append(self._limit(node.sub))
            return _td(_column(rows))
        scripts = _column(
            [
                self._limit(node.sup) if node.sup is not None else "&nbsp;",
                self._limit(node.sub) if node.sub is not None else "&nbsp;",
            ],
            align="left",
        )
        return self._cells(base) + _td(scripts)

    def _table_cells(self, node: tp.Table) -> str:
        px = _LINE_PX * _height(node)
        aligns = node.align
        body = "".join(
            "<tr>"
            + "".join(
                f'<td align="{_ALIGN[aligns[k % len(aligns)]]}" style="padding:2px 6px">'
                f"{self._block(cell)}</td>"
                for k, cell in enumerate(row)
            )
            + "</tr>"
            for row in node.rows
        )
        grid = f'<table cellspacing="0" cellpadding="0">{body}</table>'
        return _delim(node.left, px) + _td(grid) + _delim(node.right, px)


_ALIGN = {"l": "left", "c": "center", "r": "right"}


def _td(content: str, *, style: str = "") -> str:
    return f'<td style="vertical-align:middle; {style}">{content}</td>'


def _small(content: str) -> str:
    return f'<span style="font-size:small">{content}</span>'


def _column(rows: list[str], *, align: str = "center") -> str:
    cells = "".join(f'<tr><td align="{align}">{r}</td></tr>' for r in rows)
    return f'<table cellspacing="0" cellpadding="0">{cells}</table>'


def _delim(text: str, px: int) -> str:
    if not text:
        return ""
    px = min(px, _LINE_PX * _MAX_LINES)
    return _td(f'<span style="font-size:{px}px">{html.escape(text)}</span>')


def _atomic(group: tp.Group) -> bool:
    """One symbol, number or name: a ⁄ fraction needs no brackets around it."""
    items = [n for n in group.items if not (isinstance(n, tp.Sym) and n.kind == "space")]
    if len(items) == 1 and isinstance(items[0], tp.Scripts | tp.Accent | tp.Styled):
        return True
    return (
        bool(items)
        and all(isinstance(n, tp.Sym) and n.kind in ("var", "num", "ord") for n in items)
        and len(items) <= 3
    )


def _paren(group: tp.Group, out: str) -> str:
    return out if _atomic(group) else f"({out})"


def _tall(node: tp.Node) -> bool:
    if isinstance(node, tp.Frac | tp.Table | tp.Over):
        return True
    if isinstance(node, tp.Big):
        return not node.name
    if isinstance(node, tp.Scripts):
        base = node.base
        return (isinstance(base, tp.Big) and (base.limits or not base.name)) or _tall(base)
    if isinstance(node, tp.Group):
        return any(_tall(n) for n in node.items)
    if isinstance(node, tp.Root | tp.Styled | tp.Accent):
        return _tall(node.body)
    if isinstance(node, tp.Fenced):
        return _tall(node.body)
    return False


def _height(node: tp.Node) -> int:
    """Lines of math ``node`` spans, for the size of its delimiters."""
    if isinstance(node, tp.Frac):
        return _height(node.num) + _height(node.den)
    if isinstance(node, tp.Table):
        return max(1, sum(max((_height(c) for c in row), default=1) for row in node.rows))
    if isinstance(node, tp.Group):
        return max((_height(n) for n in node.items), default=1)
    if isinstance(node, tp.Scripts):
        extra = 1 if isinstance(node.base, tp.Big) and node.base.limits else 0
        return _height(node.base) + extra
    if isinstance(node, tp.Root | tp.Styled | tp.Accent | tp.Fenced):
        return _height(node.body)
    if isinstance(node, tp.Over):
        return _height(node.base) + 1
    return 1
