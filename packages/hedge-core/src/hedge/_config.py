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

__all__ = ["RULES", "HedgeConfig", "Rule"]

_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class Rule:
    """How one field is checked, and how its accepted values read (errors and docs).

    Attributes:
        accepted: the accepted values in words, e.g. ``"a number in (0, 1)"``.
    """

    accepted = ""

    def check(self, name: str, value: Any) -> Any:
        """Return ``value`` normalised, or raise TypeError/ValueError naming ``name``."""
        raise NotImplementedError


class Real(Rule):
    """A finite or bounded real number (ints accepted, stored as float)."""

    def __init__(
        self,
        low: float,
        high: float,
        *,
        low_open: bool = False,
        high_open: bool = False,
        optional: bool = False,
        hint: str = "",
    ) -> None:
        self.low, self.high = low, high
        self.low_open, self.high_open = low_open, high_open
        self.optional = optional
        self.hint = f" ({hint})" if hint else ""
        self.interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        self.accepted = f"a number in {self.interval}" + (" or None" if optional else "")

    def check(self, name: str, value: Any) -> float | None:
        if value is None and self.optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(
                f"HedgeConfig.{name} must be {self.accepted}{self.hint}, got {type(value).__name__} {value!r}"
            )
        number = float(value)
        too_low = number <= self.low if self.low_open else number < self.low
        too_high = number >= self.high if self.high_open else number > self.high
        if math.isnan(number) or too_low or too_high:
            raise ValueError(f"HedgeConfig.{name} must be in {self.interval}{self.hint}, got {value!r}")
        return number


class Integer(Rule):
    """An int (not a bool) in ``[low, high]``."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.accepted = f"an int in [{low}, {high}]"

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(
                f"HedgeConfig.{name} must be {self.accepted}, got {type(value).__name__} {value!r}"
            )
        if not self.low <= value <= self.high:
            raise ValueError(f"HedgeConfig.{name} must be in [{self.low}, {self.high}], got {value!r}")
        return value


class Choice(Rule):
    """One of a few strings."""

    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self.accepted = "one of " + ", ".join(f'"{choice}"' for choice in choices)

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(
                f"HedgeConfig.{name} must be one of {self.choices}, got {type(value).__name__} {value!r}"
            )
        if value not in self.choices:
            raise ValueError(f"HedgeConfig.{name} must be one of {self.choices}, got {value!r}")
        return value


class HeaderName(Rule):
    """An HTTP header name (RFC 9110 token), or None."""

    accepted = "an HTTP header name, or None"

    def check(self, name: str, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(
                f"HedgeConfig.{name} must be a header name (str) or None, got {type(value).__name__}"
            )
        if not _HEADER_NAME.match(value):
            raise ValueError(f"HedgeConfig.{name} must be a valid HTTP header name, got {value!r}")
        return value


class Methods(Rule):
    """A collection of HTTP method names, stored upper-cased in a frozenset."""

    accepted = "a collection of HTTP method names"

    def check(self, name: str, value: Any) -> frozenset[str]:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise TypeError(
                f"HedgeConfig.{name} must be a collection of method names "
                f"such as {{'GET', 'HEAD'}}, got {value!r}"
            )
        methods = set()
        for method in value:
            if not isinstance(method, str) or not _HEADER_NAME.match(method):
                raise ValueError(f"HedgeConfig.{name} must hold HTTP method names, got {method!r}")
            methods.add(method.upper())
        return frozenset(methods)


class KeyFunction(Rule):
    """A callable taking a RequestInfo and returning a str, or None."""

    accepted = "a callable (RequestInfo) -> str, or None"

    def check(self, name: str, value: Any) -> Any:
        if value is not None and not callable(value):
            raise TypeError(
                f"HedgeConfig.{name} must be a callable taking a RequestInfo, or None, got {value!r}"
            )
        return value


class StatsObject(Rule):
    """A hedge.Stats, or None."""

    accepted = "a hedge.Stats, or None"

    def check(self, name: str, value: Any) -> Any:
        from ._stats import Stats

        if value is not None and not isinstance(value, Stats):
            raise TypeError(f"HedgeConfig.{name} must be a hedge.Stats or None, got {type(value).__name__}")
        return value


_INF = math.inf

#: Every field's rule, in declaration order: the single source of truth for
#: validation, error messages and the documentation's configuration table.
RULES: dict[str, Rule] = {
    "percentile": Real(0, 1, low_open=True, high_open=True, hint="0.9 means p90"),
    "max_hedges": Integer(0, 10),
    "budget_percent": Real(0, 100),
    "estimated_rps": Real(0, _INF, low_open=True, high_open=True, optional=True),
    "min_delay": Real(0, _INF, high_open=True),
    "warmup_requests": Integer(0, 1_000_000),
    "warmup_delay": Real(0, _INF, high_open=True),
    "window_duration": Real(0, _INF, low_open=True, high_open=True),
    "stats": StatsObject(),
    "max_delay": Real(0, _INF, low_open=True, high_open=True),
    "budget_floor": Real(0, _INF, high_open=True),
    "max_keys": Integer(1, 10_000_000),
    "key_level": Choice("host", "endpoint"),
    "key_func": KeyFunction(),
    "hedge_methods": Methods(),
    "idempotency_key_header": HeaderName(),
    "attempt_header": HeaderName(),
    "race_on": Choice("headers", "first_byte"),
    "relative_accuracy": Real(0, 0.5, low_open=True),
}


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
        for name, rule in RULES.items():
            object.__setattr__(self, name, rule.check(name, getattr(self, name)))
        if self.max_delay < self.min_delay:
            raise ValueError(
                f"HedgeConfig.max_delay must be >= min_delay ({self.min_delay!r}), got {self.max_delay!r}"
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
