"""What every hedging interceptor decides the same way, asyncio or sync.

* **Which methods may be hedged** — those whose ``.proto`` declares
  ``idempotency_level`` ``NO_SIDE_EFFECTS`` or ``IDEMPOTENT``
  (:mod:`hedge_grpc._idempotency`), those the user lists in
  ``idempotent_methods``, or every method when ``hedge_all_methods=True``.
  That judgement is passed to :meth:`hedge.Hedger.run` as ``safe=``, so a
  per-call override (the ``x-hedge`` metadata entry) and plugins still
  decide first.
* **How an attempt's status is judged** (gRFC A6) — OK wins; a status in
  ``non_fatal_status_codes`` (default ``UNAVAILABLE``) does not win and sends
  the next hedge at once, or after the server's ``grpc-retry-pushback-ms``;
  any other status is fatal and ends the race.
* **Keys** — the request is described as ``grpc://host:port`` plus the full
  method name; latency is keyed per method, budgets per target.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import grpc

from hedge import Classifier, HedgeConfig, Hedger, Judgement, RequestInfo, RetryAfter, Verdict
from hedge.http import hedge_override

from ._idempotency import IdempotencyTable
from ._target import UNKNOWN_HOST, channel_target, parse_target

__all__ = [
    "HEDGE_METADATA_KEY",
    "PUSHBACK_METADATA_KEY",
    "GrpcClassifier",
    "GrpcPolicy",
    "pushback_judgement",
    "read_override",
]

HEDGE_METADATA_KEY = "x-hedge"
"""Per-call override: metadata ``("x-hedge", "true")`` or ``"false"``; removed before sending."""

PUSHBACK_METADATA_KEY = "grpc-retry-pushback-ms"
"""gRFC A6's server pushback trailer."""

FRAMEWORK = "grpc"

_PUSHBACK_VALUE = re.compile(r"^-?(?:0|[1-9][0-9]*)$")
_INT32 = 2**31
_METHOD = re.compile(r"^/?([^/\s]+)/([^/\s]+)$")
_METADATA_KEY = re.compile(r"^[0-9a-z_.-]+$")
_MAX_TARGETS = 1024
_EMPTY: Mapping[str, str] = {}


def pushback_judgement(trailing_metadata: Iterable[Any] | None) -> Judgement:
    """The verdict for a non-fatal status, honouring ``grpc-retry-pushback-ms`` (gRFC A6).

    No pushback: ``RETRY`` (the next hedge goes at once). A value in
    milliseconds: ``RetryAfter(ms / 1000)``. A negative value, or one that is
    not an ASCII signed 32-bit integer without leading zeros: ``RetryAfter(-1)``,
    which stops hedging for the call.
    """
    if not trailing_metadata:
        return Verdict.RETRY
    for key, value in trailing_metadata:
        if key != PUSHBACK_METADATA_KEY:
            continue
        if isinstance(value, bytes):
            try:
                value = value.decode("ascii")
            except UnicodeDecodeError:
                return RetryAfter(-1)
        if not isinstance(value, str) or not _PUSHBACK_VALUE.match(value):
            return RetryAfter(-1)
        milliseconds = int(value)
        if milliseconds < 0 or milliseconds >= _INT32:
            return RetryAfter(-1)
        return RetryAfter(milliseconds / 1000.0)
    return Verdict.RETRY


def read_override(value: object) -> bool | None:
    """Read the ``x-hedge`` metadata value (``true``/``false``, ``1``/``0``, ...).

    Raises:
        ValueError: for any other value, naming the metadata key.
    """
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    try:
        return hedge_override(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"metadata {HEDGE_METADATA_KEY!r} must be 'true' or 'false' (or 1/0, yes/no, on/off), "
            f"got {value!r}"
        ) from None


