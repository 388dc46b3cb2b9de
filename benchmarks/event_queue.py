"""The runner's event queue: events in time order, ties first in, first out, in O(1) each.

The simulated workers' events used to sit in one heap of ``(time, sequence, ...)`` tuples:
with 256 busy workers each event cost two walks of ~8 tuple comparisons, and on the units
clock most comparisons were ties of equal float times settled by the sequence number. Here
each distinct time holds its events in a deque, in the order they were filed, and only the
distinct times are in a heap: on the units clock a report costs one unit, so a handful of
distinct times are pending however many workers run. The order is exactly the heap's
(earliest time first, then first filed), so cells keep their rows bit for bit.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any

__all__ = ["EventQueue"]


class EventQueue:
    """Events ``(time, item)``: :meth:`pop` returns the earliest, first filed among equals."""

    __slots__ = ("_buckets", "_n", "_times")

    def __init__(self) -> None:
        self._times: list[float] = []  # a heap of the distinct pending times
        self._buckets: dict[float, deque] = {}  # time -> its items, in filing order
        self._n = 0

    def push(self, time: float, item: Any) -> None:
        """File `item` at `time` (after any item already filed at an equal time)."""
        bucket = self._buckets.get(time)
        if bucket is None:
            self._buckets[time] = deque((item,))
            heapq.heappush(self._times, time)
        else:
            bucket.append(item)
        self._n += 1

    def pop(self) -> tuple[float, Any]:
        """Remove and return the earliest ``(time, item)`` (IndexError when empty)."""
        time = self._times[0]
        bucket = self._buckets[time]
        item = bucket.popleft()
        if not bucket:
            del self._buckets[time]
            heapq.heappop(self._times)
        self._n -= 1
        return time, item

    def first_time(self) -> float:
        """The earliest pending time (IndexError when empty)."""
        return self._times[0]

    def __len__(self) -> int:
        return self._n
