"""Memory of hedge-core's per-key state under an unbounded stream of keys, printed as one table.

    nox -s reliability_full      (1,000,000 keys)
    python packages/hedge-core/benchmarks/memory.py [--keys N] [--max-keys N]

One Hedger with ``HedgeConfig(max_keys=...)`` and a ``Stats`` of the same
bound sees one request per new key, for each way a key can grow without
bound: a new host per request (``key_level="host"``), and a new path on a
hundred hosts (``key_level="endpoint"``). Python's allocator is traced
(``tracemalloc``) once the per-key tables are full and again after every
key has passed, and the table prints the memory held per key, in total,
and how much it grew between the two points. Nothing here is asserted:
``tests/test_memory.py`` asserts the bound; these figures are for reading.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import tracemalloc

from hedge import Attempt, HedgeConfig, Hedger, RequestInfo, Stats


async def _instant(attempt: Attempt) -> int:
    return attempt.index


def _fill(hedger: Hedger, start: int, count: int, distinct_hosts: bool) -> None:
    async def main() -> None:
        for index in range(start, start + count):
            host = f"host-{index}.test" if distinct_hosts else f"host-{index % 100}.test"
            await hedger.run(RequestInfo("GET", "https", host, 443, f"/items/{index}"), _instant)

    asyncio.run(main())


def measure(key_level: str, keys: int, max_keys: int) -> tuple[int, int, int, float]:
    """Traced bytes once full and after ``keys`` keys, the keys held, and the seconds taken."""
    config = HedgeConfig(key_level=key_level, max_keys=max_keys, stats=Stats(max_keys=max_keys))
    hedger = Hedger(config, plugins=False)
    distinct_hosts = key_level == "host"
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        _fill(hedger, 0, max_keys, distinct_hosts)
        gc.collect()
        full, _ = tracemalloc.get_traced_memory()
        _fill(hedger, max_keys, keys - max_keys, distinct_hosts)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    held = max(len(hedger._keys), len(hedger._targets), len(hedger.stats.keys()))
    hedger.close()
    return full - baseline, after - baseline, held, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keys", type=int, default=1_000_000, help="distinct keys sent (default 1,000,000)")
    parser.add_argument("--max-keys", type=int, default=10_000, help="HedgeConfig.max_keys (default 10,000)")
    arguments = parser.parse_args()
    if arguments.keys <= arguments.max_keys:
        parser.error(f"--keys must exceed --max-keys, got {arguments.keys} <= {arguments.max_keys}")
    print(f"{arguments.keys:,} distinct keys, one request each; max_keys={arguments.max_keys:,}")
    print()
    print("| keys grow by | keys held | bytes per key | total when full | total at end | growth | seconds |")
    print("|:--|--:|--:|--:|--:|--:|--:|")
    for key_level, label in (("host", "new host"), ("endpoint", "new path")):
        full, after, held, seconds = measure(key_level, arguments.keys, arguments.max_keys)
        print(
            f"| {label} (key_level={key_level}) | {held:,} | {full / arguments.max_keys:,.0f} | "
            f"{full / 2**20:.1f} MiB | {after / 2**20:.1f} MiB | {(after - full) / 2**20:+.2f} MiB | "
            f"{seconds:.0f} |"
        )


if __name__ == "__main__":
    main()
