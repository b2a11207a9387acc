"""hedge-tornado's plugin: registers the tornado adapter with hedge.

Loaded by hedge's discovery through the ``hedge`` entry-point group, the
same way a third-party adapter is. It imports no tornado: the spec names the
framework's distribution and floor, and where the adapter's class lives.
"""

from __future__ import annotations

from collections.abc import Callable

from hedge import AdapterSpec, hookimpl

__all__ = ["TORNADO", "hedge_register_adapters"]

TORNADO = AdapterSpec(
    name="tornado",
    framework="tornado",
    min_version="6.0",  # kept equal to the pyproject floor by a test
    exports={"HedgedTornadoClient": "hedge_tornado:HedgedTornadoClient"},
    description="HedgedTornadoClient: tornado's fetch(), hedged; losers aborted on the wire",
)


@hookimpl
def hedge_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    """Register the tornado adapter."""
    register(TORNADO)
