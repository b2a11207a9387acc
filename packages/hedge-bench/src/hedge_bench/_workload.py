"""Latency workloads: what the benchmark servers and the simulator make requests wait.

A workload gives every *attempt* its latency as a pure function of
``(seed, stream, request, attempt)``: the same four numbers always give the
same latency, on every Python and machine, in the server process and in the
simulator alike. So every configuration of a benchmark is measured against
the same sequence of latencies, and the simulator replays exactly the
sequence a ``hedge-bench run`` served.

How a hedge's latency is drawn. The primary attempt of request ``i`` gets
draw ``(i, 0)``; the ``k``-th hedge of that request gets the independent draw
``(i, k)`` from the same distribution. A straggler is a property of an
attempt (a slow server, a GC pause, a lost packet), not of the request, which
is the situation hedging is for: a request whose every copy is slow (a heavy
query) cannot be helped by sending it again, and a model that made it so
would only measure the hedge's cost.

Draws come from BLAKE2b of the four numbers (a counter-based generator):
three uniforms in (0, 1) per attempt, turned into a normal by Box-Muller and
into a straggler decision by comparison. Nothing depends on the order in
which attempts are drawn.

Streams keep independent sequences apart: the measured requests of repeat
``r`` use stream ``r``, and the warm-up requests a stream of their own, so
warming up never consumes, or changes, the measured sequence.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "SYNTHETIC",
    "EmpiricalModel",
    "LatencyModel",
    "LognormalModel",
    "ShiftedModel",
    "TwoPointModel",
    "UniformModel",
    "Workload",
    "lognormal_parameters",
    "model_from_description",
    "synthetic",
    "uniforms",
    "warmup_stream",
]

_PACK = struct.Struct("<qqqq")
_SCALE = 1.0 / 18446744073709551616.0  # 2**-64
_WARMUP_STREAM = 1_000_000


def warmup_stream(repeat: int) -> int:
    """The stream of the warm-up requests of repeat ``repeat`` (never a measured stream)."""
    return _WARMUP_STREAM + repeat


def uniforms(seed: int, stream: int, request: int, attempt: int) -> tuple[float, float, float]:
    """Three independent uniforms in the open interval (0, 1) for one attempt."""
    digest = hashlib.blake2b(_PACK.pack(seed, stream, request, attempt), digest_size=24).digest()
    a, b, c = struct.unpack("<QQQ", digest)
    return (a + 0.5) * _SCALE, (b + 0.5) * _SCALE, (c + 0.5) * _SCALE


def lognormal_parameters(mean: float, sd: float) -> tuple[float, float]:
    """Return ``(mu, sigma)`` of the lognormal whose mean is ``mean`` and standard deviation ``sd``.

    ``sigma**2 = ln(1 + sd**2 / mean**2)`` and ``mu = ln(mean) - sigma**2 / 2``.
    """
    if not (mean > 0 and math.isfinite(mean)):
        raise ValueError(f"mean must be a finite number > 0, got {mean!r}")
    if not (sd >= 0 and math.isfinite(sd)):
        raise ValueError(f"sd must be a finite number >= 0, got {sd!r}")
    variance = math.log1p((sd / mean) ** 2)
    return math.log(mean) - variance / 2.0, math.sqrt(variance)


class LatencyModel:
    """A latency distribution, sampled from three uniforms (see the module docstring)."""

    name = "model"

    def sample(self, u1: float, u2: float, u3: float, request: int, attempt: int) -> float:
        """Return a latency in seconds for one attempt."""
        raise NotImplementedError

    def describe(self) -> dict[str, object]:
        """The model's parameters, for reports."""
        return {"model": self.name}


