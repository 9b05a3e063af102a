"""Formulas as models write them, numbered so each is distinct (no cache hits between them)."""

from __future__ import annotations

_INLINE = [
    r"E_{{{i}}} = m c^{{2}} + {i}",
    r"\alpha_{{{i}}} + \beta^{{2}} \leq \sqrt{{x + {i}}}",
    r"\frac{{{i}}}{{n+1}} \cdot \mathbb{{R}}^{{n}}",
    r"\sum_{{k=1}}^{{{i}}} k = \frac{{{i}({i}+1)}}{{2}}",
    r"\hat{{x}}_{{{i}}} = \arg\max_{{\theta}} p(x \mid \theta)",
]
_DISPLAY = [
    r"x_{{{i}}} = \frac{{-b \pm \sqrt{{b^2 - 4ac}}}}{{2a}} + {i}",
    r"\int_0^{{{i}}} e^{{-x^2}}\,dx \approx \frac{{\sqrt{{\pi}}}}{{2}}",
    r"A_{{{i}}} = \begin{{pmatrix}} {i} & b \\ c & d \end{{pmatrix}}",
    r"\lim_{{n \to \infty}} \left(1 + \frac{{{i}}}{{n}}\right)^n = e^{{{i}}}",
    r"f_{{{i}}}(x) = \begin{{cases}} x^{{{i}}} & x \ge 0 \\ -x & \text{{otherwise}} \end{{cases}}",
]


def formulas(count: int) -> list[tuple[str, bool]]:
    """``count`` distinct ``(source, display)`` formulas, every third one displayed."""
    out: list[tuple[str, bool]] = []
    for i in range(count):
        display = i % 3 == 2
        pool = _DISPLAY if display else _INLINE
        out.append((pool[(i // 3) % len(pool)].format(i=i), display))
    return out


def math_answer(count: int) -> str:
    """A Markdown answer with ``count`` formulas: prose with inline math, display blocks."""
    parts: list[str] = []
    line: list[str] = []
    for n, (source, display) in enumerate(formulas(count), 1):
        if display:
            parts.append(f"Step {n}, where " + ", ".join(line) + ", gives\n\n$$" + source + "$$")
            line = []
        else:
            line.append(f"${source}$")
    if line:
        parts.append("Finally " + " and ".join(line) + ".")
    return "\n\n".join(parts) + "\n"
