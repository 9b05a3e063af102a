"""GitHub's extras that Python-Markdown lacks (no Qt): bare-address autolinks and footnotes.

Blocks are rendered one at a time while an answer streams, so a footnote cannot be moved
to the end of the document: a reference ``[^1]`` becomes a superscript label, and the
definitions (``[^1]: …``, where models put them, at the end) a small-print list there.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

    import markdown

    from app.ui.chat.markdown_boxes import Theme
    from app.ui.chat.markdown_tree import Sanitiser

# A bare address: not inside a word or a path, ends before closing punctuation.
# (Markdown's placeholders for what earlier patterns matched are \x02…\x03: they end it.)
_URL = r"(?<![\w/@.=\"'])((?:https?://|www\.)[^\s<>\"'`\x02]*[^\s<>\"'`\x02\x03.,;:!?)\]*_~])"
FOOTNOTE_DEF = re.compile(r"^ {0,3}\[\^([^\]\s]+)\]:[ \t]*")
_REFERENCE = r"\[\^([^\]\s]+)\](?!:)"


def register_inline(md: markdown.Markdown, sanitiser: Sanitiser) -> None:
    """Add autolinks and footnote references to ``md``'s inline patterns."""
    import xml.etree.ElementTree as ET

    from markdown.inlinepatterns import InlineProcessor

    class _Autolink(InlineProcessor):
        def handleMatch(self, m: re.Match[str], data: str) -> tuple[ET.Element, int, int]:
            address = m.group(1)
            if address.endswith(")") and address.count("(") < address.count(")"):
                address = address[:-1]  # (see https://example.com) keeps its bracket
            a = ET.Element("a", href=address if "://" in address else f"https://{address}")
            a.text = address
            return a, m.start(0), m.start(0) + len(address)

    class _Reference(InlineProcessor):
        def handleMatch(self, m: re.Match[str], data: str) -> tuple[ET.Element, int, int]:
            sup = ET.Element("sup", style=f"color:{sanitiser.theme.link}")
            sup.text = f"[{m.group(1)}]"
            return sup, m.start(0), m.end(0)

    # After code spans and [links](…) (higher priorities run first), before emphasis.
    md.inlinePatterns.register(_Reference(_REFERENCE, md), "footnote_ref", 175)
    md.inlinePatterns.register(_Autolink(_URL, md), "bare_autolink", 105)


def split_footnotes(text: str) -> list[tuple[str, str]]:
    """The ``(label, text)`` of each definition in a block that starts with one."""
    notes: list[tuple[str, str]] = []
    for line in text.split("\n"):
        m = FOOTNOTE_DEF.match(line)
        if m:
            notes.append((m.group(1), line[m.end() :]))
        elif notes:
            label, body = notes[-1]
            notes[-1] = (label, f"{body}\n{line.strip()}")
    return notes


def footnote_html(label: str, body_html: str, theme: Theme) -> str:
    return (
        f'<p style="margin:2px 0; font-size:small; color:{theme.muted}">'
        f'<sup style="color:{theme.link}">[{html.escape(label)}]</sup>&nbsp;{body_html}</p>'
    )
