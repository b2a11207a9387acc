"""HedgeConfig: every knob of the hedging policy, as one validated value.

A config is frozen; change it with :func:`dataclasses.replace`, which
validates again. Every field is checked when the config is built, and a bad
value raises :class:`TypeError` (wrong type) or :class:`ValueError` (out of
range) naming the field and the accepted range, so a mistake such as
``percentile=90`` fails at the boundary instead of silently hedging at p100.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ._keys import RequestInfo
    from ._stats import Stats

__all__ = ["HedgeConfig"]

_KEY_LEVELS = ("host", "endpoint")
_RACE_ON = ("headers", "first_byte")
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_METHOD_NAME = _HEADER_NAME


def _real(
    name: str,
    value: object,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> float:
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"HedgeConfig.{name} must be a number in {interval}{hint}, got {type(value).__name__} {value!r}"
        )
    number = float(value)
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if math.isnan(number) or too_low or too_high:
        raise ValueError(f"HedgeConfig.{name} must be in {interval}{hint}, got {value!r}")
    return number


def _integer(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"HedgeConfig.{name} must be an int in [{low}, {high}], got {type(value).__name__} {value!r}"
        )
    if not low <= value <= high:
        raise ValueError(f"HedgeConfig.{name} must be in [{low}, {high}], got {value!r}")
    return value


def _choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"HedgeConfig.{name} must be one of {choices}, got {type(value).__name__} {value!r}")
    if value not in choices:
        raise ValueError(f"HedgeConfig.{name} must be one of {choices}, got {value!r}")
    return value


def _header(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"HedgeConfig.{name} must be a header name (str) or None, got {type(value).__name__}")
    if not _HEADER_NAME.match(value):
        raise ValueError(f"HedgeConfig.{name} must be a valid HTTP header name, got {value!r}")
    return value


def _methods(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(
            "HedgeConfig.hedge_methods must be a collection of method names "
            f"such as {{'GET', 'HEAD'}}, got {value!r}"
        )
    methods = set()
    for method in value:
        if not isinstance(method, str) or not _METHOD_NAME.match(method):
            raise ValueError(f"HedgeConfig.hedge_methods must hold HTTP method names, got {method!r}")
        methods.add(method.upper())
    return frozenset(methods)


@dataclass(frozen=True)
class HedgeConfig:
    """How hedge decides when to send a backup request, and how many.

    The first nine fields are hedge-python's, with its defaults and meanings,
    except ``estimated_rps`` (see below). Durations are in seconds.

    Attributes:
        percentile: the latency quantile that triggers a hedge, in (0, 1);
            0.9 means "hedge when the primary is slower than p90".
        max_hedges: extra attempts per request, in [0, 10]; each is sent one
            more delay after the previous one and paid for from the budget.
            0 turns hedging off.
        budget_percent: hedges allowed as a percentage of the hedge-eligible
            requests to the same target, in [0, 100]. Each request earns
            ``budget_percent / 100`` of a hedge and each hedge spends one, so
            during an outage hedges stay within this share (plus the floor).
        estimated_rps: ``None`` (default) for the traffic-proportional budget
            above. A number (> 0) selects hedge-python's fixed-rate token
            bucket instead, refilled at ``estimated_rps * budget_percent / 100``
            hedges per second whatever the real traffic. hedge-python defaulted
            to 100, which allowed 10 hedges per second at any load.
        min_delay: the smallest hedge delay, >= 0.
        warmup_requests: samples a target needs in its window before its
            delay comes from the sketch, in [0, 1,000,000].
        warmup_delay: the hedge delay of a target with no estimate yet,
            >= 0; used clamped to ``[min_delay, max_delay]``.
        window_duration: how long a latency sample counts, > 0: estimates
            cover the last one to two windows.
        stats: a :class:`~hedge.Stats` to record into, shareable across
            clients; ``None`` gives each client its own.
        max_delay: the largest hedge delay, finite and >= ``min_delay``.
            A server pushback longer than this stops hedging for that request.
        budget_floor: hedges per second always allowed per target on top of
            the percentage, >= 0, so that low traffic can still hedge.
        max_keys: the most latency keys (and budget targets) tracked at once,
            in [1, 10,000,000]; the least recently used is forgotten first.
        key_level: ``"host"`` (scheme, host and port) or ``"endpoint"``
            (host plus path, never the query) for latency keys. Budgets are
            always per host.
        key_func: a callable taking a :class:`~hedge.RequestInfo` and
            returning the latency key, overriding ``key_level``.
        hedge_methods: HTTP methods hedged by default. PUT and DELETE are
            idempotent by RFC 9110 but only hedged when listed here.
        idempotency_key_header: a header name (e.g. ``"Idempotency-Key"``);
            a request carrying it may be hedged whatever its method.
        attempt_header: a header (HTTP) or metadata key (gRPC) added to hedge
            attempts with the number of earlier attempts, e.g.
            ``"x-hedge-attempt"`` or ``"grpc-previous-rpc-attempts"``. Off
            (``None``) by default.
        race_on: what a streaming HTTP attempt must deliver to win:
            ``"headers"`` (default) or ``"first_byte"`` of the body, which
            suits SSE/LLM streams whose headers come at once.
        relative_accuracy: the latency sketch's relative accuracy, in (0, 0.5].

    """

    percentile: float = 0.90
    max_hedges: int = 1
    budget_percent: float = 10.0
    estimated_rps: Optional[float] = None  # noqa: UP045 - evaluated on Python 3.9
    min_delay: float = 0.001
    warmup_requests: int = 20
    warmup_delay: float = 0.01
    window_duration: float = 30.0
    stats: Optional[Stats] = field(default=None, compare=False, repr=False)  # noqa: UP045
    max_delay: float = 30.0
    budget_floor: float = 1.0
    max_keys: int = 10_000
    key_level: str = "host"
    key_func: Optional[Callable[[RequestInfo], str]] = field(default=None, compare=False)  # noqa: UP045
    hedge_methods: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS"})
    idempotency_key_header: Optional[str] = None  # noqa: UP045
    attempt_header: Optional[str] = None  # noqa: UP045
    race_on: str = "headers"
    relative_accuracy: float = 0.01

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(
            self,
            "percentile",
            _real(
                "percentile", self.percentile, 0, 1, low_open=True, high_open=True, hint=" (0.9 means p90)"
            ),
        )
        set_(self, "max_hedges", _integer("max_hedges", self.max_hedges, 0, 10))
        set_(self, "budget_percent", _real("budget_percent", self.budget_percent, 0, 100))
        if self.estimated_rps is not None:
            set_(
                self,
                "estimated_rps",
                _real(
                    "estimated_rps",
                    self.estimated_rps,
                    0,
                    math.inf,
                    low_open=True,
                    high_open=True,
                    hint=" or None",
                ),
            )
        set_(self, "min_delay", _real("min_delay", self.min_delay, 0, math.inf, high_open=True))
        set_(
            self, "max_delay", _real("max_delay", self.max_delay, 0, math.inf, low_open=True, high_open=True)
        )
        if self.max_delay < self.min_delay:
            raise ValueError(
                f"HedgeConfig.max_delay must be >= min_delay ({self.min_delay!r}), got {self.max_delay!r}"
            )
        set_(self, "warmup_requests", _integer("warmup_requests", self.warmup_requests, 0, 1_000_000))
        set_(self, "warmup_delay", _real("warmup_delay", self.warmup_delay, 0, math.inf, high_open=True))
        set_(
            self,
            "window_duration",
            _real("window_duration", self.window_duration, 0, math.inf, low_open=True, high_open=True),
        )
        set_(self, "budget_floor", _real("budget_floor", self.budget_floor, 0, math.inf, high_open=True))
        set_(self, "max_keys", _integer("max_keys", self.max_keys, 1, 10_000_000))
        set_(self, "key_level", _choice("key_level", self.key_level, _KEY_LEVELS))
        if self.key_func is not None and not callable(self.key_func):
            raise TypeError(
                "HedgeConfig.key_func must be a callable taking a RequestInfo, or None, "
                f"got {self.key_func!r}"
            )
        set_(self, "hedge_methods", _methods(self.hedge_methods))
        set_(self, "idempotency_key_header", _header("idempotency_key_header", self.idempotency_key_header))
        set_(self, "attempt_header", _header("attempt_header", self.attempt_header))
        set_(self, "race_on", _choice("race_on", self.race_on, _RACE_ON))
        set_(
            self,
            "relative_accuracy",
            _real("relative_accuracy", self.relative_accuracy, 0, 0.5, low_open=True),
        )
        if self.stats is not None:
            from ._stats import Stats

            if not isinstance(self.stats, Stats):
                raise TypeError(
                    f"HedgeConfig.stats must be a hedge.Stats or None, got {type(self.stats).__name__}"
                )

    @property
    def effective_warmup_delay(self) -> float:
        """``warmup_delay`` clamped to ``[min_delay, max_delay]``."""
        return min(max(self.warmup_delay, self.min_delay), self.max_delay)

    def describe(self) -> dict[str, Any]:
        """Return the settings as a plain dict (for logs and benchmark output)."""
        return {
            "percentile": self.percentile,
            "max_hedges": self.max_hedges,
            "budget_percent": self.budget_percent,
            "estimated_rps": self.estimated_rps,
            "min_delay": self.min_delay,
            "max_delay": self.max_delay,
            "warmup_requests": self.warmup_requests,
            "warmup_delay": self.warmup_delay,
            "window_duration": self.window_duration,
            "budget_floor": self.budget_floor,
            "max_keys": self.max_keys,
            "key_level": self.key_level,
            "hedge_methods": sorted(self.hedge_methods),
            "idempotency_key_header": self.idempotency_key_header,
            "attempt_header": self.attempt_header,
            "race_on": self.race_on,
            "relative_accuracy": self.relative_accuracy,
        }
