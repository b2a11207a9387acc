"""The ``hedge`` entry point: describes the adapter without importing urllib3."""

from __future__ import annotations

from collections.abc import Callable

import hedge


@hedge.hookimpl
def hedge_register_adapters(register: Callable[[hedge.AdapterSpec], None]) -> None:
    """Register the urllib3 adapter."""
    register(
        hedge.AdapterSpec(
            name="urllib3",
            framework="urllib3",
            min_version="2.0",
            exports={"HedgedPoolManager": "hedge_urllib3:HedgedPoolManager"},
            description="HedgedPoolManager: urllib3 with hedged requests (example plugin)",
        )
    )
