"""The ``hedge-bench`` command: ``run``, ``cost``, ``peer``, ``simulate``, ``soak``, ``outage``, ``list``.

Usage errors (a bad number, an unknown adapter or configuration, an
unreadable log) end with argparse's message and exit status 2 before
anything runs. A run in which requests failed, a soak that found a leak or
a warning, and an outage whose checks failed print what went wrong and exit
with status 1; results are written either way.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, TextIO

from hedge import HedgeConfig

from .__about__ import __version__
from ._configs import CONFIGURATIONS, Configuration
from ._configs import select as select_configurations
from ._report import busy_warning, environment, format_number, markdown_table, write_csv, write_json
from ._summary import PERCENTILES
from ._workload import SYNTHETIC, LatencyModel, ShiftedModel, Workload, model_from_description, synthetic

__all__ = ["build_parser", "main"]

_DEFAULT_OUT = "bench-results"
_RUN_DEFAULTS = {"requests": 500, "warmup": 200, "repeat": 1, "seed": 1, "concurrency": 2}


# -- argument types -------------------------------------------------------------------


def _integer(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _real(low: float, high: float = math.inf, *, low_open: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        too_low = value <= low if low_open else value < low
        if math.isnan(value) or too_low or value > high:
            interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def _quantiles(text: str) -> list[float]:
    parse = _real(0.0, 1.0, low_open=True)
    values = sorted({parse(part) for part in _names(text)})
    if values[-1] >= 1.0:
        raise argparse.ArgumentTypeError("percentiles must be below 1 (0.9 means p90)")
    return values


def _hedge_counts(text: str) -> list[int]:
    parse = _integer(0)
    values = sorted({parse(part) for part in _names(text)})
    if values[-1] > 10:
        raise argparse.ArgumentTypeError("max_hedges must be at most 10")
    return values


def _forms(text: str) -> tuple[str, ...]:
    forms = _names(text)
    unknown = [form for form in forms if form not in ("async", "sync")]
    if unknown:
        raise argparse.ArgumentTypeError(f"forms are async and sync, got {', '.join(map(repr, unknown))}")
    return tuple(form for form in ("async", "sync") if form in forms)


def _scenarios(text: str) -> tuple[str, ...]:
    names = _names(text)
    known = ("single", "two-targets")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"scenarios are single and two-targets, got {', '.join(map(repr, unknown))}"
        )
    return tuple(name for name in known if name in names)


def _range_ms(text: str) -> tuple[float, float]:
    parse = _real(0, math.inf, low_open=True)
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH in milliseconds, got {text!r}")
    low, high = parse(parts[0]), parse(parts[1])
    if low > high or not math.isfinite(high):
        raise argparse.ArgumentTypeError(f"expected LOW <= HIGH, both finite, got {text!r}")
    return low, high


def _interpreter(text: str) -> str:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no Python interpreter at {text!r}")
    return str(path)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a JSON object of HedgeConfig settings: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object of HedgeConfig settings, got {text!r}")
    return value


def _peer_frameworks(text: str) -> tuple[str, ...]:
    from ._peer import FRAMEWORKS

    names = _names(text)
    unknown = [name for name in names if name not in FRAMEWORKS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"frameworks are {' and '.join(FRAMEWORKS)}, got {', '.join(map(repr, unknown))}"
        )
    return tuple(name for name in FRAMEWORKS if name in names)


# -- the parser -----------------------------------------------------------------------


def _add_workload(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("workload")
    group.add_argument(
        "--workload",
        default="seed",
        choices=sorted(SYNTHETIC),
        help="the latency distribution (default: seed = lognormal mean 5 ms, sd 2 ms, 5%% stragglers 10x)",
    )
    group.add_argument("--mean-ms", type=_real(0, low_open=True), help="lognormal mean, in ms (seed: 5)")
    group.add_argument("--sd-ms", type=_real(0), help="lognormal standard deviation, in ms (seed: 2)")
    group.add_argument(
        "--stragglers", type=_real(0, 1), help="share of attempts that are stragglers (seed: 0.05)"
    )
    group.add_argument("--straggler-factor", type=_real(1), help="how much slower a straggler is (seed: 10)")


def _add_adapters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--adapters",
        type=_names,
        metavar="NAMES",
        help="comma-separated adapters to run (default: every installed adapter; see 'hedge-bench list')",
    )


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(_DEFAULT_OUT),
        metavar="DIR",
        help=f"where to write CSV, JSON and charts (default: ./{_DEFAULT_OUT})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")


def build_parser() -> argparse.ArgumentParser:
    """The command line parser (public so that the docs and tests can read it)."""
    parser = argparse.ArgumentParser(
        prog="hedge-bench",
        description=(
            "Benchmark hedged requests on every installed hedge adapter, measure their overhead, "
            "and simulate hedging settings on your own latency logs."
        ),
    )
    parser.add_argument("--version", action="version", version=f"hedge-bench {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run = commands.add_parser(
        "run",
        help="latency percentiles of every adapter, bare and hedged, on a seeded workload",
        description=(
            "Start local servers (HTTP and gRPC, each in its own process) whose latency follows a "
            "seeded workload, and measure every installed adapter in every configuration: "
            "no hedging, static 10 ms and 50 ms delays, adaptive, adaptive with max_hedges=2."
        ),
    )
    _add_adapters(run)
    run.add_argument(
        "--configs",
        type=_names,
        metavar="NAMES",
        help="comma-separated configurations (default: all of "
        + ", ".join(configuration.slug for configuration in CONFIGURATIONS)
        + ")",
    )
    run.add_argument(
        "--requests",
        type=_integer(1),
        default=_RUN_DEFAULTS["requests"],
        help="measured requests per configuration (default: 500)",
    )
    run.add_argument(
        "--warmup",
        type=_integer(0),
        default=_RUN_DEFAULTS["warmup"],
        help="unmeasured requests first, so adaptive has learned (default: 200)",
    )
    run.add_argument(
        "--repeat",
        type=_integer(1),
        default=_RUN_DEFAULTS["repeat"],
        help="times to measure each configuration (default: 1)",
    )
    run.add_argument(
        "--seed", type=_integer(0), default=_RUN_DEFAULTS["seed"], help="the workload's seed (default: 1)"
    )
    run.add_argument(
        "--concurrency",
        type=_integer(1),
        default=_RUN_DEFAULTS["concurrency"],
        help="requests in flight at once (default: 2)",
    )
    run.add_argument("--no-plot", action="store_true", help="write no charts")
    _add_workload(run)
    _add_output(run)
    run.set_defaults(handler=_command_run, parser=run)

    cost = commands.add_parser(
        "cost",
        help="what hedging costs: bare vs hedged throughput and CPU against a zero-latency server",
        description=(
            "Send sequential requests to a server that answers at once, through the bare client and "
            "two hedged clients (a hedge armed but never sent; the defaults) of every installed "
            "adapter, and compare throughput and client CPU per request."
        ),
    )
    _add_adapters(cost)
    cost.add_argument(
        "--requests", type=_integer(1), default=1000, help="timed requests per round (default: 1000)"
    )
    cost.add_argument(
        "--warmup", type=_integer(0), default=100, help="untimed requests per round (default: 100)"
    )
    cost.add_argument(
        "--rounds",
        type=_integer(1),
        default=3,
        help="alternating bare/hedged rounds; the best counts (default: 3)",
    )
    _add_output(cost)
    cost.set_defaults(handler=_command_cost, parser=cost)

    peer = commands.add_parser(
        "peer",
        help="hedge against another hedging library (hedge-python) on the same requests",
        description=(
            "Measure the framework's bare client, hedge with its defaults, and another hedging library "
            "(hedge-python by default) with its defaults, each in a fresh interpreter, on the same "
            "requests to the same local server as 'run'. The other library lives in its own "
            "environment (hedge-python's import package is also named hedge): give its interpreter "
            "with --python."
        ),
    )
    peer.add_argument(
        "--python",
        type=_interpreter,
        required=True,
        help="the interpreter of an environment with the other library and the frameworks installed",
    )
    peer.add_argument(
        "--library",
        default="hedge-python",
        help="the other library's distribution, for the report (default: hedge-python)",
    )
    peer.add_argument(
        "--peer-config",
        type=_json_object,
        default={},
        metavar="JSON",
        help="also measure the other library with these settings, e.g. '{\"estimated_rps\": 300}'",
    )
    peer.add_argument(
        "--frameworks",
        type=_peer_frameworks,
        default=("httpx", "aiohttp"),
        metavar="NAMES",
        help="httpx, aiohttp or both (default: both)",
    )
    peer.add_argument(
        "--requests", type=_integer(1), default=500, help="measured requests per client (default: 500)"
    )
    peer.add_argument(
        "--warmup", type=_integer(0), default=200, help="unmeasured requests first (default: 200)"
    )
    peer.add_argument(
        "--repeat", type=_integer(1), default=1, help="times to measure each client (default: 1)"
    )
    peer.add_argument("--seed", type=_integer(0), default=1, help="the workload's seed (default: 1)")
    peer.add_argument(
        "--concurrency", type=_integer(1), default=2, help="requests in flight at once (default: 2)"
    )
    _add_output(peer)
    peer.set_defaults(handler=_command_peer, parser=peer)

    simulate = commands.add_parser(
        "simulate",
        help="replay latencies through hedge's policy on virtual time: the settings frontier",
        description=(
            "Replay a latency log, or a synthetic workload, through hedge-core's own engine "
            "(sketch, delay, budget, race rules) on a virtual clock, for a grid of percentiles and "
            "max_hedges, and print the expected p50/p99/p999 and extra load of each."
        ),
    )
    source = simulate.add_argument_group("latencies")
    source.add_argument(
        "--log", type=Path, metavar="FILE", help="a CSV or JSON latency log (one request per row)"
    )
    source.add_argument(
        "--latency-column", metavar="NAME", help="the log's latency column (default: latency_ms, ...)"
    )
    source.add_argument(
        "--key-column", metavar="NAME", help="the log's key column (default: 'key' if present)"
    )
    source.add_argument(
        "--unit", choices=("ms", "s"), help="the latency unit (default: from the column name, else ms)"
    )
    _add_workload(simulate)
    simulate.add_argument(
        "--percentiles",
        type=_quantiles,
        default=[0.5, 0.75, 0.9, 0.95, 0.99],
        metavar="LIST",
        help="hedge percentiles to try (default: 0.5,0.75,0.9,0.95,0.99)",
    )
    simulate.add_argument(
        "--max-hedges",
        type=_hedge_counts,
        default=[0, 1, 2, 3],
        metavar="LIST",
        help="max_hedges to try (default: 0,1,2,3)",
    )
    simulate.add_argument(
        "--budget-percent", type=_real(0, 100), default=10.0, help="HedgeConfig.budget_percent (default: 10)"
    )
    simulate.add_argument(
        "--requests",
        type=_integer(1),
        default=2000,
        help="requests per point, synthetic workloads (default: 2000)",
    )
    simulate.add_argument(
        "--warmup", type=_integer(0), default=200, help="unmeasured requests first (default: 200)"
    )
    simulate.add_argument(
        "--repeat", type=_integer(1), default=3, help="streams per point; medians reported (default: 3)"
    )
    simulate.add_argument("--seed", type=_integer(0), default=1, help="the workload's seed (default: 1)")
    simulate.add_argument(
        "--concurrency",
        type=_integer(1),
        default=_RUN_DEFAULTS["concurrency"],
        help="requests in flight at once (default: 2)",
    )
    simulate.add_argument(
        "--compare-with",
        type=Path,
        metavar="RESULTS_JSON",
        help="instead of the grid, simulate the configurations of a 'hedge-bench run' (its results.json) "
        "with its settings, and print both side by side",
    )
    simulate.add_argument("--no-plot", action="store_true", help="write no chart")
    _add_output(simulate)
    simulate.set_defaults(handler=_command_simulate, parser=simulate)

    soak = commands.add_parser(
        "soak",
        help="leak check: many hedged requests per adapter and form; descriptors, tasks, threads, memory",
        description=(
            "Send many hedged requests through one client of every installed adapter (async, and sync "
            "where the adapter has a synchronous form), each in a fresh interpreter, with stragglers "
            "and callers that give up at random points. Sample open descriptors, sockets, asyncio "
            "tasks, threads, resident memory and the server's connections after warm-up and after "
            "every chunk, record every warning, and judge whether anything grew. Exits 1 on a leak."
        ),
    )
    _add_adapters(soak)
    soak.add_argument(
        "--forms",
        type=_forms,
        default=("async", "sync"),
        metavar="FORMS",
        help="async, sync or async,sync (default: both, where the adapter has a sync form)",
    )
    soak.add_argument(
        "--requests",
        type=_integer(4),
        default=1000,
        help="measured requests per adapter and form (default: 1000; the long profile: 100000)",
    )
    soak.add_argument(
        "--warmup", type=_integer(0), default=200, help="unmeasured requests first (default: 200)"
    )
    soak.add_argument(
        "--concurrency", type=_integer(1), default=8, help="requests in flight at once (default: 8)"
    )
    soak.add_argument(
        "--checkpoints",
        type=_integer(4),
        default=10,
        help="chunks, each followed by a sample; even (default: 10)",
    )
    soak.add_argument(
        "--cancel",
        type=_real(0, 0.5),
        default=0.01,
        help="share of requests their caller gives up on (default: 0.01)",
    )
    soak.add_argument(
        "--stragglers", type=_real(0, 1), default=0.05, help="share of straggling attempts (default: 0.05)"
    )
    soak.add_argument(
        "--straggler-factor", type=_real(1), default=10.0, help="how much slower a straggler is (default: 10)"
    )
    soak.add_argument("--max-hedges", type=_integer(1), default=1, help="HedgeConfig.max_hedges (default: 1)")
    soak.add_argument("--seed", type=_integer(0), default=1, help="the workload's seed (default: 1)")
    soak.add_argument(
        "--stall-seconds",
        type=_real(0, 3600, low_open=True),
        default=60.0,
        help="report a deadlock when no request finishes for this long (default: 60)",
    )
    _add_output(soak)
    soak.set_defaults(handler=_command_soak, parser=soak)

    outage = commands.add_parser(
        "outage",
        help="amplification check: the server turns slow for a while; hedges stay within the budget",
        description=(
            "Drive every installed adapter's async client with an open loop of requests while the "
            "server (a real socket server in its own process) answers every request slowly for a "
            "while, then recovers. Reports the hedge share before, during and after, and checks that "
            "hedges stayed within the budget, that hedging resumed and that the delay estimate "
            "recovered; with two targets, that a healthy server's hedging was not starved by a slow "
            "one. Exits 1 if a check failed."
        ),
    )
    _add_adapters(outage)
    outage.add_argument(
        "--scenarios",
        type=_scenarios,
        default=("single", "two-targets"),
        metavar="NAMES",
        help="single, two-targets or both (default: both)",
    )
    outage.add_argument(
        "--rate",
        type=_real(0, 2000, low_open=True),
        default=100.0,
        help="requests per second per server (default: 100)",
    )
    outage.add_argument("--warmup", type=_real(0, 600), default=2.0, help="seconds of warm-up (default: 2)")
    outage.add_argument(
        "--before",
        type=_real(0, 3600, low_open=True),
        default=5.0,
        help="seconds before the outage (default: 5)",
    )
    outage.add_argument(
        "--outage", type=_real(0, 3600, low_open=True), default=8.0, help="seconds of outage (default: 8)"
    )
    outage.add_argument(
        "--after",
        type=_real(0, 3600, low_open=True),
        default=8.0,
        help="seconds after it; at least two windows (default: 8)",
    )
    outage.add_argument(
        "--slow-ms",
        type=_range_ms,
        default=(200.0, 500.0),
        metavar="LOW,HIGH",
        help="latency of every attempt during the outage, uniform in [LOW, HIGH] ms (default: 200,500)",
    )
    outage.add_argument(
        "--window",
        type=_real(0, 3600, low_open=True),
        default=2.0,
        help="HedgeConfig.window_duration, seconds: short, so the delay recovers within the run (default: 2)",
    )
    outage.add_argument(
        "--budget-percent", type=_real(0, 100), default=10.0, help="HedgeConfig.budget_percent (default: 10)"
    )
    outage.add_argument(
        "--budget-floor",
        type=_real(0, 1000),
        default=1.0,
        help="HedgeConfig.budget_floor, per second (default: 1)",
    )
    outage.add_argument("--seed", type=_integer(0), default=1, help="the workload's seed (default: 1)")
    _add_output(outage)
    outage.set_defaults(handler=_command_outage, parser=outage)

    listing = commands.add_parser(
        "list",
        help="installed adapters, their frameworks, and whether hedge-bench can drive them",
        description="List what adapter discovery finds and which adapters 'run' and 'cost' would measure.",
    )
    listing.set_defaults(handler=_command_list, parser=listing)
    return parser


# -- shared helpers ---------------------------------------------------------------------


def _model(args: argparse.Namespace) -> LatencyModel:
    return synthetic(
        args.workload,
        mean_ms=args.mean_ms,
        sd_ms=args.sd_ms,
        straggler_share=args.stragglers,
        straggler_factor=args.straggler_factor,
    )


def _describe_model(model: LatencyModel) -> str:
    described = model.describe()
    if "mean_ms" in described:
        text = f"lognormal mean {described['mean_ms']:g} ms, sd {described['sd_ms']:g} ms"
        share = float(described["straggler_share"])  # type: ignore[arg-type]
        if share:
            text += f"; {100 * share:g}% of attempts {described['straggler_factor']:g}x slower"
        return text
    if described.get("model") == "two-point":
        return (
            f"{described['fast_ms']:g} ms, or {described['slow_ms']:g} ms for "
            f"{100 * float(described['slow_share']):g}% of attempts"  # type: ignore[arg-type]
        )
    return f"replayed log of {described.get('requests')} requests, {described.get('keys')} key(s)"


def _progress(total: int, quiet: bool) -> Any:
    from ._progress import Progress

    return Progress(total, enabled=not quiet)


def _say(stream: TextIO, text: str = "") -> None:
    stream.write(text + "\n")


# -- run ------------------------------------------------------------------------------------


def _run_table(rows: Sequence[dict[str, Any]]) -> str:
    headers = ["framework", "configuration"] + [name for name, _ in PERCENTILES]
    headers += ["extra %", "hedges", "wins", "delay ms"]
    cells = []
    for row in rows:
        cells.append(
            [row["framework"], row["label"]]
            + [format_number(row[name]) for name, _ in PERCENTILES]
            + [
                format_number(row["extra_percent"]),
                format_number(row["hedges_sent"], 0) if row["hedged"] else "-",
                format_number(row["hedge_wins"], 0) if row["hedged"] else "-",
                format_number(row.get("delay_ms")) if row["hedged"] else "-",
            ]
        )
    right = [False, False] + [True] * (len(headers) - 2)
    return markdown_table(headers, cells, right)


def _relative_table(rows: Sequence[dict[str, Any]]) -> str:
    base = {row["framework"]: row for row in rows if row["configuration"] == "none"}
    cells = []
    for row in rows:
        reference = base.get(row["framework"])
        if reference is None or row["configuration"] == "none":
            continue
        cells.append(
            [
                row["framework"],
                row["label"],
                f"{100 * (row['p50'] / reference['p50'] - 1):+.1f}%",
                f"{row['p99'] / reference['p99']:.2f}x",
                f"{row['p999'] / reference['p999']:.2f}x",
                format_number(row["extra_percent"]),
            ]
        )
    headers = ["framework", "configuration", "p50 change", "p99 vs none", "p999 vs none", "extra %"]
    return markdown_table(headers, cells, [False, False, True, True, True, True])


def _spread_table(rows: Sequence[dict[str, Any]]) -> str:
    cells = []
    for row in rows:
        cells.append(
            [row["framework"], row["label"]]
            + [
                f"{format_number(row[f'{name}_min'])} - {format_number(row[f'{name}_max'])}"
                for name in ("p50", "p99", "p999", "extra_percent")
            ]
        )
    headers = ["framework", "configuration", "p50 range", "p99 range", "p999 range", "extra % range"]
    return markdown_table(headers, cells, [False, False, True, True, True, True])


def _command_run(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from ._adapters import select_targets
    from ._run import RunOptions, run_benchmark, summarize

    try:
        configurations = select_configurations(args.configs)
        model = _model(args)
        options = RunOptions(
            requests=args.requests,
            warmup=args.warmup,
            repeat=args.repeat,
            seed=args.seed,
            concurrency=args.concurrency,
            model=model,
            configurations=configurations,
        )
        targets, notes = select_targets(args.adapters)
    except ValueError as exc:
        parser.error(str(exc))
    if not targets:
        parser.error("no installed adapter can be benchmarked (see 'hedge-bench list')")
    steps = options.repeat * len(targets) * len(configurations)
    busy = busy_warning()
    environment_before = environment()
    started = time.monotonic()
    progress = _progress(steps * (options.warmup + options.requests), args.quiet)
    measurements = run_benchmark(targets, options, progress)
    elapsed = time.monotonic() - started
    summaries = summarize(measurements)
    rows = [{**summary.row(), "hedged": summary.hedged} for summary in summaries]

    title = (
        f"{_describe_model(model)}; {options.requests} requests per configuration, "
        f"concurrency {options.concurrency}, seed {options.seed}"
    )
    _say(out, f"hedge-bench run: {title}")
    _say(
        out,
        f"warm-up: {options.warmup} unmeasured requests per configuration before measuring "
        f"(adaptive delays learned, pools filled); repeats: {options.repeat} "
        + ("(figures are medians over repeats)" if options.repeat > 1 else ""),
    )
    _say(
        out,
        "adapters: "
        + ", ".join(f"{t.name} ({t.status.spec.framework} {t.framework_version})" for t in targets),
    )
    for note in notes:
        _say(out, f"  {note}")
    if busy:
        _say(out, busy)
    _say(out)
    _say(out, "Latency in ms; extra % = requests the server received beyond one per request.")
    _say(out, _run_table(rows))
    _say(out)
    _say(out, _relative_table(rows))
    if options.repeat > 1:
        _say(out)
        _say(out, f"Run-to-run spread over {options.repeat} repeats (min - max):")
        _say(out, _spread_table(rows))

    document = {
        "command": "run",
        "environment": environment_before,
        "elapsed_seconds": round(elapsed, 1),
        "options": {
            "requests": options.requests,
            "warmup": options.warmup,
            "repeat": options.repeat,
            "seed": options.seed,
            "concurrency": options.concurrency,
            "workload": model.describe(),
            "configurations": [
                {
                    "slug": c.slug,
                    "label": c.label,
                    "config": None if c.config is None else c.config.describe(),
                }
                for c in configurations
            ],
        },
        "adapters": [
            {
                "name": t.name,
                "framework": t.status.spec.framework,
                "framework_version": t.framework_version,
                "adapter_version": t.status.version,
                "bare": t.driver.bare,
                "hedged": t.driver.hedged,
            }
            for t in targets
        ],
        "skipped": notes,
        "summary": rows,
        "measurements": [
            {**m.row(), "latencies_ms": [round(v, 4) for v in m.latencies_ms]} for m in measurements
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    written = [
        write_csv(
            args.out / "results.csv", [{k: v for k, v in row.items() if k != "hedged"} for row in rows]
        ),
        write_csv(args.out / "results-runs.csv", [m.row() for m in measurements]),
        write_json(args.out / "results.json", document),
    ]
    if not args.no_plot:
        written += _charts_for_run(rows, measurements, configurations, args.out, title, out)
    _say(out)
    _say(out, f"finished in {elapsed:.0f} s; wrote " + ", ".join(str(path) for path in written))
    errors = sum(m.errors for m in measurements)
    if errors:
        _say(
            out,
            f"WARNING: {errors} requests failed; they are left out of the percentiles "
            "(see 'errors' in the CSV)",
        )
        return 1
    return 0


def _charts_for_run(
    rows: Sequence[dict[str, Any]],
    measurements: Sequence[Any],
    configurations: Sequence[Configuration],
    directory: Path,
    title: str,
    out: TextIO,
) -> list[Path]:
    from ._plot import plot_run

    latencies: dict[tuple[str, str], list[float]] = {}
    for measurement in measurements:
        latencies.setdefault((measurement.adapter, measurement.configuration), []).extend(
            measurement.latencies_ms
        )
    try:
        return plot_run(rows, latencies, {c.slug: c.label for c in configurations}, directory, title)
    except ImportError:
        _say(out, "charts skipped: matplotlib is not installed (pip install 'hedge-bench[plot]')")
        return []


# -- peer -----------------------------------------------------------------------------------


def _command_peer(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from ._peer import PeerClientError, PeerOptions, library_version, measure_peers
    from ._report import _version
    from ._run import summarize

    try:
        options = PeerOptions(
            python=args.python,
            library=args.library,
            peer_config=args.peer_config,
            frameworks=args.frameworks,
            requests=args.requests,
            warmup=args.warmup,
            repeat=args.repeat,
            seed=args.seed,
            concurrency=args.concurrency,
        )
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    versions = {name: _version(name) or "?" for name in options.frameworks}
    missing = [name for name, version in versions.items() if version == "?"]
    if missing:
        parser.error(f"not installed here: {', '.join(missing)} (the bare and hedge clients run here)")
    peer_version = library_version(options.python, options.library)
    busy = busy_warning()
    environment_before = environment()
    started = time.monotonic()
    steps = options.repeat * len(options.frameworks) * len(options.sides())
    try:
        measurements = measure_peers(options, versions, _progress(steps, args.quiet))
    except PeerClientError as exc:
        _say(out, f"FAILED: {exc}")
        return 1
    elapsed = time.monotonic() - started
    rows = [{**summary.row(), "hedged": summary.hedged} for summary in summarize(measurements)]
    for row in rows:
        row["delay_ms"] = None  # another process's estimate: not read

    _say(
        out,
        f"hedge-bench peer: {_describe_model(options.model)}; {options.requests} requests per client "
        f"after {options.warmup} of warm-up, concurrency {options.concurrency}, seed {options.seed}",
    )
    _say(
        out,
        f"hedge-core {_version('hedge-core')} against {options.library} {peer_version} "
        f"({options.python}); "
        + ", ".join(f"{name} {version}" for name, version in versions.items())
        + "; every client in a fresh interpreter"
        + (f"; figures are medians over {options.repeat} repeats" if options.repeat > 1 else ""),
    )
    if busy:
        _say(out, busy)
    _say(out)
    _say(out, "Latency in ms; extra % = requests the server received beyond one per request.")
    _say(out, _run_table(rows))
    _say(out)
    _say(out, _relative_table(rows))
    document = {
        "command": "peer",
        "environment": environment_before,
        "elapsed_seconds": round(elapsed, 1),
        "options": {
            "library": options.library,
            "library_version": peer_version,
            "peer_config": options.peer_config,
            "frameworks": list(options.frameworks),
            "framework_versions": versions,
            "requests": options.requests,
            "warmup": options.warmup,
            "repeat": options.repeat,
            "seed": options.seed,
            "concurrency": options.concurrency,
            "workload": options.model.describe(),
        },
        "summary": rows,
        "measurements": [
            {**m.row(), "latencies_ms": [round(v, 4) for v in m.latencies_ms]} for m in measurements
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    written = [write_csv(args.out / "peer.csv", rows), write_json(args.out / "peer.json", document)]
    _say(out)
    _say(out, f"finished in {elapsed:.0f} s; wrote {', '.join(str(path) for path in written)}")
    failed = sum(m.errors for m in measurements)
    if failed:
        _say(out, f"FAILED: {failed} request(s) failed")
        return 1
    return 0


# -- cost -----------------------------------------------------------------------------------


def _command_cost(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from ._adapters import select_targets
    from ._cost import CostOptions, measure_cost

    try:
        options = CostOptions(requests=args.requests, warmup=args.warmup, rounds=args.rounds)
        targets, notes = select_targets(args.adapters)
    except ValueError as exc:
        parser.error(str(exc))
    if not targets:
        parser.error("no installed adapter can be measured (see 'hedge-bench list')")
    total = len(targets) * options.rounds * 3 * (options.requests + options.warmup)
    busy = busy_warning()
    environment_before = environment()
    started = time.monotonic()
    results = measure_cost(targets, options, _progress(total, args.quiet))
    elapsed = time.monotonic() - started
    rows = [result.row() for result in results]
    _say(
        out,
        f"hedge-bench cost: zero-latency server, {options.requests} sequential requests per round, "
        f"best of {options.rounds} alternating rounds",
    )
    _say(out, "armed = a hedge armed on every request but never sent (delay 1 s): the machinery's own cost;")
    _say(out, "adaptive = HedgeConfig() defaults, hedges included (requests slower than the learned p90).")
    if busy:
        _say(out, busy)
    for note in notes:
        _say(out, f"  {note}")
    _say(out)
    cells = [
        [
            row["framework"],
            format_number(row["bare_rps"], 0),
            format_number(row["armed_rps"], 0),
            f"{row['armed_throughput_ratio']:.2f}",
            format_number(row["adaptive_rps"], 0),
            f"{row['adaptive_throughput_ratio']:.2f}",
            format_number(row["bare_cpu_us"], 0),
            format_number(row["armed_cpu_us"], 0),
            format_number(row["adaptive_cpu_us"], 0),
            str(row["adaptive_hedges_sent"]),
        ]
        for row in rows
    ]
    headers = [
        "framework",
        "bare req/s",
        "armed req/s",
        "ratio",
        "adaptive req/s",
        "ratio",
        "bare CPU us",
        "armed CPU us",
        "adaptive CPU us",
        "hedges",
    ]
    _say(out, markdown_table(headers, cells, [False] + [True] * 9))
    document = {
        "command": "cost",
        "environment": environment_before,
        "elapsed_seconds": round(elapsed, 1),
        "options": {"requests": options.requests, "warmup": options.warmup, "rounds": options.rounds},
        "skipped": notes,
        "summary": rows,
        "rounds": [
            {
                "framework": result.adapter,
                "side": r.side,
                "round": r.round,
                "requests": r.requests,
                "wall_seconds": round(r.wall_seconds, 5),
                "cpu_seconds": round(r.cpu_seconds, 5),
                "throughput": round(r.throughput, 1),
                "cpu_us": round(r.cpu_us, 1),
                "hedges_sent": r.hedges_sent,
            }
            for result in results
            for r in result.rounds
        ],
    }
    written = [write_csv(args.out / "cost.csv", rows), write_json(args.out / "cost.json", document)]
    _say(out)
    _say(out, f"finished in {elapsed:.0f} s; wrote " + ", ".join(str(path) for path in written))
    return 0


# -- simulate -------------------------------------------------------------------------------


def _frontier_table(points: Sequence[dict[str, Any]]) -> str:
    cells = []
    for point in points:
        hedges = point["max_hedges"]
        cells.append(
            [
                "-" if not hedges else f"p{100 * point['percentile']:g}",
                str(hedges),
                format_number(point["p50"]),
                format_number(point["p99"]),
                format_number(point["p999"]),
                format_number(point["extra_percent"]),
                format_number(point["delay_ms"]) if hedges else "-",
                "*" if point["efficient"] else "",
            ]
        )
    headers = ["hedge at", "max_hedges", "p50", "p99", "p999", "extra %", "delay ms", "frontier"]
    return markdown_table(headers, cells, [False, True, True, True, True, True, True, False])


def _command_simulate(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from ._simulate import frontier

    if args.compare_with is not None:
        return _compare(args, parser, out)
    try:
        if args.log is not None:
            from ._logs import load_log

            if any(v is not None for v in (args.mean_ms, args.sd_ms, args.stragglers, args.straggler_factor)):
                parser.error("--log replays the log's latencies: it takes no lognormal parameters")
            model: LatencyModel = load_log(
                args.log, column=args.latency_column, key_column=args.key_column, unit=args.unit
            )
            requests = len(model)  # type: ignore[arg-type]
            source = f"{args.log} ({_describe_model(model)})"
        else:
            if args.latency_column or args.key_column or args.unit:
                parser.error("--latency-column, --key-column and --unit need --log")
            model = _model(args)
            requests = args.requests
            source = _describe_model(model)
        base = HedgeConfig(budget_percent=args.budget_percent)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    workload = Workload(model, args.seed)
    points_count = (1 if 0 in args.max_hedges else 0) + len(args.percentiles) * len(
        [h for h in args.max_hedges if h]
    )
    progress = _progress(points_count * args.repeat * (requests + args.warmup), args.quiet)
    progress.begin("simulating")
    started = time.monotonic()
    try:
        points = frontier(
            workload,
            base,
            grid_percentiles=args.percentiles,
            grid_max_hedges=args.max_hedges,
            requests=requests,
            warmup=args.warmup,
            repeat=args.repeat,
            concurrency=args.concurrency,
            progress=progress,
        )
    finally:
        progress.close()
    elapsed = time.monotonic() - started
    rows = [point.row() for point in points]
    title = (
        f"{source}; {requests} requests x {args.repeat} streams per point, warm-up {args.warmup}, "
        f"concurrency {args.concurrency}, budget {args.budget_percent:g}%"
    )
    _say(out, f"hedge-bench simulate: {title}")
    _say(out, "Simulated on virtual time through hedge-core's engine; latency in ms (medians over streams).")
    _say(out, "frontier * = no other setting has both a lower p99 and less extra load.")
    _say(out)
    _say(out, _frontier_table(rows))
    document = {
        "command": "simulate",
        "environment": environment(),
        "options": {
            "source": str(args.log) if args.log else args.workload,
            "workload": workload.describe(),
            "requests": requests,
            "warmup": args.warmup,
            "repeat": args.repeat,
            "concurrency": args.concurrency,
            "budget_percent": args.budget_percent,
            "percentiles": args.percentiles,
            "max_hedges": args.max_hedges,
        },
        "frontier": rows,
    }
    written = [write_csv(args.out / "frontier.csv", rows), write_json(args.out / "frontier.json", document)]
    if not args.no_plot:
        try:
            from ._plot import plot_frontier

            written.append(plot_frontier(rows, args.out, title))
        except ImportError:
            _say(out, "chart skipped: matplotlib is not installed (pip install 'hedge-bench[plot]')")
    _say(out)
    _say(out, f"finished in {elapsed:.1f} s; wrote " + ", ".join(str(path) for path in written))
    return 0


def _compare(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from ._simulate import simulate
    from ._summary import spread

    try:
        document = json.loads(args.compare_with.read_text(encoding="utf-8"))
        if document.get("command") != "run":
            raise ValueError(f"{args.compare_with} is not the results.json of 'hedge-bench run'")
        settings = document["options"]
        model = model_from_description(settings["workload"])
        slugs = [c["slug"] for c in settings["configurations"]]
        configurations = select_configurations(slugs)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        parser.error(f"cannot compare with {args.compare_with}: {exc}")
    workload = Workload(model, int(settings["seed"]))
    repeat = int(settings["repeat"])
    measured: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in document["measurements"]:
        measured.setdefault((row["configuration"], row["framework"]), []).append(row)
    frameworks = list(dict.fromkeys(row["framework"] for row in document["measurements"]))

    def cell(values: list[float]) -> tuple[str, str]:
        figures = spread(values)
        return format_number(
            figures["median"]
        ), f"{format_number(figures['min'])} - {format_number(figures['max'])}"

    def simulated(model_: LatencyModel, config: HedgeConfig) -> list[Any]:
        return [
            simulate(
                Workload(model_, workload.seed),
                config,
                requests=int(settings["requests"]),
                stream=stream,
                warmup=int(settings["warmup"]),
                concurrency=int(settings["concurrency"]),
            )
            for stream in range(repeat)
        ]

    def sim_cells(label: str, source: str, outcomes: list[Any]) -> list[str]:
        p50, _ = cell([o.percentiles()["p50"] for o in outcomes])
        p99, p99_range = cell([o.percentiles()["p99"] for o in outcomes])
        sent, _ = cell([o.extra_percent for o in outcomes])
        return [label, source, p50, p99, p99_range, sent, sent, "-"]

    # A real client adds its own time to every attempt; the median gap between
    # the bare client's p50 and the model's estimates it, per framework.
    plain_p50 = spread([o.percentiles()["p50"] for o in simulated(model, HedgeConfig(max_hedges=0))])[
        "median"
    ]
    overhead = {}
    for framework in frameworks:
        bare = measured.get(("none", framework), [])
        overhead[framework] = (
            max(0.0, spread([float(r["p50"]) for r in bare])["median"] - plain_p50) if bare else 0.0
        )

    cells = []
    for configuration in configurations:
        config = configuration.config or HedgeConfig(max_hedges=0)
        cells.append(sim_cells(configuration.label, "simulated", simulated(model, config)))
        for framework in frameworks:
            rows = measured.get((configuration.slug, framework), [])
            if not rows:
                continue
            shift = round(overhead[framework], 1)
            if shift > 0:
                shifted = simulated(ShiftedModel(model, shift), config)
                cells.append(sim_cells(configuration.label, f"simulated +{shift:g} ms", shifted))
            p50, _ = cell([float(r["p50"]) for r in rows])
            p99, p99_range = cell([float(r["p99"]) for r in rows])
            sent, _ = cell([100.0 * float(r["hedges_sent"]) / float(r["requests"]) for r in rows])
            extra, extra_range = cell([float(r["extra_percent"]) for r in rows])
            cells.append([configuration.label, framework, p50, p99, p99_range, sent, extra, extra_range])
    _say(
        out,
        f"hedge-bench simulate --compare-with {args.compare_with}: {_describe_model(model)}; "
        f"{settings['requests']} requests, warm-up {settings['warmup']}, "
        f"concurrency {settings['concurrency']}, "
        f"seed {settings['seed']}, {repeat} repeat(s): the same latency sequences, simulated and measured",
    )
    _say(out, "simulated +X ms: every attempt also takes the client overhead X measured for that framework")
    _say(out, "(its bare p50 minus the simulated p50). hedges % = hedges sent per request (client side);")
    _say(out, "extra % = copies the server received beyond one per request (a hedge cancelled before it")
    _say(out, "reached the wire counts in hedges %, not here; in a simulation both are the same).")
    _say(out)
    headers = ["configuration", "source", "p50", "p99", "p99 range", "hedges %", "extra %", "extra % range"]
    _say(out, markdown_table(headers, cells, [False, False, True, True, True, True, True, True]))
    return 0


# -- soak -----------------------------------------------------------------------------------


def _mib(value: Any) -> str:
    return "-" if value is None else f"{value / (1024 * 1024):.1f}"


def _three(samples: Sequence[dict[str, Any]], name: str) -> str:
    middle = samples[(len(samples) - 1) // 2]
    values = [samples[0].get(name), middle.get(name), samples[-1].get(name)]
    if name == "rss":
        return " / ".join(_mib(value) for value in values)
    return " / ".join("-" if value is None else str(value) for value in values)


def _soak_verdict(result: Any) -> str:
    if result.clean:
        return "clean"
    if result.data.get("stalled"):
        return "STALLED"
    return "LEAK" if result.leaks else "FAILED"


def _soak_tables(results: Sequence[Any]) -> tuple[str, str]:
    from ._soak import RESOURCES

    cells = []
    for result in results:
        samples = result.samples
        if not samples:
            cells.append([result.adapter, result.form] + ["-"] * (len(RESOURCES) + 2) + ["ERROR"])
            continue
        verdicts = result.verdicts()
        cells.append(
            [result.adapter, result.form]
            + [
                _three(samples, resource.name)
                + ("" if verdicts.get(resource.name, {"flat": True})["flat"] else " !")
                for resource in RESOURCES
            ]
            + [
                _mib(result.data.get("peak_rss")),
                str(len(result.problems)),
                _soak_verdict(result),
            ]
        )
    headers = ["framework", "form"] + [r.label for r in RESOURCES] + ["peak RSS MiB", "warnings", "verdict"]
    resources = markdown_table(headers, cells, [False, False] + [True] * (len(headers) - 3) + [False])
    cells = []
    for result in results:
        outcomes = result.data.get("outcomes", {})
        hedging = result.data.get("hedging", {})
        given_up = outcomes.get("cancelled", 0) + outcomes.get("timed_out", 0)
        cells.append(
            [
                result.adapter,
                result.form,
                str(outcomes.get("ok", "-")),
                f"{outcomes.get('given_up_before_hedge', '-')} / {outcomes.get('given_up_in_race', '-')}",
                f"{given_up} {'cancelled' if result.form == 'async' else 'timed out'}",
                str(outcomes.get("failed", "-")),
                str(hedging.get("hedges_sent", "-")),
                str(result.data.get("server", {}).get("abandoned", "-")),
                format_number(hedging.get("delay_ms")),
                format_number(result.data.get("elapsed_seconds"), 0),
            ]
        )
    headers = [
        "framework",
        "form",
        "answered",
        "given up: before hedge / in race",
        "gave up",
        "failed",
        "hedges",
        "server abandoned",
        "delay ms",
        "seconds",
    ]
    outcomes_table = markdown_table(headers, cells, [False, False] + [True] * 8)
    return resources, outcomes_table


def _command_soak(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from ._adapters import select_targets
    from ._soak import SoakOptions, run_soak

    try:
        options = SoakOptions(
            requests=args.requests,
            warmup=args.warmup,
            concurrency=args.concurrency,
            checkpoints=args.checkpoints,
            cancel_share=args.cancel,
            stragglers=args.stragglers,
            straggler_factor=args.straggler_factor,
            seed=args.seed,
            max_hedges=args.max_hedges,
            stall_seconds=args.stall_seconds,
        )
        targets, notes = select_targets(args.adapters)
    except ValueError as exc:
        parser.error(str(exc))
    pairs = [(target, form) for target in targets for form in args.forms if form in target.driver.forms]
    for target in targets:
        if "sync" in args.forms and "sync" not in target.driver.forms:
            notes.append(f"{target.name}: no synchronous form")
    if not pairs:
        parser.error("nothing to soak: no installed adapter has the forms asked for (see 'hedge-bench list')")
    busy = busy_warning()
    environment_before = environment()
    started = time.monotonic()
    results = run_soak(pairs, options, _progress(len(pairs) * options.requests, args.quiet))
    elapsed = time.monotonic() - started
    _say(
        out,
        f"hedge-bench soak: {options.requests} requests per adapter and form after {options.warmup} of "
        f"warm-up, concurrency {options.concurrency}; {100 * options.stragglers:g}% of attempts "
        f"{options.straggler_factor:g}x slower; {100 * options.cancel_share:g}% given up by their caller; "
        f"HedgeConfig(max_hedges={options.max_hedges}), every other setting default",
    )
    _say(out, "Each cell: start (after warm-up) / middle / end, no request in flight; ! = not flat.")
    _say(
        out,
        "Flat: the median of the last three samples is within tolerance of the median of the three "
        "around the middle, the second half did not rise at every step, and pooled figures never "
        f"exceeded the start by more than the {options.in_flight} attempts that can be in flight.",
    )
    for note in notes:
        _say(out, f"  {note}")
    if busy:
        _say(out, busy)
    _say(out)
    resources, outcomes = _soak_tables(results)
    _say(out, resources)
    _say(out)
    _say(out, outcomes)
    leaking = [result for result in results if not result.clean]
    for result in leaking:
        _say(out)
        _say(out, f"{result.adapter} ({result.form}):")
        for leak in result.leaks[:20]:
            _say(out, f"  - {leak}")
        if result.failures:
            failures = result.data.get("outcomes", {}).get("failures", [])
            _say(out, f"  - {result.failures} requests failed: {'; '.join(failures[:3])}")
    document = {
        "command": "soak",
        "environment": environment_before,
        "elapsed_seconds": round(elapsed, 1),
        "options": dataclasses.asdict(options),
        "skipped": notes,
        "summary": [result.row() for result in results],
        "results": [
            {
                "framework": result.adapter,
                "form": result.form,
                "framework_version": result.framework_version,
                "clean": result.clean,
                "leaks": result.leaks,
                "verdicts": result.verdicts() if result.samples else {},
                "closed": result.closed_clean() if result.samples else {},
                "error": result.error,
                **result.data,
            }
            for result in results
        ],
    }
    written = [
        write_csv(args.out / "soak.csv", [result.row() for result in results]),
        write_json(args.out / "soak.json", document),
    ]
    _say(out)
    _say(out, f"finished in {elapsed:.0f} s; wrote " + ", ".join(str(path) for path in written))
    if leaking:
        _say(out, f"FAILED: {len(leaking)} of {len(results)} soaks leaked, warned or had failed requests")
        return 1
    return 0


# -- outage ---------------------------------------------------------------------------------


def _share(figures: dict[str, Any]) -> str:
    return f"{format_number(figures['share_percent'])} ({figures['hedges']}/{figures['requests']})"


def _outage_table(results: Sequence[Any]) -> str:
    cells = []
    for result in results:
        for target in result.targets:
            phases = target["phases"]
            cells.append(
                [
                    result.adapter,
                    result.scenario,
                    target["name"],
                    *(_share(phases[phase]) for phase in ("before", "outage", "after")),
                    format_number(target["bound"]) if target["has_outage"] else "-",
                    " / ".join(
                        format_number(target[name])
                        for name in ("delay_before_ms", "delay_outage_max_ms", "delay_after_ms")
                    ),
                    format_number(target.get("recovered_after_s")) if target["has_outage"] else "-",
                    "pass"
                    if all(c["passed"] for c in target["checks"])
                    and not target["errors"]
                    and not result.warnings
                    else "FAIL",
                ]
            )
    headers = [
        "framework",
        "scenario",
        "server",
        "hedge % before",
        "hedge % during",
        "hedge % after",
        "outage bound",
        "delay ms before / max during / end",
        "recovered after s",
        "checks",
    ]
    return markdown_table(headers, cells, [False, False, False, True, True, True, True, True, True, False])


def _command_outage(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from ._adapters import select_targets
    from ._outage import OutageOptions, run_outage

    try:
        options = OutageOptions(
            rate=args.rate,
            warmup=args.warmup,
            before=args.before,
            outage=args.outage,
            after=args.after,
            slow_low_ms=args.slow_ms[0],
            slow_high_ms=args.slow_ms[1],
            window=args.window,
            budget_percent=args.budget_percent,
            budget_floor=args.budget_floor,
            seed=args.seed,
            scenarios=args.scenarios,
        )
        targets, notes = select_targets(args.adapters)
    except ValueError as exc:
        parser.error(str(exc))
    if not targets:
        parser.error("no installed adapter can be run (see 'hedge-bench list')")
    per_run = options.rate * (options.warmup + options.before + options.outage + options.after)
    total = int(per_run * sum(2 if s == "two-targets" else 1 for s in options.scenarios) * len(targets))
    busy = busy_warning()
    environment_before = environment()
    started = time.monotonic()
    results = run_outage(targets, options, _progress(total, args.quiet))
    elapsed = time.monotonic() - started
    _say(
        out,
        f"hedge-bench outage: {options.rate:g} requests/s per server (open loop); "
        f"{options.before:g} s healthy, {options.outage:g} s with every attempt taking "
        f"{options.slow_low_ms:g}-{options.slow_high_ms:g} ms, "
        f"{options.after:g} s healthy again; HedgeConfig(window_duration={options.window:g}, "
        f"budget_percent={options.budget_percent:g}, budget_floor={options.budget_floor:g})",
    )
    _say(out, "Hedge % = copies the server received beyond one per request, per request (hedges/requests).")
    _say(
        out,
        "Outage bound = budget_percent% of the outage's requests + the reserve (that % of the requests "
        "of the 20 s before) + the floor over the outage (+1 s) and its bucket.",
    )
    for note in notes:
        _say(out, f"  {note}")
    if busy:
        _say(out, busy)
    _say(out)
    _say(out, _outage_table(results))
    failed = [result for result in results if not result.passed]
    for result in failed:
        _say(out)
        _say(out, f"{result.adapter} ({result.scenario}):")
        for problem in result.problems:
            _say(out, f"  - {problem}")
    document = {
        "command": "outage",
        "environment": environment_before,
        "elapsed_seconds": round(elapsed, 1),
        "options": {**dataclasses.asdict(options), "config": options.config.describe()},
        "skipped": notes,
        "summary": [row for result in results for row in result.rows()],
        "results": [
            {
                "framework": result.adapter,
                "scenario": result.scenario,
                "framework_version": result.framework_version,
                "passed": result.passed,
                "problems": result.problems,
                "elapsed_seconds": result.elapsed_seconds,
                "warnings": result.warnings,
                "targets": result.targets,
            }
            for result in results
        ],
    }
    written = [
        write_csv(args.out / "outage.csv", [row for result in results for row in result.rows()]),
        write_json(args.out / "outage.json", document),
    ]
    _say(out)
    _say(out, f"finished in {elapsed:.0f} s; wrote " + ", ".join(str(path) for path in written))
    if failed:
        _say(out, f"FAILED: {len(failed)} of {len(results)} runs failed a check")
        return 1
    return 0


# -- list -----------------------------------------------------------------------------------


def _command_list(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    import hedge

    from ._driver import load_drivers

    drivers = load_drivers()
    cells = []
    for status in sorted(hedge.discover_adapters(), key=lambda found: found.spec.name):
        name = status.spec.name
        driver = drivers.get(name)
        runs = "yes" if status.compatible and driver is not None else "no"
        cells.append(
            [
                name,
                f"{status.spec.framework} {status.framework_version or '(not installed)'}",
                status.status,
                "yes" if driver is not None else "no",
                runs,
            ]
        )
    _say(out, markdown_table(["adapter", "framework", "status", "driver", "benchmarked"], cells, [False] * 5))
    return 0


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the ``hedge-bench`` command line; return the exit status.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).
        stdout: where results go (default ``sys.stdout``); progress goes to stderr.

    """
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, argparse.ArgumentParser, TextIO], int] = args.handler
    return handler(args, args.parser, stdout or sys.stdout)
