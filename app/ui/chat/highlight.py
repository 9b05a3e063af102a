"""Pygments highlighting with inline styles (QTextDocument has no stylesheet classes).

Lexers and formatters are cached: the first use of a lexer costs 11–24 ms, so the common
ones are warmed up one per idle tick (:func:`warm_up_next`) before any answer arrives.
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

COMMON_LANGUAGES: tuple[str, ...] = (
    "python",
    "javascript",
    "typescript",
    "bash",
    "json",
    "html",
    "css",
    "c",
    "cpp",
    "java",
    "go",
    "rust",
    "sql",
    "yaml",
    "toml",
    "diff",
    "text",
)

# Names models write after ``` that Pygments spells differently or not at all.
_ALIASES = {
    "sh": "bash",
    "shell": "bash",
    "zsh": "bash",
    "console": "bash",
    "js": "javascript",
    "ts": "typescript",
    "py": "python",
    "py3": "python",
    "yml": "yaml",
    "c++": "cpp",
    "golang": "go",
    "rs": "rust",
    "plaintext": "text",
    "txt": "text",
    "": "text",
}

LIGHT_STYLE = "default"
DARK_STYLE = "monokai"

_warm_queue: list[str] = list(COMMON_LANGUAGES)


@lru_cache(maxsize=64)
def _lexer(language: str) -> Any:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    name = _ALIASES.get(language.lower(), language.lower())
    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return get_lexer_by_name("text", stripnl=False, ensurenl=False)


@lru_cache(maxsize=4)
def _formatter(style: str) -> Any:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(noclasses=True, nowrap=True, style=style)


def style_background(style: str) -> str:
    """The style's background colour, e.g. ``#272822`` (for the code box)."""
    from pygments.styles import get_style_by_name

    return str(get_style_by_name(style).background_color or "#f8f8f8")


def highlight_html(code: str, language: str, style: str) -> str:
    """``code`` as HTML spans with inline colours, lines joined by ``\\n`` (no wrapper)."""
    if not code:
        return ""
    lexer = _lexer(language)
    if lexer.name == "Text only":
        return html.escape(code, quote=False)
    from pygments import highlight

    out: str = highlight(code, lexer, _formatter(style))
    # Pygments may append a newline the source did not have.
    if out.endswith("\n") and not code.endswith("\n"):
        out = out[:-1]
    return out


def warm_up_next() -> bool:
    """Load one more common lexer (and run it once); ``False`` when all are warm."""
    if not _warm_queue:
        return False
    language = _warm_queue.pop(0)
    highlight_html("x = 1\n", language, LIGHT_STYLE)
    return bool(_warm_queue)