class GrpcClassifier(Classifier[Any]):
    """Judges attempt outcomes by their status code (gRFC A6's fatal / non-fatal split).

    Results are the interceptors' outcome records, which carry ``code`` (a
    :class:`grpc.StatusCode`, or ``None`` for a stream still running) and
    ``trailing_metadata`` (read only for non-fatal codes).
    """

    __slots__ = ("non_fatal",)

    def __init__(self, non_fatal: frozenset[grpc.StatusCode]) -> None:
        self.non_fatal = non_fatal

    def judge(self, code: grpc.StatusCode | None, trailing_metadata: Iterable[Any] | None) -> Judgement:
        """The verdict for an attempt that ended with ``code``."""
        if code is None or code is grpc.StatusCode.OK:
            return Verdict.ACCEPT
        if code in self.non_fatal:
            return pushback_judgement(trailing_metadata)
        return Verdict.FATAL

    def classify_result(self, result: Any) -> Judgement:
        """See :meth:`judge`; ``result`` is an outcome record."""
        return self.judge(result.code, result.trailing_metadata)

    def classify_error(self, error: BaseException) -> Judgement:
        """An :class:`grpc.RpcError` with a non-fatal code is retried; every other exception is fatal.

        Attempts normally return their call whatever its status; an error
        reaches here when an inner interceptor raised one, or the call could
        not be made at all.
        """
        code = getattr(error, "code", None)
        if isinstance(error, grpc.RpcError) and callable(code) and code() in self.non_fatal:
            trailing = getattr(error, "trailing_metadata", None)
            return pushback_judgement(trailing() if callable(trailing) else None)
        return Verdict.FATAL


class GrpcPolicy:
    """The settings and per-call decisions one interceptor uses (see the module docstring).

    Built by the interceptors from their constructor arguments, which are
    validated here: a wrong type raises :class:`TypeError`, a wrong value
    :class:`ValueError`, each naming the parameter and what it accepts.
    """

    def __init__(
        self,
        config: HedgeConfig | None,
        *,
        hedger: Hedger | None,
        target: str | None,
        idempotent_methods: Iterable[str],
        hedge_all_methods: bool,
        non_fatal_status_codes: Iterable[grpc.StatusCode | str],
    ) -> None:
        if hedger is not None:
            if config is not None:
                raise TypeError("pass either config or hedger, not both (a Hedger carries its own config)")
            if not isinstance(hedger, Hedger):
                raise TypeError(f"hedger must be a hedge.Hedger or None, got {type(hedger).__name__}")
            self.hedger = hedger
            self.owns_hedger = False
        else:
            if config is None:
                config = HedgeConfig()
            elif not isinstance(config, HedgeConfig):
                raise TypeError(f"config must be a hedge.HedgeConfig or None, got {type(config).__name__}")
            # A channel has a single target: keying by host would put every
            # method of the service (a 2 ms lookup, a 2 s report) in one estimate.
            self.hedger = Hedger(dataclasses.replace(config, key_level="endpoint"))
            self.owns_hedger = True
        self.attempt_key = _attempt_key(self.hedger.config.attempt_header)
        if target is not None and (not isinstance(target, str) or not target.strip()):
            raise TypeError(
                f"target must be a channel target such as 'localhost:50051' or None, got {target!r}"
            )
        self.fixed_target = parse_target(target) if target is not None else None
        if not isinstance(hedge_all_methods, bool):
            raise TypeError(f"hedge_all_methods must be a bool, got {type(hedge_all_methods).__name__}")
        self.hedge_all = hedge_all_methods
        self.methods, self.services = _method_allowlist(idempotent_methods)
        self.non_fatal = _status_codes(non_fatal_status_codes)
        self.classifier = GrpcClassifier(self.non_fatal)
        self.declared = IdempotencyTable()
        self._targets: dict[str, tuple[str, int | None]] = {}
        self._infos: dict[tuple[str | None, str], RequestInfo] = {}
        self._lock = threading.Lock()

    def is_safe(self, full_method: str) -> bool:
        """The adapter's own judgement that ``full_method`` may be sent twice."""
        if self.hedge_all or full_method in self.methods:
            return True
        if self.services and full_method.lstrip("/").partition("/")[0] in self.services:
            return True
        return self.declared(full_method)

    def request_info(
        self, full_method: str, continuation: Any, headers: Mapping[str, Any] | None
    ) -> RequestInfo:
        """Describe one call: ``grpc://host:port`` of its channel, path = the full method.

        A call without metadata is described by its channel and method alone,
        so that description is built once and reused (bounded, like the
        parsed targets): most calls carry no metadata.
        """
        target = None if self.fixed_target is not None else channel_target(continuation)
        bare = not headers  # grpc.aio's Metadata sums its entries to answer this: ask once
        if bare:
            cached = self._infos.get((target, full_method))
            if cached is not None:
                return cached
        location = self.fixed_target
        if location is None:
            location = self._parse(target) if target is not None else (UNKNOWN_HOST, None)
        host, port = location
        info = RequestInfo(
            full_method,
            "grpc",
            host,
            port,
            full_method,
            _EMPTY if bare or headers is None else headers,
            FRAMEWORK,
        )
        if bare:
            with self._lock:
                if len(self._infos) < _MAX_TARGETS:
                    self._infos[target, full_method] = info
        return info

    def passthrough(self, info: RequestInfo) -> None:
        """Count a call that is not hedged."""
        hedger = self.hedger
        hedger.stats.record_passthrough(hedger.key_for(info))

    def close(self) -> None:
        """Stop the worker threads of the Hedger this policy built (not of a shared one)."""
        if self.owns_hedger:
            self.hedger.close()

    def _parse(self, target: str) -> tuple[str, int | None]:
        location = self._targets.get(target)
        if location is None:
            location = parse_target(target)
            with self._lock:
                if len(self._targets) < _MAX_TARGETS:
                    self._targets[target] = location
        return location


