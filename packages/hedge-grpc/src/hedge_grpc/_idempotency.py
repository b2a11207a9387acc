"""Which gRPC methods are safe to send twice, as their ``.proto`` declares.

protobuf's ``MethodOptions.idempotency_level`` says it per method::

    rpc GetItem(GetItemRequest) returns (Item) {
      option idempotency_level = NO_SIDE_EFFECTS;  // or IDEMPOTENT
    }

Generated ``*_pb2`` modules register their descriptors in protobuf's default
descriptor pool when imported (a stub module imports its ``_pb2``), so the
full method name ``/catalog.v1.Catalog/GetItem`` can be looked up there as
service ``catalog.v1.Catalog``, method ``GetItem``. Without protobuf, or for
a method the pool does not know (no generated code imported, a generic
call), the answer is "not declared idempotent".

:class:`IdempotencyTable` caches each answer (a lookup costs microseconds,
a cache hit a dict lookup); it is bounded, so a client calling unbounded
method names keeps bounded memory.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["IdempotencyTable", "declared_idempotent"]

# google.protobuf.MethodOptions.IdempotencyLevel values (descriptor.proto).
_NO_SIDE_EFFECTS = 1
_IDEMPOTENT = 2

_MAX_CACHED = 4096


def declared_idempotent(full_method: str) -> bool:
    """Whether ``full_method`` is declared ``NO_SIDE_EFFECTS`` or ``IDEMPOTENT`` in the default pool.

    Args:
        full_method: ``/package.Service/Method`` (the leading slash optional).
    """
    service, _, method = full_method.lstrip("/").partition("/")
    if not service or not method:
        return False
    pool = _default_pool()
    if pool is None:
        return False
    try:
        descriptor = pool.FindServiceByName(service).methods_by_name.get(method)
    except KeyError:
        return False
    if descriptor is None:
        return False
    level = getattr(descriptor.GetOptions(), "idempotency_level", 0)
    return level in (_NO_SIDE_EFFECTS, _IDEMPOTENT)


def _default_pool() -> Any:
    try:
        from google.protobuf import descriptor_pool
    except ImportError:
        return None
    return descriptor_pool.Default()


class IdempotencyTable:
    """Per-method answers of :func:`declared_idempotent`, cached (thread-safe)."""

    __slots__ = ("_answers", "_lock")

    def __init__(self) -> None:
        self._answers: dict[str, bool] = {}
        self._lock = threading.Lock()

    def __call__(self, full_method: str) -> bool:
        """Whether ``full_method`` is declared safe to repeat."""
        answer = self._answers.get(full_method)
        if answer is None:
            answer = declared_idempotent(full_method)
            with self._lock:
                if len(self._answers) < _MAX_CACHED:
                    self._answers[full_method] = answer
        return answer
