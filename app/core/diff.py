"""Word-level differences between two answers.

Text is split into words, runs of punctuation and runs of whitespace; the token lists are
matched with :class:`difflib.SequenceMatcher` (no auto-junk: common words like "the" must
still match). The result is a list of operations that rebuild both texts exactly: the
``equal`` and ``delete`` parts give the first, ``equal`` and ``insert`` the second.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

_TOKEN = re.compile(r"\w+|[^\w\s]+|\s+")

Kind = Literal["equal", "insert", "delete"]


@dataclass(frozen=True, slots=True)
class DiffOp:
    kind: Kind
    text: str


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def word_diff(a: str, b: str) -> list[DiffOp]:
    """The operations turning ``a`` into ``b``, adjacent ones of a kind merged."""
    ta, tb = tokens(a), tokens(b)
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    ops: list[DiffOp] = []

    def add(kind: Kind, parts: list[str]) -> None:
        text = "".join(parts)
        if not text:
            return
        if ops and ops[-1].kind == kind:
            ops[-1] = DiffOp(kind, ops[-1].text + text)
        else:
            ops.append(DiffOp(kind, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("equal", ta[i1:i2])
        else:
            add("delete", ta[i1:i2])
            add("insert", tb[j1:j2])
    return ops


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
