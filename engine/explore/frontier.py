"""The frontier's order: cheapest first, first in first out within a cost.
"""

from __future__ import annotations

import heapq
from collections import deque


class _Buckets:
    """The frontier's order: cheapest first, first in first out within one
    cost (the order of a heap of (cost, sequence number), without either)."""

    def __init__(self) -> None:
        self._costs: list[int] = []
        self._at: dict[int, deque[object]] = {}

    def __bool__(self) -> bool:
        return bool(self._costs)

    def push(self, cost: int, key: object) -> None:
        q = self._at.get(cost)
        if q is None:
            q = self._at[cost] = deque()
            heapq.heappush(self._costs, cost)
        q.append(key)

    def lowest(self) -> int:
        """The cost pop() takes next."""
        return self._costs[0]

    def pop(self) -> tuple[int, object]:
        c = self._costs[0]
        q = self._at[c]
        key = q.popleft()
        if not q:
            heapq.heappop(self._costs)
            del self._at[c]
        return c, key
