"""LaTeX math → a small tree of nodes (no Qt): what the math renderer lays out.

Covers the math people and models write in chat: letters and numbers, Greek, operators
and relations, sub/superscripts, fractions and binomials, roots, big operators with
limits, accents, fonts (``\\mathbb`` …), ``\\text``, ``\\left … \\right`` and the matrix,
cases and aligned environments. Anything else raises :class:`TexError`, so the caller
can show the source instead of a wrong formula.
"""

from __future__ import annotations

import re

from app.ui.chat import tex_symbols as sym

_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|\s+|.", re.S)
_LIMIT = 2000  # tokens: a longer formula is shown as its source


class TexError(ValueError):
    """The formula could not be read."""


class Sym:
    """One symbol: ``kind`` is ord, var (italic letter), num, rel, bin, op (upright name),
    open, close, punct or space."""

    __slots__ = ("kind", "text")

    def __init__(self, text: str, kind: str) -> None:
        self.text, self.kind = text, kind


class Group:
    __slots__ = ("items",)

    def __init__(self, items: list[Node]) -> None:
        self.items = items


class Frac:
    __slots__ = ("den", "line", "num")

    def __init__(self, num: Group, den: Group, *, line: bool = True) -> None:
        self.num, self.den, self.line = num, den, line


class Root:
    __slots__ = ("body", "index")

    def __init__(self, body: Group, index: Group | None) -> None:
        self.body, self.index = body, index


class Big:
    """A big operator (∑, ∫ …) or a limit-taking name (lim, max)."""

    __slots__ = ("limits", "name", "text")

    def __init__(self, text: str, *, limits: bool, name: bool = False) -> None:
        self.text, self.limits, self.name = text, limits, name


class Scripts:
    __slots__ = ("base", "sub", "sup")

    def __init__(self, base: Node, sub: Group | None, sup: Group | None) -> None:
        self.base, self.sub, self.sup = base, sub, sup


class Over:
    """``\\overset``/``\\underset``: a small row above or below a base."""

    __slots__ = ("above", "base", "below")

    def __init__(self, base: Group, above: Group | None, below: Group | None) -> None:
        self.base, self.above, self.below = base, above, below


class Accent:
    __slots__ = ("body", "mark")

    def __init__(self, body: Group, mark: str) -> None:
        self.body, self.mark = body, mark  # a combining character, "overline" or "underline"


class Styled:
    __slots__ = ("body", "font")

    def __init__(self, font: str, body: Group) -> None:
        self.font, self.body = font, body


class Text:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Fenced:
    __slots__ = ("body", "left", "right")

    def __init__(self, left: str, body: Group, right: str) -> None:
        self.left, self.body, self.right = left, body, right


class Table:
    """An environment's grid: ``align`` per column ("c", "l", "r"), delimiters around it."""

    __slots__ = ("align", "left", "right", "rows")

    def __init__(self, rows: list[list[Group]], left: str, right: str, align: str) -> None:
        self.rows, self.left, self.right, self.align = rows, left, right, align


class Break:
    """``\\\\`` outside an environment: a new line of a display formula."""

    __slots__ = ()


Node = (
    Sym
    | Group
    | Frac
    | Root
    | Big
    | Scripts
    | Over
    | Accent
    | Styled
    | Text
    | Fenced
    | Table
    | Break
)

_ENVIRONMENTS = {
    "matrix": ("", "", "c"),
    "smallmatrix": ("", "", "c"),
    "pmatrix": ("(", ")", "c"),
    "bmatrix": ("[", "]", "c"),
    "Bmatrix": ("{", "}", "c"),
    "vmatrix": ("|", "|", "c"),
    "Vmatrix": ("‖", "‖", "c"),
    "cases": ("{", "", "l"),
    "aligned": ("", "", "rl"),
    "align": ("", "", "rl"),
    "align*": ("", "", "rl"),
    "split": ("", "", "rl"),
    "gathered": ("", "", "c"),
    "gather": ("", "", "c"),
    "gather*": ("", "", "c"),
    "array": ("", "", "c"),
    "equation": ("", "", "c"),
    "equation*": ("", "", "c"),
}
_FRACS = {"frac", "dfrac", "tfrac", "cfrac"}
_IGNORED = {
    "displaystyle", "textstyle", "scriptstyle", "limits", "nolimits", "nonumber", "notag",
    "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
    "biggl", "biggr", "Biggl", "Biggr", "middle",
}  # fmt: skip
_OPEN = set("([") | {"⟨", "⌈", "⌊", "{"}
_CLOSE = set(")]") | {"⟩", "⌉", "⌋", "}"}


