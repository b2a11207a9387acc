"""Test support for hedge and for adapter authors.

* :class:`FakeClock` and :func:`run_virtual` / :class:`VirtualTimeLoop`:
  deterministic time for unit tests of timing logic.
* :class:`ScriptedServer`, :class:`Reply`, :func:`free_port`: a stdlib-only
  HTTP/1.1 server on 127.0.0.1 whose latency, status codes and failures a
  test scripts per request.
* :class:`HttpAdapterContract` and :class:`SyncHttpAdapterContract`: the
  conformance tests every HTTP adapter runs (they need pytest, and are
  imported only when asked for).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._clock import FakeClock
from ._loop import VirtualTimeLoop, run_virtual
from ._server import Received, Reply, ScriptedServer, free_port

if TYPE_CHECKING:
    from ._contract import ContractResponse, EventRecorder, HttpAdapterContract, SyncHttpAdapterContract

__all__ = [
    "ContractResponse",
    "EventRecorder",
    "FakeClock",
    "HttpAdapterContract",
    "Received",
    "Reply",
    "ScriptedServer",
    "SyncHttpAdapterContract",
    "VirtualTimeLoop",
    "free_port",
    "run_virtual",
]

_CONTRACT = {"ContractResponse", "EventRecorder", "HttpAdapterContract", "SyncHttpAdapterContract"}


def __getattr__(name: str) -> Any:
    if name in _CONTRACT:
        import pytest

        # Let pytest rewrite the kit's asserts, so failures show the values compared.
        pytest.register_assert_rewrite(
            "hedge.testing._kit", "hedge.testing._faults", "hedge.testing._contract"
        )
        from . import _contract

        value = getattr(_contract, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hedge.testing' has no attribute {name!r}")
