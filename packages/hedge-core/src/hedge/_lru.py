"""A bounded mapping that forgets its least recently used entries.

Used for every piece of per-key state (latency windows, budgets, per-key
counters), so that a client talking to an unbounded set of hosts or paths
keeps bounded memory. Not thread-safe by itself: owners hold their own lock
around it, which lets one acquisition cover a lookup and the update after it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["BoundedLRU"]

K = TypeVar("K")
V = TypeVar("V")


class BoundedLRU(Generic[K, V]):
    """At most ``capacity`` entries; the least recently used one is evicted first.

    Args:
        capacity: the largest number of entries (>= 1).
        on_evict: called with ``(key, value)`` for every evicted entry.
    """

    __slots__ = ("_data", "_on_evict", "capacity", "evictions")

    def __init__(self, capacity: int, on_evict: Callable[[K, V], None] | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity!r}")
        self.capacity = capacity
        self.evictions = 0
        self._data: OrderedDict[K, V] = OrderedDict()
        self._on_evict = on_evict

    def touch(self, key: K) -> V | None:
        """Return the entry for ``key`` and mark it most recently used, or ``None``."""
        data = self._data
        value = data.get(key)
        if value is not None:
            data.move_to_end(key)
        return value

    def insert(self, key: K, value: V) -> None:
        """Add or replace the entry for ``key``, evicting the oldest one past capacity."""
        data = self._data
        data[key] = value
        data.move_to_end(key)
        if len(data) > self.capacity:
            old_key, old_value = data.popitem(last=False)
            self.evictions += 1
            if self._on_evict is not None:
                self._on_evict(old_key, old_value)

    def get_or_create(self, key: K, factory: Callable[[], V]) -> V:
        """Return the entry for ``key`` (marked most recent), creating it with ``factory()``."""
        data = self._data
        value = data.get(key)
        if value is None:
            value = factory()
            self.insert(key, value)
        else:
            data.move_to_end(key)
        return value

    def get(self, key: K) -> V | None:
        """Return the entry for ``key`` without touching its recency, or ``None``."""
        return self._data.get(key)

    def items(self) -> Iterator[tuple[K, V]]:
        """Iterate over ``(key, value)`` from least to most recently used."""
        return iter(list(self._data.items()))

    def clear(self) -> None:
        """Drop every entry."""
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data
