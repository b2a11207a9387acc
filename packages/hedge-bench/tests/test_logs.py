import json

import pytest

from hedge_bench import Workload
from hedge_bench._logs import load_log


def test_csv_with_keys_in_milliseconds(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("when,key,latency_ms\n1,/a,5\n2,/b,7.5\n3,/a,12\n")
    model = load_log(path)
    assert model.latencies == [0.005, 0.0075, 0.012]
    assert model.keys == ["/a", "/b", "/a"]


def test_csv_column_unit_from_name_and_explicit(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("duration_s,route\n0.25,x\n0.5,y\n")
    assert load_log(path).latencies == [0.25, 0.5]
    assert load_log(path, key_column="route").keys == ["x", "y"]
    assert load_log(path, unit="ms").latencies == [0.00025, 0.0005]
    other = tmp_path / "other.csv"
    other.write_text("t\n3\n")
    assert load_log(other, column="t").latencies == [0.003]


@pytest.mark.parametrize(
    ("document", "latencies", "keys"),
    [
        ([5, 10], [0.005, 0.01], None),
        ({"latencies": [5, 10], "keys": ["a", "b"]}, [0.005, 0.01], ["a", "b"]),
        ([{"latency_s": 1.5, "key": "k"}], [1.5], ["k"]),
    ],
)
def test_json_forms(tmp_path, document, latencies, keys):
    path = tmp_path / "log.json"
    path.write_text(json.dumps(document))
    model = load_log(path)
    assert model.latencies == pytest.approx(latencies)
    if keys is not None:
        assert model.keys == keys
    assert Workload(model).latency(0, 0, 0) == pytest.approx(latencies[0])


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.csv", "foo,bar\n1,2\n", "no latency column"),
        ("a.csv", "latency_ms\n", "holds no requests"),
        ("a.csv", "latency_ms\nfast\n", "request 1: 'fast' is not a latency"),
        ("a.csv", "latency_ms\n0\n", "must be > 0"),
        ("a.json", "{", "not valid JSON"),
        ("a.json", '{"values": []}', "'latencies' list"),
        ("a.json", '"x"', "expected a list"),
    ],
)
def test_bad_logs_are_rejected_with_a_reason(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_log(path)


def test_missing_named_columns(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("latency_ms\n1\n")
    with pytest.raises(ValueError, match="no column 'x'"):
        load_log(path, column="x")
    with pytest.raises(ValueError, match="no key column 'k'"):
        load_log(path, key_column="k")
    with pytest.raises(ValueError, match="unit"):
        load_log(path, unit="us")
