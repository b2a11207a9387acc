"""``hedge-bench peer``: hedge against another hedging library, on the same requests.

hedge-python installs an import package named ``hedge``, as hedge-core
does, so the two never share an interpreter. Every client here is
therefore measured in a fresh interpreter of its own, by one script
(:mod:`hedge_bench._peer_client`) that imports nothing of hedge-bench:

* ``none`` — the framework's own client, in this environment;
* ``adaptive`` — hedge, ``HedgeConfig()`` with every default, built
  through the import paths hedge-python documents (``hedge.transport``),
  which hedge keeps working;
* ``peer`` — the other library, in the interpreter given with
  ``--python``, with its own defaults, and ``peer-tuned`` with the
  settings given with ``--peer-config`` (say, hedge-python's
  ``estimated_rps`` set to the rate this run sends).

All of them send the same requests to the same server process as
``hedge-bench run`` (the same paths, so request ``i`` gets the same
latency everywhere), with the same warm-up, concurrency and settle time,
in alternating order within each repeat. What the server saw is read
between the warm-up and the end, exactly as ``run`` reads it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ._progress import Progress
from ._run import Measurement
from ._servers import ServerProcess, request_path
from ._validate import check_counts
from ._workload import SEED_MODEL, LatencyModel, Workload, warmup_stream

__all__ = ["FRAMEWORKS", "PeerClientError", "PeerOptions", "Side", "library_version", "measure_peers"]

FRAMEWORKS = ("httpx", "aiohttp")

_SCRIPT = Path(__file__).with_name("_peer_client.py")
_SETTLE = 0.05
# A client that has not answered in this long is reported as stuck, not waited for.
_TIMEOUT = 600.0


@dataclass(frozen=True)
class Side:
    """One client of the comparison: which interpreter, bare or hedged, and with which settings."""

    slug: str
    label: str
    python: str
    hedged: bool
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PeerOptions:
    """What ``hedge-bench peer`` measures (the command line's options)."""

    python: str
    library: str = "hedge-python"
    peer_config: dict[str, Any] = field(default_factory=dict)
    frameworks: tuple[str, ...] = FRAMEWORKS
    requests: int = 500
    warmup: int = 200
    repeat: int = 1
    seed: int = 1
    concurrency: int = 2
    model: LatencyModel = SEED_MODEL

    def __post_init__(self) -> None:
        check_counts(self, ("requests", 1), ("warmup", 0), ("repeat", 1), ("concurrency", 1))
        unknown = [name for name in self.frameworks if name not in FRAMEWORKS]
        if unknown or not self.frameworks:
            raise ValueError(f"frameworks must be some of {', '.join(FRAMEWORKS)}, got {self.frameworks!r}")
        if not isinstance(self.peer_config, dict):
            raise TypeError(f"peer_config must be a dict of HedgeConfig settings, got {self.peer_config!r}")

    @property
    def workload(self) -> Workload:
        """The latency model with this run's seed."""
        return Workload(self.model, self.seed)

    def sides(self) -> list[Side]:
        """The clients compared, in the order each repeat measures them."""
        sides = [
            Side("none", "no hedging", sys.executable, hedged=False),
            Side("adaptive", "hedge, defaults", sys.executable, hedged=True),
            Side("peer", f"{self.library}, defaults", self.python, hedged=True),
        ]
        if self.peer_config:
            settings = ", ".join(f"{key}={value!r}" for key, value in self.peer_config.items())
            sides.append(
                Side("peer-tuned", f"{self.library}, {settings}", self.python, True, self.peer_config)
            )
        return sides


class PeerClientError(RuntimeError):
    """A client script failed or broke the protocol; the message carries what it printed."""


def _read_document(
    stream: IO[str], process: subprocess.Popen[str], errors: IO[str], what: str
) -> dict[str, Any]:
    line = stream.readline()
    if not line:
        process.wait(timeout=_TIMEOUT)
        errors.seek(0)
        raise PeerClientError(f"the {what} client ended without an answer: {errors.read().strip()[-2000:]}")
    document: dict[str, Any] = json.loads(line)
    return document


def _measure(
    side: Side,
    framework: str,
    version: str,
    repeat: int,
    server: ServerProcess,
    epochs: list[int],
    options: PeerOptions,
) -> Measurement:
    epochs[0] += 1
    warmup_prefix = request_path(epochs[0], warmup_stream(repeat), 0).rsplit("/", 1)[0]
    epochs[0] += 1
    prefix = request_path(epochs[0], repeat, 0).rsplit("/", 1)[0]
    settings = {
        "framework": framework,
        "mode": "hedged" if side.hedged else "bare",
        "config": side.config,
        "address": server.address,
        "warmup_prefix": warmup_prefix,
        "warmup": options.warmup,
        "prefix": prefix,
        "requests": options.requests,
        "concurrency": options.concurrency,
    }
    # stderr goes to a file: a pipe nobody reads could fill up and stall the client.
    with (
        tempfile.TemporaryFile("w+") as errors,
        subprocess.Popen(
            [side.python, str(_SCRIPT), json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        ) as process,
    ):
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            _read_document(process.stdout, process, errors, side.label)
            before = server.counts()
            started = time.perf_counter()
            process.stdin.write("go\n")
            process.stdin.flush()
            result = _read_document(process.stdout, process, errors, side.label)
            wall = time.perf_counter() - started
            time.sleep(_SETTLE)
            seen = server.counts() - before
            process.wait(timeout=_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
    stats = result["stats"] or {}
    return Measurement(
        adapter=framework,
        framework_version=version,
        configuration=side.slug,
        label=side.label,
        repeat=repeat,
        latencies_ms=list(result["latencies_ms"]),
        errors=int(result["errors"]),
        server=seen,
        hedges_sent=int(stats.get("hedged_requests", 0)),
        hedge_wins=int(stats.get("hedge_wins", 0)),
        budget_denied=int(stats.get("budget_exhausted", 0)),
        delay_ms=None,
        wall_seconds=wall,
        cpu_seconds=0.0,  # another process's: not comparable, not reported
        warmup_hedges=0,
    )


def library_version(python: str, distribution: str) -> str:
    """The version of ``distribution`` installed for ``python`` (``"?"`` if it cannot tell)."""
    script = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    try:
        done = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return "?"
    return done.stdout.strip() or "?"


def measure_peers(
    options: PeerOptions, versions: dict[str, str], progress: Progress | None = None
) -> list[Measurement]:
    """Measure every side on every framework ``options.repeat`` times; stop the server after."""
    sides = options.sides()
    steps: Sequence[tuple[int, str, Side]] = [
        (repeat, framework, side)
        for repeat in range(options.repeat)
        for framework in options.frameworks
        for side in sides
    ]
    progress = progress or Progress(len(steps), enabled=False)
    measurements: list[Measurement] = []
    epochs = [0]
    server = ServerProcess("http", options.workload).start()
    try:
        for repeat, framework, side in steps:
            progress.begin(f"{framework} {side.label}")
            measurement = _measure(
                side, framework, versions.get(framework, "?"), repeat, server, epochs, options
            )
            measurements.append(measurement)
            progress.advance()
            figures = measurement.percentiles()
            p50, p99 = figures.get("p50", math.nan), figures.get("p99", math.nan)
            progress.end(f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, extra {measurement.extra_percent:.1f}%")
    finally:
        server.stop()
        progress.close()
    return measurements
