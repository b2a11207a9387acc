"""hedge-niquests' plugin: registers the niquests adapter with hedge's discovery.

Loaded through the ``hedge`` entry-point group. It imports neither niquests
nor the adapter modules, so ``python -m hedge`` can list the adapter (and say
whether niquests is installed and recent enough) without importing either.
"""

from __future__ import annotations

from collections.abc import Callable

from hedge import AdapterSpec, hookimpl

__all__ = ["NIQUESTS_FLOOR", "hedge_register_adapters"]

#: The oldest niquests release the adapter supports (also declared in pyproject.toml).
NIQUESTS_FLOOR = "3.14"


@hookimpl
def hedge_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    """Register the niquests adapter (metadata only)."""
    register(
        AdapterSpec(
            name="niquests",
            framework="niquests",
            min_version=NIQUESTS_FLOOR,
            exports={
                "HedgedNiquestsSession": "hedge_niquests:HedgedNiquestsSession",
                "HedgedNiquestsSyncSession": "hedge_niquests:HedgedNiquestsSyncSession",
                "HedgedHTTPAdapter": "hedge_niquests:HedgedHTTPAdapter",
                "AsyncHedgedHTTPAdapter": "hedge_niquests:AsyncHedgedHTTPAdapter",
            },
            description="niquests AsyncSession/Session and transport adapters",
        )
    )
