"""The command line: help, argument errors, simulate's files, and short real runs."""

import csv
import json
import sys

import pytest

from hedge_bench._adapters import select_targets
from hedge_bench._cli import build_parser, main

from .test_soak import OLD_ANYIO

PNG = b"\x89PNG\r\n\x1a\n"
TARGETS, _ = select_targets()
ADAPTERS = [target.name for target in TARGETS]


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["run", "--help"],
        ["cost", "--help"],
        ["simulate", "--help"],
        ["soak", "--help"],
        ["outage", "--help"],
        ["peer", "--help"],
    ],
)
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: hedge-bench")
    if argv == ["--help"]:
        for command in ("run", "cost", "peer", "simulate", "soak", "outage", "list"):
            assert command in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["run", "--requests", "0"], "argument --requests: must be >= 1, got 0"),
        (["run", "--requests", "many"], "argument --requests: expected a whole number, got 'many'"),
        (["run", "--concurrency", "-2"], "argument --concurrency: must be >= 1"),
        (["run", "--configs", "adaptive,fast"], "unknown configuration 'fast'; choose from adaptive"),
        (["run", "--adapters", "nosuch"], "'nosuch' is not an installed hedge adapter"),
        (["run", "--stragglers", "1.5"], "argument --stragglers: must be in [0, 1], got 1.5"),
        (["run", "--workload", "pareto"], "argument --workload: invalid choice: 'pareto'"),
        (["cost", "--rounds", "0"], "argument --rounds: must be >= 1"),
        (["simulate", "--percentiles", "0.9,1"], "percentiles must be below 1"),
        (["simulate", "--percentiles", "90"], "must be in (0, 1], got 90"),
        (["simulate", "--max-hedges", "11"], "max_hedges must be at most 10"),
        (["simulate", "--log", "missing.csv"], "No such file"),
        (["simulate", "--unit", "s"], "--latency-column, --key-column and --unit need --log"),
        (["simulate", "--workload", "two-point", "--sd-ms", "1"], "no lognormal parameters"),
        (["soak", "--forms", "threads"], "argument --forms: forms are async and sync, got 'threads'"),
        (["soak", "--requests", "3"], "argument --requests: must be >= 4, got 3"),
        (["soak", "--checkpoints", "5"], "checkpoints must be even (the middle sample is one), got 5"),
        (["soak", "--requests", "6"], "requests (6) must be at least checkpoints (10)"),
        (["soak", "--cancel", "0.9"], "argument --cancel: must be in [0, 0.5], got 0.9"),
        (["soak", "--max-hedges", "0"], "argument --max-hedges: must be >= 1, got 0"),
        (["soak", "--adapters", "aiohttp,tornado", "--forms", "sync"], "nothing to soak"),
        (["soak", "--adapters", "nosuch"], "'nosuch' is not an installed hedge adapter"),
        (
            ["outage", "--slow-ms", "500,200"],
            "argument --slow-ms: expected LOW <= HIGH, both finite, got '500,200'",
        ),
        (["outage", "--slow-ms", "300"], "argument --slow-ms: expected LOW,HIGH in milliseconds, got '300'"),
        (["outage", "--after", "3"], "after (3 s) must be at least two windows (4 s)"),
        (["outage", "--scenarios", "both"], "scenarios are single and two-targets, got 'both'"),
        (["outage", "--rate", "0"], "argument --rate: must be in (0, 2000], got 0"),
        (["outage", "--budget-percent", "101"], "argument --budget-percent: must be in [0, 100], got 101"),
        (["peer"], "the following arguments are required: --python"),
        (["peer", "--python", "/nonexistent/python"], "no Python interpreter at '/nonexistent/python'"),
        (["peer", "--python", sys.executable, "--frameworks", "grpc"], "frameworks are httpx and aiohttp"),
        (
            ["peer", "--python", sys.executable, "--peer-config", "[1]"],
            "expected a JSON object of HedgeConfig",
        ),
        (["peer", "--python", sys.executable, "--peer-config", "{"], "expected a JSON object of HedgeConfig"),
        (["peer", "--python", sys.executable, "--requests", "0"], "argument --requests: must be >= 1, got 0"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: hedge-bench" in err
    assert message in err


def test_simulate_log_rejects_lognormal_parameters(tmp_path, capsys):
    log = tmp_path / "log.csv"
    log.write_text("latency_ms\n5\n")
    with pytest.raises(SystemExit):
        main(["simulate", "--log", str(log), "--mean-ms", "3"])
    assert "takes no lognormal parameters" in capsys.readouterr().err


def test_parser_defaults_are_the_seed_benchmark():
    args = build_parser().parse_args(["run"])
    assert (args.requests, args.repeat, args.seed, args.workload) == (500, 1, 1, "seed")


def test_simulate_writes_frontier_files(tmp_path, capsys):
    argv = ["simulate", "--requests", "300", "--warmup", "50", "--repeat", "1", "--percentiles", "0.5,0.9"]
    code, out, _ = _run([*argv, "--max-hedges", "0,1,2", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0
    assert "| hedge at | max_hedges |" in out
    with (tmp_path / "frontier.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["percentile"], row["max_hedges"]) for row in rows] == [
        ("", "0"),
        ("0.5", "1"),
        ("0.9", "1"),
        ("0.5", "2"),
        ("0.9", "2"),
    ]
    document = json.loads((tmp_path / "frontier.json").read_text())
    assert document["options"]["workload"]["model"] == "seed"
    assert len(document["frontier"]) == 5
    assert (tmp_path / "frontier.png").read_bytes().startswith(PNG)


def test_simulate_a_log_with_keys(tmp_path, capsys):
    log = tmp_path / "log.csv"
    rows = ["key,latency_ms"] + [f"/{'ab'[i % 2]},{50 if i % 17 == 0 else 2 + i % 5}" for i in range(400)]
    log.write_text("\n".join(rows) + "\n")
    argv = ["simulate", "--log", str(log), "--percentiles", "0.9", "--max-hedges", "0,1"]
    code, out, _ = _run([*argv, "--repeat", "2", "--out", str(tmp_path), "--quiet", "--no-plot"], capsys)
    assert code == 0
    assert "replayed log of 400 requests, 2 key(s)" in out
    frontier = json.loads((tmp_path / "frontier.json").read_text())["frontier"]
    assert frontier[0]["max_hedges"] == 0 and frontier[0]["extra_percent"] == 0
    assert frontier[1]["extra_percent"] > 0
    assert not (tmp_path / "frontier.png").exists()


def test_list(capsys):
    code, out, _ = _run(["list"], capsys)
    assert code == 0
    assert out.splitlines()[0].startswith("| adapter")
    for name in ADAPTERS:
        assert f"| {name} " in out


def test_every_first_party_adapter_can_be_benchmarked_here():
    # The test environment installs every adapter; each must be found and driven.
    assert {"httpx", "aiohttp", "niquests", "tornado", "grpc"} <= set(ADAPTERS)


# httpx's async client under an anyio older than 4.14 (Python 3.9) can leave a cancelled
# connect's socket to the garbage collector; 'hedge-bench soak' reports that, this test does not.
RUN_ADAPTERS = [
    pytest.param(name, marks=pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"))
    if name == "httpx" and OLD_ANYIO
    else name
    for name in ADAPTERS
]


@pytest.mark.parametrize("adapter", RUN_ADAPTERS)
def test_run_end_to_end_against_the_local_servers(adapter, tmp_path, capsys):
    argv = ["run", "--adapters", adapter, "--requests", "30", "--warmup", "10", "--concurrency", "2"]
    code, out, _ = _run(
        [*argv, "--configs", "none,adaptive-2", "--out", str(tmp_path), "--quiet", "--no-plot"], capsys
    )
    assert code == 0, out
    assert f"| {adapter} " in out
    document = json.loads((tmp_path / "results.json").read_text())
    measured = {row["configuration"]: row for row in document["measurements"]}
    assert set(measured) == {"none", "adaptive-2"}
    for row in measured.values():
        assert row["errors"] == 0
        assert len(row["latencies_ms"]) == 30
        # The server saw every request, plus one copy per hedge that reached it.
        assert row["server_received"] >= 30
    assert measured["none"]["server_received"] == 30
    assert measured["adaptive-2"]["server_received"] <= 30 + measured["adaptive-2"]["hedges_sent"]
    with (tmp_path / "results.csv").open() as handle:
        summary = list(csv.DictReader(handle))
    assert [row["configuration"] for row in summary] == ["none", "adaptive-2"]


def test_run_with_repeats_charts_and_compare(tmp_path, capsys):
    # aiohttp: httpx's async client, under an anyio older than 4.14 (Python 3.9), can leave a
    # cancelled connect's socket to the garbage collector, which this in-process run would see.
    adapter = "aiohttp" if "aiohttp" in ADAPTERS else ADAPTERS[0]
    argv = ["run", "--adapters", adapter, "--requests", "40", "--warmup", "20", "--repeat", "2"]
    code, out, _ = _run([*argv, "--configs", "none,static-10ms", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0
    assert "Run-to-run spread over 2 repeats" in out
    for name in ("percentiles.png", "cdf.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG)
    with (tmp_path / "results-runs.csv").open() as handle:
        assert [row["repeat"] for row in csv.DictReader(handle)] == ["0", "0", "1", "1"]
    code, out, _ = _run(["simulate", "--compare-with", str(tmp_path / "results.json")], capsys)
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("| static 10ms")]
    sources = [line.split("|")[2].strip() for line in lines]
    # Plain simulation, simulation with the client's measured overhead added, then the measurement.
    assert sources[0] == "simulated" and sources[-1] == adapter
    assert len(sources) == 3 and sources[1].startswith("simulated +")


def test_compare_with_a_file_that_is_not_a_run(tmp_path, capsys):
    path = tmp_path / "frontier.json"
    path.write_text(json.dumps({"command": "simulate"}))
    with pytest.raises(SystemExit):
        main(["simulate", "--compare-with", str(path)])
    assert "is not the results.json of 'hedge-bench run'" in capsys.readouterr().err


def test_cost_end_to_end(tmp_path, capsys):
    argv = ["cost", "--requests", "20", "--warmup", "5", "--rounds", "1", "--out", str(tmp_path), "--quiet"]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    rows = json.loads((tmp_path / "cost.json").read_text())["summary"]
    assert [row["framework"] for row in rows] == ADAPTERS
    for row in rows:
        assert row["bare_rps"] > 0 and row["armed_rps"] > 0 and row["adaptive_rps"] > 0
        assert row["armed_throughput_ratio"] == pytest.approx(row["armed_rps"] / row["bare_rps"], rel=0.01)
        # A hedge armed with a one-second delay never fires against a zero-latency server.
        assert row["armed_hedges_sent"] == 0
    rounds = json.loads((tmp_path / "cost.json").read_text())["rounds"]
    assert [r["side"] for r in rounds if r["framework"] == ADAPTERS[0]] == ["bare", "armed", "adaptive"]
    assert "| framework | bare req/s | armed req/s |" in out


def test_soak_end_to_end(tmp_path, capsys):
    # gRPC: an adapter with both forms and no known fault of its framework in a short soak.
    argv = ["soak", "--adapters", "grpc", "--requests", "100", "--warmup", "20", "--checkpoints", "4"]
    code, out, _ = _run([*argv, "--concurrency", "2", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0, out
    assert out.count("| grpc      |") == 4  # resources and outcomes, async and sync
    assert out.count("| clean") == 2  # async and sync
    with (tmp_path / "soak.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["framework"], row["form"], row["verdict"]) for row in rows] == [
        ("grpc", "async", "clean"),
        ("grpc", "sync", "clean"),
    ]
    assert rows[0]["requests"] == "100" and rows[0]["failed"] == "0" and rows[0]["problems"] == "0"
    document = json.loads((tmp_path / "soak.json").read_text())
    assert document["command"] == "soak" and document["options"]["requests"] == 100
    for result in document["results"]:
        assert result["clean"] and result["leaks"] == []
        assert [sample["requests"] for sample in result["samples"]] == [0, 25, 50, 75, 100]
        assert set(result["verdicts"]) == {
            "fds",
            "sockets",
            "server_connections",
            "tasks",
            "threads",
            "os_threads",
            "rss",
        }
        assert result["closed"]["clean"]


def test_soak_exits_1_on_a_leak(tmp_path, capsys, monkeypatch):
    from hedge_bench import _soak

    from .test_soak import LEAKY_DRIVER

    (tmp_path / "leaky_driver.py").write_text(LEAKY_DRIVER)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    real = _soak.run_soak

    def through_the_leaky_driver(pairs, options, progress=None, **kwargs):
        return real(pairs, options, progress, driver_modules={"httpx": "leaky_driver:DRIVER"})

    monkeypatch.setattr(_soak, "run_soak", through_the_leaky_driver)
    argv = ["soak", "--adapters", "httpx", "--forms", "async", "--requests", "40", "--warmup", "0"]
    code, out, _ = _run(
        [*argv, "--checkpoints", "4", "--cancel", "0", "--out", str(tmp_path), "--quiet"], capsys
    )
    assert code == 1
    assert "| LEAK" in out and "FAILED: 1 of 1 soaks leaked" in out, out
    assert "  - sockets grew by 10 over the second half" in out, out
    assert "Task exception was never retrieved (RuntimeError('nobody will look at this')) (4 times)" in out, (
        out
    )
    assert json.loads((tmp_path / "soak.json").read_text())["results"][0]["clean"] is False


def test_outage_end_to_end(tmp_path, capsys):
    argv = ["outage", "--adapters", "tornado", "--scenarios", "single", "--rate", "50", "--warmup", "1"]
    argv += ["--before", "8", "--outage", "8", "--after", "6", "--window", "1.5"]
    code, out, _ = _run([*argv, "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0, out
    (line,) = [line for line in out.splitlines() if line.startswith("| tornado")]
    cells = [cell.strip() for cell in line.split("|")[1:-1]]
    assert cells[:3] == ["tornado", "single", "server"] and cells[-1] == "pass"
    with (tmp_path / "outage.csv").open() as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["target"], row["passed"], row["outage_requests"]) == ("server", "True", "400")
    assert int(row["outage_hedges"]) <= float(row["outage_bound"])
    document = json.loads((tmp_path / "outage.json").read_text())
    assert document["options"]["config"]["window_duration"] == 1.5
    (result,) = document["results"]
    assert result["passed"] and result["problems"] == []
    assert [check["name"] for check in result["targets"][0]["checks"]] == [
        "outage hedges within the budget",
        "hedging resumes after recovery",
        "delay estimate recovers",
    ]


def test_outage_exits_1_when_a_check_fails(tmp_path, capsys, monkeypatch):
    from hedge_bench import _outage

    def failing(targets, options, progress=None):
        phase = {"requests": 100, "copies": 160, "hedges": 60, "share_percent": 60.0}
        target = {
            "name": "server",
            "has_outage": True,
            "phases": {"before": phase, "outage": phase, "after": phase},
            "bound": 22.0,
            "delay_before_ms": 10.0,
            "delay_outage_max_ms": 480.0,
            "delay_after_ms": 11.0,
            "recovered_after_s": 2.0,
            "errors": [],
            "checks": [{"name": "outage hedges within the budget", "passed": False, "detail": "60 > 22"}],
        }
        return [_outage.OutageResult(targets[0].name, "single", "1.0", options, [target], 1.0)]

    monkeypatch.setattr(_outage, "run_outage", failing)
    code, out, _ = _run(["outage", "--adapters", "httpx", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 1
    assert "server: outage hedges within the budget: 60 > 22" in out
    assert "FAILED: 1 of 1 runs failed a check" in out
    assert (tmp_path / "outage.csv").exists() and (tmp_path / "outage.json").exists()


def test_peer_end_to_end_through_the_seed_import_paths(tmp_path, capsys):
    # This interpreter stands in for the other library: the client script builds its
    # hedged clients through hedge-python's documented names (hedge.transport...),
    # which hedge answers too. Every client runs in a fresh interpreter of its own.
    argv = ["peer", "--python", sys.executable, "--library", "hedge-core", "--peer-config"]
    argv += ['{"max_hedges": 2}', "--requests", "30", "--warmup", "10", "--out", str(tmp_path), "--quiet"]
    code, out, _ = _run(argv, capsys)
    assert code == 0, out
    document = json.loads((tmp_path / "peer.json").read_text())
    rows = document["summary"]
    expected = ["none", "adaptive", "peer", "peer-tuned"]
    assert [(row["framework"], row["configuration"]) for row in rows] == [
        (framework, slug) for framework in ("httpx", "aiohttp") for slug in expected
    ]
    assert document["options"]["library_version"] == document["environment"]["hedge_core"]
    for measurement in document["measurements"]:
        # Every measured request answered, and the server saw at least one copy of each.
        assert measurement["errors"] == 0
        assert len(measurement["latencies_ms"]) == 30
        assert measurement["server_received"] >= 30
        if measurement["configuration"] == "none":
            assert measurement["server_received"] == 30
            assert measurement["hedges_sent"] == 0
    assert "| httpx     | hedge-core, max_hedges=2" in out
    assert (tmp_path / "peer.csv").exists()


def test_peer_reports_a_client_that_ends_without_an_answer(tmp_path, capsys):
    # An "interpreter" that exits at once: reported with exit status 1, not a traceback.
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'no such library' >&2\nexit 3\n")
    fake.chmod(0o755)
    argv = ["peer", "--python", str(fake), "--frameworks", "httpx", "--requests", "5", "--warmup", "0"]
    code, out, _ = _run([*argv, "--out", str(tmp_path / "out"), "--quiet"], capsys)
    assert code == 1
    assert "FAILED: the hedge-python, defaults client ended without an answer: no such library" in out
