"""Word-level differences between two answers.

Two passes, as ``git diff --word-diff`` does: lines are matched first (cheap, and most of
two answers is either shared or different line by line), then the words of each changed
stretch of lines. A word keeps its trailing whitespace (a run of spaces is no token of its
own: the most common "word" would make matching slow and the output noisy); punctuation
runs are separate tokens. Matching uses :class:`difflib.SequenceMatcher` without auto-junk
(common words like "the" must still match). A changed stretch too large to match word by
word in good time is shown as removed and added whole.

The operations rebuild both texts exactly: ``equal`` + ``delete`` give the first,
``equal`` + ``insert`` the second.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

_TOKEN = re.compile(r"\w+\s*|[^\w\s]+\s*|\s+")
WORD_PAIRS_LIMIT = 2_000_000
"""Largest token-count product of one changed stretch matched word by word."""

Kind = Literal["equal", "insert", "delete"]


@dataclass(frozen=True, slots=True)
class DiffOp:
    kind: Kind
    text: str


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


class _Ops:
    def __init__(self) -> None:
        self.ops: list[DiffOp] = []

    def add(self, kind: Kind, text: str) -> None:
        if not text:
            return
        if self.ops and self.ops[-1].kind == kind:
            self.ops[-1] = DiffOp(kind, self.ops[-1].text + text)
        else:
            self.ops.append(DiffOp(kind, text))


def word_diff(a: str, b: str) -> list[DiffOp]:
    """The operations turning ``a`` into ``b``, adjacent ones of a kind merged."""
    out = _Ops()
    la, lb = a.splitlines(keepends=True), b.splitlines(keepends=True)
    # Blank lines are everywhere in markdown: as anchors they make matching quadratic and
    # align unrelated paragraphs, so they only extend matches that real lines start.
    lines = difflib.SequenceMatcher(_blank, la, lb, autojunk=False)
    for tag, i1, i2, j1, j2 in lines.get_opcodes():
        if tag == "equal":
            out.add("equal", "".join(la[i1:i2]))
        else:
            _words("".join(la[i1:i2]), "".join(lb[j1:j2]), out)
    return out.ops


def _blank(line: str) -> bool:
    return not line.strip()


def _words(a: str, b: str, out: _Ops) -> None:
    ta, tb = tokens(a), tokens(b)
    if len(ta) * len(tb) > WORD_PAIRS_LIMIT:
        out.add("delete", a)
        out.add("insert", b)
        return
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.add("equal", "".join(ta[i1:i2]))
        else:
            out.add("delete", "".join(ta[i1:i2]))
            out.add("insert", "".join(tb[j1:j2]))


def similarity(ops: list[DiffOp]) -> float:
    """Share of the words (not whitespace) the two texts have in common, 0 to 1."""
    same = changed = 0
    for op in ops:
        words = sum(1 for t in tokens(op.text) if not t.isspace())
        if op.kind == "equal":
            same += 2 * words
        else:
            changed += words
    total = same + changed
    return same / total if total else 1.0


def rebuild(ops: list[DiffOp]) -> tuple[str, str]:
    """Both texts back from the operations (for checks)."""
    a = "".join(op.text for op in ops if op.kind != "insert")
    b = "".join(op.text for op in ops if op.kind != "delete")
    return a, b
