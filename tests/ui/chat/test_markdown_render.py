"""The markdown renderer: features, sanitisation, incremental == full render."""

from __future__ import annotations

import random

import pytest

from app.ui.chat.markdown_render import (
    SEGMENT_MARK,
    MarkdownRenderer,
    RenderContext,
    StreamRender,
    Theme,
    is_safe_url,
    split_blocks,
)

SAMPLES = [
    "Hello **world**",
    "# Title\n\nPara one with `code` and a [link](https://example.org).\n\nPara two\ncontinued.",
    "- a\n- b\n  - nested\n\n- c after blank\n\nafter list\n\n1. step\n   ```sh\n   ls -l\n   ```\n2. next",
    "1. one\n2. two\n\n3. three\n\ntext",
    "> quote line\n> more\n\n> second\n\nplain",
    "| a | b |\n|---|:-:|\n| 1 | 2 |\n| 3 | 4 |\n\nafter",
    "```python\ndef f(x):\n    return x  # <b>\n```\nafter fence\n\n~~~\nplain ~~~ code\n~~~",
    "Setext\n=====\n\nand\n---\n\n***\n",
    "text\n```js\nlet a = `x`;\n```\n# H\ntext after heading",
    "Unclosed fence at the end\n```bash\necho hi\n",
    "    indented code\n    more\n\npara",
    "![alt](https://img.example/x.png) and ![bad](file:///etc/passwd) and [x](javascript:alert(1))",
    "<script>alert(1)</script>\n\n<div onclick=x>raw</div> <img src=http://evil/x.png>",
    "Ünïcödé 日本語 — emoji 🎉\n\n* star list\n+ plus list\n\n10) paren list",
    "",
    "\n\n\nleading blanks\n\n\n\ntrailing blanks\n\n\n",
    "Long file:\n\n```python\n" + "".join(f"x{i} = {i}\n" for i in range(95)) + "```\nafter",
    "  ```js\n" + "".join(f"  let v{i} = {i};\n" for i in range(81)) + "  ```\n",
    "```\n" + "line\n" * 40 + "```\n\n```\n" + "line\n" * 41 + "```",
    "Unclosed long fence\n```c\n" + "int a;\n" * 100,
    "".join(f"{i}. item {i}\n   - sub {i}\n" for i in range(1, 46)) + "\nafter the list",
    "".join(f"- loose {i}\n\n" for i in range(30)) + "end",
    "Math $a^2$ costs $5 and $$\\frac{1}{2}$$ then \\[x_i\\] at https://x.org/p.[^1]\n\n[^1]: note",
]


SAFE_ATTRIBUTES = {
    "href",
    "title",
    "style",
    "width",
    "cellspacing",
    "cellpadding",
    "border",
    "bgcolor",
    "align",
    "alt",
    "src",
    "start",
}


def attribute_names(markup: str) -> set[str]:
    """Every attribute name of every tag, as an HTML parser sees them."""
    from html.parser import HTMLParser

    names: set[str] = set()

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            names.update(name for name, _ in attrs)

    Collect().feed(markup)
    return names


@pytest.fixture(scope="module")
def renderer() -> MarkdownRenderer:
    return MarkdownRenderer(Theme.light())


def full(renderer: MarkdownRenderer, text: str) -> tuple[list[str], RenderContext]:
    ctx = RenderContext()
    return renderer.render_text(text, ctx), ctx


def test_headings_emphasis_lists_links(renderer: MarkdownRenderer) -> None:
    html = "".join(full(renderer, SAMPLES[1])[0] + full(renderer, SAMPLES[2])[0])
    assert "<h1>Title</h1>" in html
    assert '<a href="https://example.org"' in html
    assert "<code style=" in html
    assert html.count("<ul>") == 2  # outer list and the nested one
    assert "<li>c after blank" in html or "<p>c after blank" in html


def test_strikethrough_and_task_lists_render_as_github_does(renderer: MarkdownRenderer) -> None:
    html = "".join(full(renderer, "Was ~~wrong~~ right, ~not~ this.\n")[0])
    assert "<s>wrong</s>" in html and "~~" not in html and "~not~" in html
    tasks = "".join(full(renderer, "- [ ] write tests\n- [x] ship it\n- [link] stays\n")[0])
    assert "☐ write tests" in tasks and "☑ ship it" in tasks and "[link] stays" in tasks
    assert "[ ]" not in tasks and "[x]" not in tasks


def test_ordered_list_survives_blank_lines(renderer: MarkdownRenderer) -> None:
    blocks, _ = full(renderer, SAMPLES[3])
    assert len(blocks) == 2  # the list stays one block, "text" is another
    assert blocks[0].count("<li>") == 3 and blocks[0].count("<ol>") == 1


def test_table_and_quote_are_boxed(renderer: MarkdownRenderer) -> None:
    table = "".join(full(renderer, SAMPLES[5])[0])
    assert "<th" in table and 'border="1"' in table
    quote = full(renderer, SAMPLES[4])[0][0]
    assert "<blockquote" not in quote  # QTextDocument draws no bar: a two-cell table does
    assert 'bgcolor="#8c959f"' in quote


