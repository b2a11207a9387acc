from __future__ import annotations

import pytest

from hedge._lru import BoundedLRU


def test_evicts_the_least_recently_used() -> None:
    evicted: list[tuple[str, int]] = []
    lru: BoundedLRU[str, int] = BoundedLRU(2, on_evict=lambda k, v: evicted.append((k, v)))
    lru.insert("a", 1)
    lru.insert("b", 2)
    assert lru.touch("a") == 1  # "b" is now the oldest
    lru.insert("c", 3)
    assert "b" not in lru
    assert evicted == [("b", 2)]
    assert [k for k, _ in lru.items()] == ["a", "c"]
    assert lru.evictions == 1


def test_get_does_not_refresh_recency() -> None:
    lru: BoundedLRU[str, int] = BoundedLRU(2)
    lru.insert("a", 1)
    lru.insert("b", 2)
    assert lru.get("a") == 1
    lru.insert("c", 3)
    assert "a" not in lru
    assert lru.get_or_create("d", lambda: 4) == 4
    assert len(lru) == 2
    lru.clear()
    assert len(lru) == 0


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        BoundedLRU(0)


def test_a_million_keys_stay_within_capacity() -> None:
    lru: BoundedLRU[str, int] = BoundedLRU(1000)
    for i in range(1_000_000):
        lru.get_or_create(f"key-{i}", lambda: 0)
    assert len(lru) == 1000
    assert lru.evictions == 999_000
