"""hedge-aiohttp's registration with hedge's adapter discovery.

Loaded through the ``hedge`` entry point. It describes the adapter and
imports nothing from aiohttp, so ``python -m hedge`` can list the adapter,
and say whether aiohttp is installed and recent enough, without it.
"""

from __future__ import annotations

from collections.abc import Callable

from hedge import AdapterSpec, hookimpl

__all__ = ["MIN_AIOHTTP", "SPEC", "hedge_register_adapters"]

MIN_AIOHTTP = "3.12.0"
"""The first aiohttp with client middlewares (keep in step with pyproject.toml)."""

SPEC = AdapterSpec(
    name="aiohttp",
    framework="aiohttp",
    min_version=MIN_AIOHTTP,
    exports={
        "HedgedAiohttpSession": "hedge_aiohttp:HedgedAiohttpSession",
        "hedge_middleware": "hedge_aiohttp:hedge_middleware",
        "HedgeMiddleware": "hedge_aiohttp:HedgeMiddleware",
    },
    description="aiohttp client middleware and drop-in ClientSession",
)


@hookimpl
def hedge_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    """Register the aiohttp adapter."""
    register(SPEC)