def test_fenced_code_is_highlighted_with_label_and_copy(renderer: MarkdownRenderer) -> None:
    blocks, ctx = full(renderer, SAMPLES[6])
    assert 'href="copy:0"' in blocks[0] and ">python<" in blocks[0]
    assert "style=" in blocks[0] and "def" in blocks[0]
    assert "&lt;b&gt;" in blocks[0]  # the comment's markup is escaped
    assert ctx.codes[0] == "def f(x):\n    return x  # <b>"
    assert ctx.codes[1] == "plain ~~~ code"
    assert "white-space:pre-wrap" in blocks[0]  # long lines wrap inside the box


def test_indented_code_is_boxed(renderer: MarkdownRenderer) -> None:
    blocks, ctx = full(renderer, SAMPLES[10])
    assert 'href="copy:0"' in blocks[0]
    assert ctx.codes == ["indented code\nmore"]


def test_hostile_markdown_is_inert(renderer: MarkdownRenderer) -> None:
    text = (
        "<script>alert(1)</script>\n\n"
        "<img src=http://evil/raw.png> [x](javascript:alert(1)) [y](file:///etc/passwd) "
        "[z](data:text/html,hi) <a href='https://evil'>a</a>\n\n"
        "![](http://evil/x.png)"
    )
    blocks, ctx = full(renderer, text)
    html = "".join(blocks)
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<img" not in html  # nothing loads by itself
    assert "&lt;img src=http://evil/raw.png&gt;" in html
    for bad in ("javascript:", "file:", "data:", "href='https://evil'", 'href="https://evil"'):
        assert f'href="{bad}' not in html and bad not in html.replace(
            "&lt;a href='https://evil'", ""
        )
    assert 'href="loadimg:0"' in html and "click to load evil" in html
    assert attribute_names(html) <= SAFE_ATTRIBUTES
    assert ctx.images == ["http://evil/x.png"]


@pytest.mark.parametrize(
    "text",
    [
        "[x](&#x6a;avascript:alert(1))",
        "[y][1]\n[1]: javascript:alert(2)",
        "[z](JaVaScRiPt:alert(3))",
        "<javascript:alert(4)>",
        "[w](  javascript:alert(5))",
        "[v](vbscript:x) [f](FILE:///c:/x) [d](data:text/html;base64,PHNjcmlwdD4=)",
        '[u](http://a.b "t" onclick="x")',
    ],
)
def test_obfuscated_links_stay_inert(renderer: MarkdownRenderer, text: str) -> None:
    import re

    html = "".join(full(renderer, text)[0])
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(h.startswith(("http://", "https://")) for h in hrefs), html
    assert attribute_names(html) <= SAFE_ATTRIBUTES, html


def test_loaded_image_becomes_resource_reference(renderer: MarkdownRenderer) -> None:
    ctx = RenderContext(loaded={"https://img.example/x.png"})
    html = "".join(renderer.render_text(SAMPLES[11], ctx))
    assert '<img alt="alt" src="image:0"' in html or 'src="image:0"' in html


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://a.b/c", True),
        ("HTTP://a.b", True),
        ("javascript:alert(1)", False),
        ("file:///etc/passwd", False),
        ("data:text/html,x", False),
        ("//a.b/c", False),
        ("https:///nohost", False),
        ("mailto:a@b.c", False),
    ],
)
def test_only_http_urls_are_safe(url: str, safe: bool) -> None:
    assert is_safe_url(url) is safe


def test_user_text_is_plain(renderer: MarkdownRenderer) -> None:
    blocks = renderer.plain_text("*not em* <b>x</b>\nline\n\nsecond")
    assert len(blocks) == 2
    assert "*not em* &lt;b&gt;x&lt;/b&gt;\nline" in blocks[0]


def test_open_fence_streams_as_code_box(renderer: MarkdownRenderer) -> None:
    stream = StreamRender(renderer)
    update = stream.feed("Intro\n\n```python\nprint('hi')\nx = ")
    assert update.tail is not None and "copy:" in update.tail and "print" in update.tail
    assert "x = " not in update.tail  # the unfinished line waits for its newline


def test_half_written_table_row_is_hidden(renderer: MarkdownRenderer) -> None:
    stream = StreamRender(renderer)
    update = stream.feed("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | ")
    assert update.tail is not None and "<table" in update.tail
    assert ">3<" not in update.tail and ">1<" in update.tail


def test_finished_blocks_are_rendered_once(renderer: MarkdownRenderer) -> None:
    stream = StreamRender(renderer)
    first = stream.feed("para one\n\npara two\n\n")
    assert len(first.finished) == 1 and "para one" in first.finished[0]
    again = stream.feed("more")
    assert again.finished == []  # para one is not re-rendered
    assert again.tail is None or "para one" not in again.tail