@dataclass(frozen=True)
class LognormalModel(LatencyModel):
    """Lognormal latencies given by their mean and standard deviation, plus stragglers.

    With probability ``straggler_share`` an attempt is a straggler and takes
    ``straggler_factor`` times its lognormal draw. The seed benchmark is
    ``LognormalModel(5.0, 2.0, 0.05, 10.0)``: mean 5 ms, sd 2 ms, 5% of
    attempts ten times slower.

    Attributes:
        mean_ms: the lognormal's mean in milliseconds (> 0).
        sd_ms: its standard deviation in milliseconds (>= 0).
        straggler_share: the probability that an attempt is a straggler, in [0, 1].
        straggler_factor: how much slower a straggler is (>= 1).

    """

    mean_ms: float = 5.0
    sd_ms: float = 2.0
    straggler_share: float = 0.05
    straggler_factor: float = 10.0
    name: str = field(default="lognormal", compare=False)
    _mu: float = field(init=False, repr=False, compare=False)
    _sigma: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        mu, sigma = lognormal_parameters(self.mean_ms, self.sd_ms)
        if not 0.0 <= self.straggler_share <= 1.0:
            raise ValueError(f"straggler_share must be in [0, 1], got {self.straggler_share!r}")
        if not (self.straggler_factor >= 1.0 and math.isfinite(self.straggler_factor)):
            raise ValueError(f"straggler_factor must be a finite number >= 1, got {self.straggler_factor!r}")
        object.__setattr__(self, "_mu", mu)
        object.__setattr__(self, "_sigma", sigma)

    def sample(self, u1: float, u2: float, u3: float, request: int, attempt: int) -> float:
        normal = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        milliseconds = math.exp(self._mu + self._sigma * normal)
        if u3 < self.straggler_share:
            milliseconds *= self.straggler_factor
        return milliseconds / 1000.0

    def describe(self) -> dict[str, object]:
        return {
            "model": self.name,
            "mean_ms": self.mean_ms,
            "sd_ms": self.sd_ms,
            "straggler_share": self.straggler_share,
            "straggler_factor": self.straggler_factor,
        }


@dataclass(frozen=True)
class TwoPointModel(LatencyModel):
    """Every attempt takes ``fast_ms`` or, with probability ``slow_share``, ``slow_ms``.

    Small enough to work out by hand, which is what the simulator's tests use
    it for (see the docs for the formulas).
    """

    fast_ms: float = 1.0
    slow_ms: float = 100.0
    slow_share: float = 0.1
    name: str = field(default="two-point", compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.fast_ms <= self.slow_ms or not math.isfinite(self.slow_ms):
            raise ValueError(
                f"two-point latencies need 0 < fast_ms <= slow_ms, got {self.fast_ms!r}, {self.slow_ms!r}"
            )
        if not 0.0 <= self.slow_share <= 1.0:
            raise ValueError(f"slow_share must be in [0, 1], got {self.slow_share!r}")

    def sample(self, u1: float, u2: float, u3: float, request: int, attempt: int) -> float:
        return (self.slow_ms if u3 < self.slow_share else self.fast_ms) / 1000.0

    def describe(self) -> dict[str, object]:
        return {
            "model": self.name,
            "fast_ms": self.fast_ms,
            "slow_ms": self.slow_ms,
            "slow_share": self.slow_share,
        }


@dataclass(frozen=True)
class UniformModel(LatencyModel):
    """Every attempt takes a latency drawn uniformly from ``[low_ms, high_ms]``.

    What ``hedge-bench outage`` serves during an outage: every request slow,
    none of them a straggler that a hedge could beat by much.
    """

    low_ms: float = 200.0
    high_ms: float = 500.0
    name: str = field(default="uniform", compare=False)

    def __post_init__(self) -> None:
        if not (0 < self.low_ms <= self.high_ms and math.isfinite(self.high_ms)):
            raise ValueError(
                f"uniform latencies need 0 < low_ms <= high_ms, got {self.low_ms!r}, {self.high_ms!r}"
            )

    def sample(self, u1: float, u2: float, u3: float, request: int, attempt: int) -> float:
        return (self.low_ms + (self.high_ms - self.low_ms) * u1) / 1000.0

    def describe(self) -> dict[str, object]:
        return {"model": self.name, "low_ms": self.low_ms, "high_ms": self.high_ms}


class EmpiricalModel(LatencyModel):
    """Latencies replayed from a log: request ``i``'s primary takes the ``i``-th logged latency.

    A hedge takes a latency drawn uniformly from the logged latencies of the
    same key (a bootstrap resample): the log has one latency per request, and
    a hedge is a fresh attempt, independent of the primary.

    Args:
        latencies: per-request latencies in seconds, in log order (> 0).
        keys: each request's key (same length), or ``None`` for one key.

    """

    name = "log"

    def __init__(self, latencies: Sequence[float], keys: Sequence[str] | None = None) -> None:
        if not latencies:
            raise ValueError("a latency log needs at least one latency")
        if keys is not None and len(keys) != len(latencies):
            raise ValueError("keys and latencies must have the same length")
        for value in latencies:
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"latencies must be finite and > 0, got {value!r}")
        self.latencies = list(latencies)
        self.keys = list(keys) if keys is not None else ["log"] * len(self.latencies)
        by_key: dict[str, list[float]] = {}
        for key, value in zip(self.keys, self.latencies):
            by_key.setdefault(key, []).append(value)
        self._by_key = by_key

    def __len__(self) -> int:
        return len(self.latencies)

    def key(self, request: int) -> str:
        """The key of request ``request`` (requests past the end wrap around)."""
        return self.keys[request % len(self.keys)]

    def sample(self, u1: float, u2: float, u3: float, request: int, attempt: int) -> float:
        index = request % len(self.latencies)
        if attempt == 0:
            return self.latencies[index]
        pool = self._by_key[self.keys[index]]
        return pool[min(int(u1 * len(pool)), len(pool) - 1)]

    def describe(self) -> dict[str, object]:
        return {"model": self.name, "requests": len(self.latencies), "keys": len(self._by_key)}


