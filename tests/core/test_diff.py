"""Word-level diff."""

from __future__ import annotations

import random

import pytest

from app.core import diff
from app.core.diff import DiffOp, rebuild, similarity, tokens, word_diff


def test_changed_word_is_one_delete_and_one_insert() -> None:
    ops = word_diff("The quick brown fox jumps.", "The quick red fox jumps.")
    assert ops == [
        DiffOp("equal", "The quick "),
        DiffOp("delete", "brown "),
        DiffOp("insert", "red "),
        DiffOp("equal", "fox jumps."),
    ]


def test_identical_and_empty_texts() -> None:
    assert word_diff("same text", "same text") == [DiffOp("equal", "same text")]
    assert word_diff("", "") == []
    assert word_diff("", "new") == [DiffOp("insert", "new")]
    assert word_diff("old", "") == [DiffOp("delete", "old")]
    assert similarity(word_diff("a b c", "a b c")) == 1.0
    assert similarity(word_diff("a b c", "x y z")) == 0.0


def test_punctuation_and_code_are_separate_tokens() -> None:
    assert tokens("f(x) = 2, ok?") == ["f", "(", "x", ") ", "= ", "2", ", ", "ok", "?"]
    assert tokens("  lead\n\n") == ["  ", "lead\n\n"]
    ops = word_diff("print(a)", "print(b)")
    assert [op.kind for op in ops] == ["equal", "delete", "insert", "equal"]


def test_common_words_still_match_in_long_texts() -> None:
    """No auto-junk: frequent words such as 'the' must align, or long diffs turn to noise."""
    base = " ".join("the cat sat on the mat" for _ in range(200))
    changed = base.replace("mat", "rug", 1)
    ops = word_diff(base, changed)
    assert [op.kind for op in ops] == ["equal", "delete", "insert", "equal"]
    assert similarity(ops) > 0.99


def test_operations_rebuild_both_texts() -> None:
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", ",", ".", "\n", "  ", "`code`", "é"]
    for _ in range(50):
        a = " ".join(rng.choice(words) for _ in range(rng.randint(0, 40)))
        b = " ".join(rng.choice(words) for _ in range(rng.randint(0, 40)))
        assert rebuild(word_diff(a, b)) == (a, b)


def test_lines_are_matched_first_and_blank_lines_do_not_anchor() -> None:
    a = "Intro line.\n\nShared paragraph one.\n\nOld ending here.\n"
    b = "Intro line.\n\nShared paragraph one.\n\nNew ending here.\n\nExtra.\n"
    ops = word_diff(a, b)
    assert ops[0] == DiffOp("equal", "Intro line.\n\nShared paragraph one.\n\n")
    assert DiffOp("delete", "Old ") in ops and DiffOp("insert", "New ") in ops
    assert rebuild(ops) == (a, b)


def test_a_huge_changed_stretch_is_shown_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diff, "WORD_PAIRS_LIMIT", 10)
    ops = word_diff("one two three four five six", "one two three four five seven")
    assert ops == [
        DiffOp("delete", "one two three four five six"),
        DiffOp("insert", "one two three four five seven"),
    ]
