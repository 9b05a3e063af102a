"""The boxes the renderer draws around content, as HTML for QTextDocument: code (a
language label and a ``copy:N`` link over Pygments colours), errors with a ``retry:`` link,
collapsible tool calls; and the :class:`Theme` whose colours they bake in."""

from __future__ import annotations

import html
from dataclasses import dataclass

from app.ui.chat import highlight


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


def code_box(
    t: Theme,
    code: str,
    language: str,
    copy_index: int = -1,
    *,
    header: bool = True,
    bottom: bool = True,
) -> str:
    """A code box: a language label and a ``copy:N`` link (none when ``copy_index`` is
    negative) over highlighted code.

    Segments of one long fence stack without gaps: only the first has the header,
    only the last the bottom border (borders are drawn per side for that).
    """
    body = highlight.highlight_html(code, language, t.pygments_style) or " "
    bg = highlight.style_background(t.pygments_style)
    side = f"border-left:1px solid {t.border}; border-right:1px solid {t.border}"
    rows = ""
    if header:
        label = html.escape(language or "code")
        copy = (
            f'<a href="copy:{copy_index}" title="Copy code" '
            f'style="color:{t.link}; font-size:small; text-decoration:none">Copy</a>'
            if copy_index >= 0
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


def error_box(t: Theme, message: str, *, retry: bool, warning: bool = False) -> str:
    """An inline box in plain words, with a ``retry:`` link."""
    bg, border = (t.warn_bg, t.warn_border) if warning else (t.error_bg, t.error_border)
    link = f' &nbsp;<a href="retry:" style="color:{t.link}">Retry</a>' if retry else ""
    return (
        f'<table width="100%" cellspacing="0" cellpadding="8" border="1" '
        f'style="border-collapse:collapse; border-color:{border}; margin:4px 0">'
        f'<tr><td style="background-color:{bg}">{html.escape(message)}{link}</td></tr></table>'
    )


def tool_call(t: Theme, index: int, name: str, arguments: str, *, expanded: bool) -> str:
    """A collapsible block: ``tool:N`` toggles it; arguments pretty-printed JSON."""
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


def pretty_json(text: str) -> str:
    """Indented JSON, or the text unchanged when it is not (yet) valid JSON."""
    import json

    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text
