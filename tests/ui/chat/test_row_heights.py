"""Prefix sums of row heights against a plain list."""

from __future__ import annotations

import random

import pytest

from app.ui.chat.row_heights import RowHeights


@pytest.mark.parametrize("seed", range(5))
def test_matches_a_plain_list(seed: int) -> None:
    rng = random.Random(seed)
    heights = [rng.randint(0, 60) for _ in range(rng.randint(1, 70))]
    tree = RowHeights(heights[:3])
    for h in heights[3:]:
        tree.append(h)
    for _ in range(50):
        op = rng.random()
        if op < 0.5:
            i = rng.randrange(len(heights))
            heights[i] = rng.randint(0, 60)
            tree.set(i, heights[i])
        elif op < 0.7 and len(heights) > 1:
            i = rng.randrange(len(heights))
            del heights[i]
            tree.remove(i)
        elif op < 0.85:
            front = [rng.randint(0, 60) for _ in range(rng.randint(1, 5))]
            heights[:0] = front
            tree.insert_front(front)
        else:
            heights.append(rng.randint(0, 60))
            tree.append(heights[-1])
        assert len(tree) == len(heights)
        assert tree.total() == sum(heights)
        for i in range(len(heights) + 1):
            assert tree.offset(i) == sum(heights[:i])
        for y in range(0, sum(heights), 7):
            row = tree.row_at(y)
            assert tree.offset(row) <= y < tree.offset(row) + heights[row] or heights[row] == 0


def test_row_at_clamps() -> None:
    tree = RowHeights([10, 20])
    assert tree.row_at(-5) == 0
    assert tree.row_at(1000) == 1
    assert RowHeights().row_at(0) == -1
