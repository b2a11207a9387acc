"""Per-key state stays bounded however many keys pass through one Hedger."""

from __future__ import annotations

import asyncio
import gc
import os
import tracemalloc

import pytest

from hedge import Attempt, HedgeConfig, Hedger, RequestInfo, Stats

# The reliability session sets HEDGE_MEMORY_KEYS=1000000; CI's quick profile uses fewer.
KEYS = int(os.environ.get("HEDGE_MEMORY_KEYS", "20000"))


async def _instant(attempt: Attempt) -> int:
    return attempt.index


def _fill(hedger: Hedger, start: int, keys: int, distinct_hosts: bool) -> None:
    """One request per new key: a new host each time, or a new path on 100 hosts."""

    async def main() -> None:
        for index in range(start, start + keys):
            host = f"host-{index}.test" if distinct_hosts else f"host-{index % 100}.test"
            await hedger.run(RequestInfo("GET", "https", host, 443, f"/items/{index}"), _instant)

    asyncio.run(main())


@pytest.mark.parametrize(("key_level", "distinct_hosts"), [("endpoint", False), ("host", True)])
def test_unbounded_keys_keep_bounded_state(key_level: str, distinct_hosts: bool) -> None:
    max_keys = 2_000
    config = HedgeConfig(key_level=key_level, max_keys=max_keys, stats=Stats(max_keys=max_keys))
    hedger = Hedger(config, plugins=False)
    gc.collect()
    tracemalloc.start()
    try:
        _fill(hedger, 0, 2 * max_keys, distinct_hosts)  # the LRUs are full from here on
        gc.collect()
        full, _ = tracemalloc.get_traced_memory()
        _fill(hedger, 2 * max_keys, KEYS, distinct_hosts)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(hedger._keys) <= max_keys
    assert len(hedger._targets) <= max_keys
    assert len(hedger.stats.keys()) <= max_keys
    assert hedger.stats.snapshot().total_requests == 2 * max_keys + KEYS
    # Memory stopped growing once the LRUs were full (a little slack for allocator noise).
    assert after - full < 0.10 * full + 256 * 1024, (full, after)