def _attempt_key(header: str | None) -> str | None:
    if header is None:
        return None
    key = header.lower()
    if not _METADATA_KEY.match(key) or key.endswith("-bin"):
        raise ValueError(
            "HedgeConfig.attempt_header must be a text gRPC metadata key (letters, digits, '-', '_', '.'; "
            f"not ending in '-bin') to be used with gRPC, got {header!r}"
        )
    return key


def _method_allowlist(methods: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    if isinstance(methods, (str, bytes)) or not isinstance(methods, Iterable):
        raise TypeError(
            "idempotent_methods must be a collection of full method names such as "
            f"['/catalog.v1.Catalog/GetItem', '/catalog.v1.Catalog/*'], got {methods!r}"
        )
    full: set[str] = set()
    services: set[str] = set()
    for name in methods:
        match = _METHOD.match(name) if isinstance(name, str) else None
        if match is None:
            raise ValueError(
                "idempotent_methods entries must look like '/package.Service/Method' "
                f"or '/package.Service/*', got {name!r}"
            )
        service, method = match.groups()
        if method == "*":
            services.add(service)
        else:
            full.add(f"/{service}/{method}")
    return frozenset(full), frozenset(services)


def _status_codes(codes: Iterable[grpc.StatusCode | str]) -> frozenset[grpc.StatusCode]:
    if isinstance(codes, (str, bytes)) or not isinstance(codes, Iterable):
        raise TypeError(
            "non_fatal_status_codes must be a collection of grpc.StatusCode members or their names, "
            f"such as [grpc.StatusCode.UNAVAILABLE], got {codes!r}"
        )
    found: set[grpc.StatusCode] = set()
    for code in codes:
        if isinstance(code, str):
            member = grpc.StatusCode.__members__.get(code.upper())
            if member is None:
                raise ValueError(
                    f"non_fatal_status_codes: unknown status code name {code!r}; "
                    f"expected one of {sorted(grpc.StatusCode.__members__)}"
                )
            code = member
        if not isinstance(code, grpc.StatusCode):
            raise TypeError(f"non_fatal_status_codes entries must be grpc.StatusCode members, got {code!r}")
        if code is grpc.StatusCode.OK:
            raise ValueError("non_fatal_status_codes cannot contain OK: an OK status is the answer")
        found.add(code)
    return frozenset(found)
