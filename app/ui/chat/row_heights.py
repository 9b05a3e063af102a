"""Row heights with prefix sums (a Fenwick tree): O(log n) update, offset and hit test."""

from __future__ import annotations

from collections.abc import Iterable


class RowHeights:
    """Heights of rows 0..n-1; ``offset(i)`` is the top of row ``i``, ``row_at(y)`` the row under ``y``."""

    def __init__(self, heights: Iterable[int] = ()) -> None:
        self._h: list[int] = list(heights)
        self._tree: list[int] = []
        self._rebuild()

    def _rebuild(self) -> None:
        n = len(self._h)
        tree = [0] * (n + 1)
        for i, h in enumerate(self._h, 1):
            tree[i] += h
            parent = i + (i & -i)
            if parent <= n:
                tree[parent] += tree[i]
        self._tree = tree

    def __len__(self) -> int:
        return len(self._h)

    def __getitem__(self, index: int) -> int:
        return self._h[index]

    def set(self, index: int, height: int) -> None:
        delta = height - self._h[index]
        if not delta:
            return
        self._h[index] = height
        i = index + 1
        tree = self._tree
        n = len(self._h)
        while i <= n:
            tree[i] += delta
            i += i & -i

    def append(self, height: int) -> None:
        self._h.append(height)
        i = len(self._h)
        low = i - (i & -i)
        self._tree.append(self.offset(i - 1) - self.offset(low) + height)

    def insert_front(self, heights: list[int]) -> None:
        self._h[:0] = heights
        self._rebuild()

    def remove(self, index: int) -> None:
        del self._h[index]
        self._rebuild()

    def offset(self, index: int) -> int:
        """Sum of the heights of rows ``0 .. index-1``."""
        total = 0
        i = index
        tree = self._tree
        while i > 0:
            total += tree[i]
            i -= i & -i
        return total

    def total(self) -> int:
        return self.offset(len(self._h))

    def row_at(self, y: int) -> int:
        """The row containing ``y`` (clamped to ``0 .. n-1``; -1 when empty)."""
        n = len(self._h)
        if n == 0:
            return -1
        if y < 0:
            return 0
        pos = 0
        remaining = y
        step = 1 << n.bit_length()
        tree = self._tree
        while step:
            nxt = pos + step
            if nxt <= n and tree[nxt] <= remaining:
                pos = nxt
                remaining -= tree[nxt]
            step >>= 1
        return min(pos, n - 1)