def test_splitter_decides_only_on_complete_lines() -> None:
    closed, tail, consumed = split_blocks("para\n# He", final=False)
    assert consumed == 0
    assert closed == [] and tail is not None and tail.partial_line
    closed, tail, _ = split_blocks("para\n# Head\n", final=False)
    assert [b.text for b in closed] == ["para", "# Head\n".rstrip("\n")]


@pytest.mark.parametrize("seed", range(4))
def test_incremental_equals_full_render_under_random_chunking(
    renderer: MarkdownRenderer, seed: int
) -> None:
    rng = random.Random(seed)
    for text in [*SAMPLES, "\n\n".join(SAMPLES)]:
        expected, expected_ctx = full(renderer, text)
        stream = StreamRender(renderer)
        pos = 0
        while pos < len(text):
            step = rng.choice([1, 1, 2, 3, 5, 8, 20, 60])
            stream.feed(text[pos : pos + step])
            pos += step
        stream.finish()
        assert stream.blocks == expected, text
        assert stream.ctx.codes == expected_ctx.codes
        assert stream.ctx.images == expected_ctx.images
        assert stream.tail is None


def test_long_fence_comes_in_segments_that_copy_as_one(renderer: MarkdownRenderer) -> None:
    code = "".join(f"print({i})\n" for i in range(100))
    blocks, ctx = full(renderer, f"```python\n{code}```\n")
    assert len(blocks) == 3  # 40 + 40 + 20 lines
    assert blocks[0].endswith(SEGMENT_MARK) and blocks[1].endswith(SEGMENT_MARK)
    assert not blocks[2].endswith(SEGMENT_MARK)
    assert 'href="copy:0"' in blocks[0] and "copy:" not in blocks[1] + blocks[2]
    assert ctx.codes == [code.rstrip("\n")]
    # Streaming re-renders one segment at a time, not the whole fence.
    stream = StreamRender(renderer)
    stream.feed(f"```python\n{code}")
    assert stream.tail is not None and len(stream.blocks) == 2
    assert stream.tail.count(">print<") == 20  # only the last segment, lines 80-99


def test_long_list_comes_in_numbered_segments(renderer: MarkdownRenderer) -> None:
    text = "".join(f"{i}. item {i}\n" for i in range(1, 51))
    blocks, _ = full(renderer, text)
    assert len(blocks) == 3 and blocks[0].endswith(SEGMENT_MARK)
    assert '<ol start="21">' in blocks[1] and '<ol start="41">' in blocks[2]
    assert sum(b.count("<li>") for b in blocks) == 50


def test_time_budget_spreads_a_backlog_and_still_equals_full_render(
    renderer: MarkdownRenderer,
) -> None:
    text = "\n\n".join(SAMPLES) * 3
    stream = StreamRender(renderer)
    update = stream.feed(text, budget=0.0)  # one block per call
    assert update.behind and len(update.finished) == 1 and update.tail is None
    calls = 1
    while update.behind:
        update = stream.feed("", budget=0.0)
        calls += 1
    assert calls > 10
    stream.finish()
    expected, _ = full(renderer, text)
    assert stream.blocks == expected


@pytest.mark.parametrize(
    "text",
    [
        'You said: "Stream a long answer.".',
        "line one\nline two, it's fine",
        "### Answer from m",
        "# Title words",
        "x -- y ... z",
        "a & b",
        "under_score",
        "ends with two spaces  \nnext",
        "1. not plain",
        "- not plain",
        "    indented code",
        "Setext\n===",
        "## Closed ##",
        "price: $5",
        "a ~~b~~ c {x} #tag",
        "=== not setext",
        "-- dash start",
        "+ plus",
        "> quote",
        "~~~ tilde",
        "",
    ],
)
def test_plain_fast_path_matches_markdown(renderer: MarkdownRenderer, text: str) -> None:
    from app.ui.chat.markdown_blocks import plain_html

    fast = plain_html(text)
    if text in ('You said: "Stream a long answer.".', "### Answer from m", "x -- y ... z"):
        assert fast is not None  # the common case takes the fast path
    if fast is not None:
        assert fast == renderer.markdown_html(text, RenderContext())


def test_dark_theme_changes_colours() -> None:
    light = "".join(MarkdownRenderer(Theme.light()).render_text(SAMPLES[6], RenderContext()))
    dark = "".join(MarkdownRenderer(Theme.dark_theme()).render_text(SAMPLES[6], RenderContext()))
    assert "#272822" in dark and "#272822" not in light  # monokai's background
    assert Theme.dark_theme().link in dark and Theme.light().link not in dark


def test_a_live_theme_switch_reaches_links_and_code() -> None:
    """The view swaps ``renderer.theme`` when the palette changes: the tree pass and the
    boxes follow it."""
    renderer = MarkdownRenderer(Theme.light())
    renderer.theme = Theme.dark_theme()
    out = "".join(renderer.render_text("[x](https://e.org) `c`\n\n    block", RenderContext()))
    assert Theme.dark_theme().link in out and Theme.light().link not in out
    assert Theme.dark_theme().inline_code_bg in out and "#272822" in out