@dataclass(frozen=True)
class ShiftedModel(LatencyModel):
    """Another model's latencies plus a constant ``shift_ms`` per attempt.

    Used to add a real client's own per-request overhead (measured, e.g. the
    difference between a bare client's p50 and the model's) to a simulation.
    """

    base: LatencyModel
    shift_ms: float

    @property
    def name(self) -> str:  # type: ignore[override]  # a property where the base has a class attribute
        return f"{self.base.name} + {self.shift_ms:g} ms"

    def sample(self, u1: float, u2: float, u3: float, request: int, attempt: int) -> float:
        return self.base.sample(u1, u2, u3, request, attempt) + self.shift_ms / 1000.0

    def describe(self) -> dict[str, object]:
        return {**self.base.describe(), "shift_ms": self.shift_ms}


@dataclass(frozen=True)
class Workload:
    """A latency model and a seed: the latency of every attempt of every request.

    Attributes:
        model: the distribution.
        seed: selects the sequence (an int).

    """

    model: LatencyModel
    seed: int = 0

    def latency(self, stream: int, request: int, attempt: int) -> float:
        """The latency in seconds of attempt ``attempt`` (0 = primary) of ``request`` in ``stream``."""
        u1, u2, u3 = uniforms(self.seed, stream, request, attempt)
        return self.model.sample(u1, u2, u3, request, attempt)

    def describe(self) -> dict[str, object]:
        """The workload's parameters, for reports."""
        return {**self.model.describe(), "seed": self.seed}


SEED_MODEL = LognormalModel(5.0, 2.0, 0.05, 10.0, name="seed")

SYNTHETIC: dict[str, str] = {
    "seed": "lognormal mean 5 ms, sd 2 ms; 5% of attempts 10x slower (the seed benchmark)",
    "lognormal": "lognormal mean 5 ms, sd 2 ms, no stragglers (hedging can only cost here)",
    "two-point": "1 ms, or 100 ms for 10% of attempts (small enough to check by hand)",
}


def synthetic(
    name: str,
    *,
    mean_ms: float | None = None,
    sd_ms: float | None = None,
    straggler_share: float | None = None,
    straggler_factor: float | None = None,
) -> LatencyModel:
    """Return the named synthetic model, with the lognormal parameters optionally replaced.

    Raises:
        ValueError: for an unknown name (the message lists the known ones) or
            a parameter out of range.

    """
    if name == "two-point":
        if any(value is not None for value in (mean_ms, sd_ms, straggler_share, straggler_factor)):
            raise ValueError("the two-point workload takes no lognormal parameters")
        return TwoPointModel()
    if name not in SYNTHETIC:
        raise ValueError(f"unknown workload {name!r}; choose one of {', '.join(sorted(SYNTHETIC))}")
    base = SEED_MODEL if name == "seed" else LognormalModel(5.0, 2.0, 0.0, 10.0)
    changed = any(value is not None for value in (mean_ms, sd_ms, straggler_share, straggler_factor))
    return LognormalModel(
        base.mean_ms if mean_ms is None else mean_ms,
        base.sd_ms if sd_ms is None else sd_ms,
        base.straggler_share if straggler_share is None else straggler_share,
        base.straggler_factor if straggler_factor is None else straggler_factor,
        name=f"{name} (modified)" if changed else name,
    )


def model_from_description(description: dict[str, object]) -> LatencyModel:
    """Rebuild a synthetic model from its :meth:`LatencyModel.describe` output.

    Raises:
        ValueError: for a log model (its latencies are not in the description)
            or an unknown model.

    """
    kind = str(description.get("model", ""))

    def number(name: str) -> float:
        value = description.get(name)
        if not isinstance(value, (int, float)):
            raise ValueError(f"the workload description lacks {name!r}")
        return float(value)

    if kind == "two-point":
        return TwoPointModel(number("fast_ms"), number("slow_ms"), number("slow_share"))
    if "mean_ms" in description:
        return LognormalModel(
            number("mean_ms"),
            number("sd_ms"),
            number("straggler_share"),
            number("straggler_factor"),
            name=kind or "lognormal",
        )
    raise ValueError(f"cannot rebuild a {kind or 'unnamed'!r} workload from its description")
