"""A per-process, thread-safe LRU cache bounded by the total weight of its entries.

For results that are costly to compute and identified by everything they depend on (a file
version, a query): the finance explorer's DuckDB results (weighed in rows), rendered commune maps
(count, with a time to live), the tabular sort index's opened arrays (count) and filter selections
(bytes). The least recently used entries go first; an entry heavier than the whole bound is not
kept (so a bound of 0 turns the cache off).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class BoundedCache:
    def __init__(
        self,
        bound: int | Callable[[], int],
        weigh: Callable[[Any], int] = lambda value: 1,
        ttl_s: float | None = None,
    ):
        """``bound``: the total weight kept (or a callable read at each insertion, e.g. a setting);
        ``weigh``: an entry's weight (1 by default: the bound is a number of entries);
        ``ttl_s``: entries older than this are not served."""
        self._bound, self._weigh, self.ttl_s = bound, weigh, ttl_s
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, int, Any]] = OrderedDict()
        self._weight = 0
        self.hits = self.misses = 0

    def bound(self) -> int:
        return self._bound() if callable(self._bound) else self._bound

    def get(self, key: Hashable, default=None):
        with self._lock:
            found = self._entries.get(key)
            if found is not None and self.ttl_s is not None and time.monotonic() - found[0] >= self.ttl_s:
                self._drop(key)
                found = None
            if found is None:
                self.misses += 1
                return default
            self._entries.move_to_end(key)
            self.hits += 1
            return found[2]

    def put(self, key: Hashable, value) -> None:
        bound, weight = self.bound(), self._weigh(value)
        if weight > bound:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (time.monotonic(), weight, value)
            self._weight += weight
            while self._weight > bound:
                self._drop(next(iter(self._entries)))

    def get_or_build(self, key: Hashable, build: Callable[[], Any]):
        """The cached value, or ``build()`` computed (outside the lock) and kept."""
        missing = object()
        found = self.get(key, missing)
        if found is missing:
            found = build()
            self.put(key, found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: Hashable) -> None:
        _, weight, _ = self._entries.pop(key)
        self._weight -= weight
