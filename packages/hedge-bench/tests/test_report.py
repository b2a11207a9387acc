import csv
import json
import math

from hedge_bench._plot import plot_frontier, plot_run
from hedge_bench._report import environment, format_number, markdown_table, write_csv, write_json

PNG = b"\x89PNG\r\n\x1a\n"


def test_markdown_table_aligns_columns():
    table = markdown_table(["name", "value"], [["a", "1.0"], ["long name", "22.5"]], [False, True])
    lines = table.splitlines()
    assert lines[0] == "| name      | value |"
    assert lines[1] == "|:----------|------:|"
    assert lines[3] == "| long name |  22.5 |"
    assert len({len(line) for line in lines}) == 1


def test_format_number():
    assert format_number(1.234) == "1.2"
    assert format_number(1.0, 0) == "1"
    assert format_number(None) == "-"
    assert format_number(math.nan) == "-"
    assert format_number(7) == "7"


def test_csv_and_json(tmp_path):
    rows = [{"a": 1, "b": None}, {"a": 2, "c": "x"}]
    path = write_csv(tmp_path / "sub" / "out.csv", rows)
    with path.open() as handle:
        read = list(csv.DictReader(handle))
    assert read == [{"a": "1", "b": "", "c": ""}, {"a": "2", "b": "", "c": "x"}]
    path = write_json(tmp_path / "out.json", {"value": math.nan, "nested": [math.inf, 1.5]})
    assert json.loads(path.read_text()) == {"value": None, "nested": [None, 1.5]}


def test_environment_names_versions():
    described = environment()
    assert described["hedge_bench"] == "0.1.0"
    assert described["hedge_core"]
    assert described["python"].count(".") == 2


def test_charts_are_written(tmp_path):
    rows = [
        {
            "framework": fw,
            "configuration": slug,
            "p50": 5.0,
            "p90": 9.0,
            "p95": 12.0,
            "p99": p99,
            "p999": 80.0,
        }
        for fw in ("httpx", "grpc")
        for slug, p99 in (("none", 60.0), ("adaptive", 15.0))
    ]
    latencies = {(row["framework"], row["configuration"]): [1.0 + i for i in range(100)] for row in rows}
    paths = plot_run(rows, latencies, {"none": "no hedging", "adaptive": "adaptive"}, tmp_path, "test")
    assert [path.name for path in paths] == ["percentiles.png", "cdf.png"]
    for path in paths:
        assert path.read_bytes().startswith(PNG)
    points = [
        {"percentile": None, "max_hedges": 0, "p99": 60.0, "extra_percent": 0.0},
        {"percentile": 0.9, "max_hedges": 1, "p99": 15.0, "extra_percent": 10.0},
        {"percentile": 0.5, "max_hedges": 1, "p99": 12.0, "extra_percent": 50.0},
    ]
    assert plot_frontier(points, tmp_path, "test").read_bytes().startswith(PNG)
