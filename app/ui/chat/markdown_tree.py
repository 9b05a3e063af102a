"""What makes model output safe to show: only ``http``/``https`` links stay links, images
wait behind a ``loadimg:N`` placeholder, raw markup is never trusted; and the per-message
:class:`RenderContext` behind the ``copy:N`` and ``loadimg:N`` anchors.

:class:`Sanitiser` runs as a Markdown tree processor over every converted block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from app.ui.chat.markdown_boxes import Theme, code_box

if TYPE_CHECKING:  # loaded with Markdown, after start-up
    import xml.etree.ElementTree as ET

SAFE_SCHEMES = frozenset({"http", "https"})


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


class Sanitiser:
    """Rewrites the element tree: inert links, image placeholders, styled code/quotes/tables.

    The renderer sets ``theme`` and ``ctx`` before each conversion.
    """

    def __init__(self, theme: Theme) -> None:
        self.theme = theme
        self.ctx = RenderContext()

    def run(self, root: ET.Element) -> None:
        theme = self.theme
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
            code = code.rstrip("\n")
            return fragment(code_box(theme, code, "", self.ctx.add_code(code)))
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


_TASK_BOXES = {"[ ] ": "☐ ", "[x] ": "☑ ", "[X] ": "☑ "}


def tick_task_items(root: ET.Element) -> None:
    """GitHub task lists: a list item starting ``[ ]`` or ``[x]`` gets a box (☐ / ☑)."""
    for item in root.iter("li"):
        holder = item if (item.text or "").strip() or len(item) == 0 else item[0]
        text = holder.text or ""
        box = _TASK_BOXES.get(text[:4])
        if box is not None:
            holder.text = box + text[4:]


def fragment(markup: str) -> ET.Element:
    """Raw markup as an element for the tree: stashed so the serializer keeps it verbatim."""
    import xml.etree.ElementTree as ET

    holder = ET.Element("div")
    holder.text = markup
    holder.set("data-raw", "1")
    return holder
