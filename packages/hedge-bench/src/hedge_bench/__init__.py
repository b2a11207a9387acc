"""hedge-bench: the benchmark of hedge's adapters, and a what-if simulator.

The ``hedge-bench`` command (see :mod:`hedge_bench._cli`) does five things:

* ``run`` — starts local HTTP and gRPC servers in their own processes whose
  latency follows a seeded workload, and measures every installed adapter
  bare and hedged (static and adaptive delays): p50 to p99.9, the extra
  requests the server saw, hedges sent and won; CSV, JSON and charts.
* ``cost`` — bare against hedged throughput and CPU per request against a
  server that answers at once: hedging's own overhead.
* ``simulate`` — replays a latency log or a synthetic workload through
  hedge-core's own engine on virtual time, for a grid of settings.
* ``soak`` — many hedged requests per adapter and form, with stragglers
  and callers giving up, while descriptors, sockets, tasks, threads,
  memory and warnings are watched for anything that piles up.
* ``outage`` — the server turns slow, then recovers: hedges stay within
  the budget, hedging and the delay estimate recover, and a healthy
  server's hedging is not starved by a slow one.

The Python API below is what the command is made of, for notebooks and for
authors of third-party adapters who add a :class:`Driver` (entry-point
group ``hedge_bench.drivers``).
"""

from __future__ import annotations

from .__about__ import __version__
from ._configs import CONFIGURATIONS, Configuration
from ._driver import ENTRY_POINT_GROUP, BenchClient, Driver, SyncBenchClient, load_drivers
from ._simulate import FrontierPoint, SimOutcome, frontier, simulate
from ._summary import PERCENTILES, percentile, percentiles
from ._workload import (
    SYNTHETIC,
    EmpiricalModel,
    LatencyModel,
    LognormalModel,
    TwoPointModel,
    UniformModel,
    Workload,
    lognormal_parameters,
    synthetic,
)

__all__ = [
    "CONFIGURATIONS",
    "ENTRY_POINT_GROUP",
    "PERCENTILES",
    "SYNTHETIC",
    "BenchClient",
    "Configuration",
    "Driver",
    "EmpiricalModel",
    "FrontierPoint",
    "LatencyModel",
    "LognormalModel",
    "SimOutcome",
    "SyncBenchClient",
    "TwoPointModel",
    "UniformModel",
    "Workload",
    "__version__",
    "frontier",
    "lognormal_parameters",
    "load_drivers",
    "percentile",
    "percentiles",
    "simulate",
    "synthetic",
]
