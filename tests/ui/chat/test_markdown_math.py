"""Math, footnotes and bare links in answers: rendered as text, sources kept, prices safe."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QGuiApplication, QTextDocument
from pytestqt.qtbot import QtBot

from app.ui.chat import markdown_math
from app.ui.chat.markdown_render import MarkdownRenderer, RenderContext, StreamRender
from app.ui.chat.message_view import ConversationView
from app.ui.chat.messages import DisplayMessage, Role
from tests.helpers.chat_view import click_anchor
from tests.helpers.math_corpus import formulas, math_answer


@pytest.fixture(autouse=True)
def _app(qapp: object) -> None:
    """QTextDocument (what the view shows) needs the application."""


@pytest.fixture
def renderer() -> MarkdownRenderer:
    return MarkdownRenderer()


def render(renderer: MarkdownRenderer, text: str) -> tuple[str, RenderContext]:
    ctx = RenderContext()
    return "".join(renderer.render_text(text, ctx)), ctx


def plain(html: str) -> str:
    doc = QTextDocument()
    doc.setHtml(html)
    return doc.toPlainText()


def test_inline_math_is_text_with_italic_letters_and_scripts(renderer: MarkdownRenderer) -> None:
    html, ctx = render(renderer, r"Energy $E = mc^2$ and \(\alpha_i \leq \sqrt{x}\).")
    assert "<i>E</i>" in html and "<i>mc</i><sup>2</sup>" in html
    text = plain(html)
    assert "α" in text and "≤" in text and "√" in text and "\\" not in text
    assert ctx.codes == ["E = mc^2", r"\alpha_i \leq \sqrt{x}"]  # each source, for copy:N


@pytest.mark.parametrize("source", [r"$$\frac{a+b}{2}$$", r"\[\frac{a+b}{2}\]"])
def test_display_fraction_is_stacked_over_a_rule(renderer: MarkdownRenderer, source: str) -> None:
    html, _ = render(renderer, f"Mean:\n\n{source}\n\nafter")
    assert 'align="center"' in html and "border-bottom:1px solid" in html
    assert "\\frac" not in plain(html) and "after" in plain(html)
    after_fraction, _ = render(renderer, r"$$\frac{a}{b} + 2$$")
    assert "\u00a0+\u00a0" in after_fraction  # binary after the fraction, spaced as such


def test_matrices_cases_limits_and_fonts(renderer: MarkdownRenderer) -> None:
    html, _ = render(
        renderer,
        r"$$\sum_{n=1}^{\infty} \frac{1}{n^2} \quad \mathbb{R}^n \quad "
        r"\begin{pmatrix} a & b \\ c & d \end{pmatrix} \quad"
        r" \begin{cases} x & x \ge 0 \\ -x & \text{otherwise} \end{cases}$$",
    )
    text = plain(html)
    for piece in ("∑", "∞", "ℝ", "(", "{", "otherwise", "≥", "−"):
        assert piece in text, piece
    assert "begin" not in text and "pmatrix" not in text


@pytest.mark.parametrize(
    "text",
    [
        "It costs $5 and $10 a month.",
        "Between $ 3 and 4 $ stays.",
        r"Escaped \$x\$ is a dollar.",
        "Code `$x^2$` stays code.",
    ],
)
def test_dollars_that_are_not_math_stay_dollars(renderer: MarkdownRenderer, text: str) -> None:
    html, ctx = render(renderer, text)
    assert ctx.codes == [] or "`" in text
    shown = plain(html)
    assert "$" in shown
    if "`" in text:
        assert "$x^2$" in shown  # untouched inside the code span


def test_a_formula_that_does_not_parse_shows_its_source(renderer: MarkdownRenderer) -> None:
    html, ctx = render(renderer, r"Broken $\frac{a}{$ and unknown $\foo{x}$ here.")
    shown = plain(html)
    assert r"$\foo{x}$" in shown and "here." in shown
    assert ctx.codes[-1] == r"\foo{x}"  # still copyable


def test_streaming_math_equals_the_full_render(renderer: MarkdownRenderer) -> None:
    text = math_answer(30)
    stream = StreamRender(renderer)
    for k in range(0, len(text), 7):
        stream.feed(text[k : k + 7])
    stream.finish()
    assert stream.blocks == renderer.render_text(text, RenderContext())


def test_formulas_are_rendered_once_then_cached(
    renderer: MarkdownRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = markdown_math.parse
    monkeypatch.setattr(markdown_math, "parse", lambda s: calls.append(s) or real(s))
    text = "Then $x^2 + y^2 = r^2$ holds.\n"
    first, _ = render(renderer, text)
    again, _ = render(renderer, text)
    assert first == again and calls == ["x^2 + y^2 = r^2"]


def test_every_corpus_formula_renders_without_falling_back(renderer: MarkdownRenderer) -> None:
    for source, display in formulas(30):
        html, _ = render(renderer, f"$${source}$$" if display else f"${source}$")
        assert "monospace" not in html, source


def test_clicking_a_formula_copies_its_latex(qtbot: QtBot, view: ConversationView) -> None:
    view.set_messages([DisplayMessage(5, Role.ASSISTANT, r"So $$\frac{\pi}{4}$$ it is.")])
    view.grab()
    with qtbot.waitSignal(view.code_copied, timeout=1000):
        click_anchor(qtbot, view, 5, "copy:")
    assert QGuiApplication.clipboard().text() == r"\frac{\pi}{4}"


def test_footnotes_and_bare_links(renderer: MarkdownRenderer) -> None:
    html, _ = render(
        renderer,
        "Read https://example.org/a_b (or www.python.org).[^1] Not javascript://x.\n\n"
        "[^1]: The source, **bold**.\n[^2]: Another.\n",
    )
    assert '<a href="https://example.org/a_b"' in html
    assert '<a href="https://www.python.org"' in html
    assert "javascript" not in html.split("Not", 1)[1].split("</p>")[0].replace(
        "javascript://x", ""
    )
    assert "<sup" in html and "[1]" in plain(html) and "<strong>bold</strong>" in html
    assert "[^" not in plain(html)