def parse(source: str) -> Group:
    """The tree of ``source`` (without its ``$`` delimiters); :class:`TexError` if unreadable."""
    tokens = [t for t in _TOKEN.findall(source) if t != "\\\n"]
    if len(tokens) > _LIMIT:
        raise TexError("formula too long")
    parser = _Parser(tokens)
    group = parser.row(stop=None)
    if parser.i < len(tokens):
        raise TexError(f"unexpected {tokens[parser.i]!r}")
    return group


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str | None:
        while self.i < len(self.tokens) and self.tokens[self.i].isspace():
            self.i += 1
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise TexError("formula ends too early")
        self.i += 1
        return token

    def row(self, stop: set[str] | None) -> Group:
        items: list[Node] = []
        while (token := self.peek()) is not None:
            if stop is not None and token in stop:
                break
            if token == "}":
                raise TexError("unexpected '}'")
            if token == "&" and stop is None:  # alignment outside an environment: ignored
                self.i += 1
                continue
            if token in ("^", "_", "'"):
                self._scripts(items)
                continue
            node = self.atom()
            if node is not None:
                items.append(node)
        return Group(items)

    def _scripts(self, items: list[Node]) -> None:
        base = items.pop() if items else Sym("", "ord")
        if isinstance(base, Scripts) and isinstance(base.base, Big | Sym | Group):
            scripts = base
        else:
            scripts = Scripts(base, None, None)
        while (token := self.peek()) in ("^", "_", "'"):
            self.i += 1
            if token == "'":
                prime = Group([Sym("′", "ord")])
                scripts.sup = (
                    prime if scripts.sup is None else Group([*scripts.sup.items, *prime.items])
                )
                continue
            arg = self.argument()
            if token == "^":
                if scripts.sup is not None and not _is_primes(scripts.sup):
                    raise TexError("double superscript")
                scripts.sup = (
                    arg if scripts.sup is None else Group([*scripts.sup.items, *arg.items])
                )
            else:
                if scripts.sub is not None:
                    raise TexError("double subscript")
                scripts.sub = arg
        items.append(scripts)

    def argument(self) -> Group:
        """A ``{…}`` group or one token."""
        token = self.take()
        if token == "{":
            group = self.row(stop={"}"})
            self.expect("}")
            return group
        self.i -= 1
        node = self.atom()
        return Group([node] if node is not None else [])

    def expect(self, token: str) -> None:
        if self.take() != token:
            raise TexError(f"expected {token!r}")

    def raw_argument(self) -> str:
        """The text of a ``{…}`` group, unparsed (``\\text``, environment names)."""
        if self.take() != "{":
            raise TexError("expected '{'")
        depth, out = 1, list[str]()
        while self.i < len(self.tokens):
            token = self.tokens[self.i]
            self.i += 1
            depth += (token == "{") - (token == "}")
            if depth == 0:
                return "".join(out)
            out.append(token)
        raise TexError("unclosed '{'")

    def optional(self) -> Group | None:
        if self.peek() != "[":
            return None
        self.i += 1
        group = self.row(stop={"]"})
        self.expect("]")
        return group

    def atom(self) -> Node | None:
        token = self.take()
        if token == "{":
            group = self.row(stop={"}"})
            self.expect("}")
            return group
        if not token.startswith("\\"):
            return _char(token)
        name = token[1:]
        if name in sym.SPACES:
            return Sym(sym.SPACES[name], "space")
        if name == "\\":
            return Break()
        if name in _IGNORED:
            return None
        if name in _FRACS:
            return Frac(self.argument(), self.argument())
        if name in ("binom", "dbinom", "tbinom"):
            return Fenced("(", Group([Frac(self.argument(), self.argument(), line=False)]), ")")
        if name == "sqrt":
            index = self.optional()
            return Root(self.argument(), index)
        if name in sym.BIG_OPERATORS:
            return Big(sym.BIG_OPERATORS[name], limits=True)
        if name in sym.INTEGRALS:
            return Big(sym.INTEGRALS[name], limits=False)
        if name.rstrip("*") == "operatorname":
            return Big(self.raw_argument().strip(), limits=name.endswith("*"), name=True)
        if name in sym.FUNCTIONS:
            return Big(name, limits=sym.FUNCTIONS[name], name=True)
        if name in sym.GREEK:
            return Sym(sym.GREEK[name], "var" if name[0].islower() else "ord")
        if name in sym.RELATIONS:
            return Sym(sym.RELATIONS[name], "rel")
        if name in sym.BINARY:
            return Sym(sym.BINARY[name], "bin")
        if name in sym.ORDINARY:
            text = sym.ORDINARY[name]
            return Sym(text, "open" if text in _OPEN else "close" if text in _CLOSE else "ord")
        if name in ("text", "textrm", "mbox", "textbf", "textit", "textnormal"):
            return Text(self.raw_argument())
        if name in sym.FONTS:
            return Styled(name, self.argument())
        if name in sym.ACCENTS or name in sym.LINES:
            body = self.argument()
            if name in sym.LINES and not (name == "bar" and _single(body)):
                return Accent(body, sym.LINES[name])
            return Accent(body, sym.ACCENTS[name])
        if name in ("overset", "stackrel"):
            above = self.argument()
            return Over(self.argument(), above, None)
        if name == "underset":
            below = self.argument()
            return Over(self.argument(), None, below)
        if name in ("overbrace", "underbrace", "boxed", "phantom", "mathstrut"):
            return self.argument() if name != "mathstrut" else None
        if name in ("color", "textcolor"):
            self.raw_argument()  # colours are the theme's
            return self.argument() if name == "textcolor" else None
        if name == "not":
            nxt = self.atom()
            if isinstance(nxt, Sym):
                return Sym(nxt.text + "\u0338", nxt.kind)
            raise TexError("\\not needs a symbol")
        if name == "pmod":
            return Group(
                [
                    Sym("\u2003(", "open"),
                    Big("mod", limits=False, name=True),
                    Sym(" ", "space"),
                    *self.argument().items,
                    Sym(")", "close"),
                ]
            )
        if name == "bmod":
            return Sym("mod", "bin")
        if name in ("xrightarrow", "xleftarrow"):
            self.optional()
            return Over(Group([Sym("⟶" if name[1] == "r" else "⟵", "rel")]), self.argument(), None)
        if name == "left":
            return self._fenced()
        if name == "begin":
            return self._environment()
        raise TexError(f"unknown command \\{name}")

    def _delimiter(self) -> str:
        token = self.take()
        if token == ".":
            return ""
        if token.startswith("\\"):
            text = sym.ORDINARY.get(token[1:])
            if text is None:
                raise TexError(f"not a delimiter: {token}")
            return text
        return token

    def _fenced(self) -> Fenced:
        left = self._delimiter()
        body = self.row(stop={"\\right"})
        self.expect("\\right")
        return Fenced(left, body, self._delimiter())

    def _environment(self) -> Table:
        name = self.raw_argument().strip()
        if name not in _ENVIRONMENTS:
            raise TexError(f"unknown environment {name}")
        left, right, align = _ENVIRONMENTS[name]
        if name == "array":
            spec = self.raw_argument()
            align = "".join(c for c in spec if c in "lcr") or "c"
        rows: list[list[Group]] = [[]]
        while True:
            cell = self.row(stop={"&", "\\\\", "\\end"})
            rows[-1].append(cell)
            token = self.take()
            if token == "&":
                continue
            if token == "\\\\":
                rows.append([])
                continue
            if self.raw_argument().strip() != name:
                raise TexError(f"\\end does not match {name}")
            break
        if rows and all(not c.items for c in rows[-1]):
            rows.pop()  # a trailing \\
        return Table(rows, left, right, align)


def _char(token: str) -> Sym:
    if token.isalpha():
        return Sym(token, "var")
    if token.isdigit() or token == ".":
        return Sym(token, "num")
    if token in "=<>":
        return Sym(token, "rel")
    if token in "+-*/":
        return Sym({"-": "−", "*": "∗"}.get(token, token), "bin")
    if token in "([":
        return Sym(token, "open")
    if token in ")]":
        return Sym(token, "close")
    if token in ",;:!?":
        return Sym(token, "punct")
    if token == "~":
        return Sym("\u00a0", "space")
    if token in "&#%$":
        raise TexError(f"unexpected {token!r}")
    return Sym(token, "ord")


def _single(group: Group) -> bool:
    return (
        len(group.items) == 1 and isinstance(group.items[0], Sym) and len(group.items[0].text) == 1
    )


def _is_primes(group: Group) -> bool:
    return all(isinstance(n, Sym) and n.text == "′" for n in group.items)
