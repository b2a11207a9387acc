from __future__ import annotations

import random

import pytest

from hedge.sketch import BinStore


def test_counts_keys_inside_and_outside_the_run() -> None:
    store = BinStore()
    for key in [5, 5, 7, 3, 10, -2]:
        store.add(key)
    assert store.count == 6
    assert dict(store.items()) == {
        -2: 1,
        -1: 0,
        0: 0,
        1: 0,
        2: 0,
        3: 1,
        4: 0,
        5: 2,
        6: 0,
        7: 1,
        8: 0,
        9: 0,
        10: 1,
    }
    assert not store.collapsed


def test_never_holds_more_than_bin_limit_bins() -> None:
    store = BinStore(bin_limit=16)
    rng = random.Random(3)
    for _ in range(5000):
        store.add(rng.randint(-1000, 1000))
        assert len(store) <= 16
    assert store.count == 5000
    assert sum(count for _, count in store.items()) == 5000
    assert store.collapsed


def test_collapsing_folds_the_lowest_bins_upwards() -> None:
    store = BinStore(bin_limit=4)
    for key in range(10):  # 0..9: the run keeps 6..9, the rest folds into 6
        store.add(key)
    assert dict(store.items()) == {6: 7, 7: 1, 8: 1, 9: 1}
    store.add(-50)  # far below: joins the lowest bin kept
    assert dict(store.items()) == {6: 8, 7: 1, 8: 1, 9: 1}


def test_key_at_rank_returns_the_bin_holding_that_element() -> None:
    store = BinStore()
    for key, count in [(1, 2), (4, 3), (9, 1)]:
        store.add(key, count)
    # sorted elements: 1 1 4 4 4 9
    assert [store.key_at_rank(rank) for rank in range(6)] == [1, 1, 4, 4, 4, 9]
    assert store.key_at_rank(4.5) == 4  # the element of rank floor(4.5)
    with pytest.raises(IndexError):
        BinStore().key_at_rank(0)


def test_merge_copy_and_clear() -> None:
    a, b = BinStore(), BinStore()
    for key in [1, 2, 3]:
        a.add(key)
    for key in [3, 4, 100]:
        b.add(key)
    clone = a.copy()
    a.merge(b)
    assert a.count == 6
    assert dict(a.items())[3] == 2
    assert clone.count == 3  # the copy is independent
    a.clear()
    assert (a.count, len(a)) == (0, 0)


@pytest.mark.parametrize("bad", [0, -1])
def test_rejects_a_bin_limit_below_one(bad: int) -> None:
    with pytest.raises(ValueError, match="bin_limit"):
        BinStore(bad)


def test_rejects_a_non_int_bin_limit() -> None:
    with pytest.raises(TypeError, match="bin_limit"):
        BinStore(2.5)  # type: ignore[arg-type]
