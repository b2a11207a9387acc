import math
import statistics

import pytest

from hedge_bench import (
    EmpiricalModel,
    LognormalModel,
    TwoPointModel,
    Workload,
    lognormal_parameters,
    synthetic,
)
from hedge_bench._workload import SEED_MODEL, model_from_description, uniforms, warmup_stream

DRAWS = 50_000


def _latencies_ms(model, seed=7, attempt=0):
    workload = Workload(model, seed)
    return [1000.0 * workload.latency(0, index, attempt) for index in range(DRAWS)]


def test_lognormal_parameters_give_the_requested_mean_and_sd():
    mu, sigma = lognormal_parameters(5.0, 2.0)
    mean = math.exp(mu + sigma**2 / 2)
    sd = math.sqrt((math.exp(sigma**2) - 1) * math.exp(2 * mu + sigma**2))
    assert mean == pytest.approx(5.0)
    assert sd == pytest.approx(2.0)


@pytest.mark.parametrize(("mean", "sd"), [(5.0, 2.0), (1.0, 0.1), (50.0, 80.0)])
def test_lognormal_draws_have_the_requested_moments(mean, sd):
    values = _latencies_ms(LognormalModel(mean, sd, 0.0, 10.0))
    assert statistics.fmean(values) == pytest.approx(mean, rel=0.02 if sd < 2 * mean else 0.05)
    assert statistics.stdev(values) == pytest.approx(sd, rel=0.04 if sd < 2 * mean else 0.15)
    assert min(values) > 0


def test_straggler_share_and_factor():
    # sd 0: every normal attempt takes exactly 5 ms, every straggler exactly 50 ms.
    values = _latencies_ms(LognormalModel(5.0, 0.0, 0.05, 10.0))
    assert {round(value, 9) for value in values} == {5.0, 50.0}
    share = sum(value > 10 for value in values) / DRAWS
    assert share == pytest.approx(0.05, abs=4 * math.sqrt(0.05 * 0.95 / DRAWS))


def test_seed_workload_mixture_mean():
    # 95% lognormal(5, 2) and 5% ten times that: mean 0.95 * 5 + 0.05 * 50 = 7.25 ms.
    assert statistics.fmean(_latencies_ms(SEED_MODEL)) == pytest.approx(7.25, rel=0.03)


def test_draws_are_a_pure_function_of_seed_stream_request_attempt():
    workload = Workload(SEED_MODEL, 3)
    first = [workload.latency(2, index, 1) for index in range(100)]
    assert [workload.latency(2, index, 1) for index in reversed(range(100))] == first[::-1]
    assert Workload(SEED_MODEL, 3).latency(2, 5, 1) == first[5]
    # Each of the four numbers selects an independent draw.
    assert workload.latency(2, 5, 0) != first[5]
    assert workload.latency(3, 5, 1) != first[5]
    assert Workload(SEED_MODEL, 4).latency(2, 5, 1) != first[5]
    assert warmup_stream(0) != 0 and warmup_stream(1) != warmup_stream(0)


def test_uniforms_are_open_interval_and_uniform():
    values = [uniforms(1, 0, index, 0)[0] for index in range(DRAWS)]
    assert min(values) > 0.0 and max(values) < 1.0
    assert statistics.fmean(values) == pytest.approx(0.5, abs=0.01)


def test_hedge_attempts_are_independent_of_their_primary():
    # A straggler is a property of the attempt: a slow primary's hedge is slow only 5% of the time.
    workload = Workload(LognormalModel(5.0, 0.0, 0.05, 10.0), 11)
    slow = [index for index in range(DRAWS) if workload.latency(0, index, 0) > 0.01]
    slow_hedges = sum(workload.latency(0, index, 1) > 0.01 for index in slow)
    assert slow_hedges / len(slow) == pytest.approx(0.05, abs=0.025)


def test_two_point_model():
    values = _latencies_ms(TwoPointModel(1.0, 100.0, 0.2))
    assert {round(value, 9) for value in values} == {1.0, 100.0}
    assert sum(value == 100.0 for value in values) / DRAWS == pytest.approx(0.2, abs=0.01)


def test_empirical_model_replays_primaries_and_resamples_hedges_per_key():
    model = EmpiricalModel([0.001, 0.002, 0.5, 0.6], ["a", "a", "b", "b"])
    workload = Workload(model, 1)
    assert [workload.latency(0, index, 0) for index in range(4)] == [0.001, 0.002, 0.5, 0.6]
    assert {workload.latency(0, 0, attempt) for attempt in range(1, 200)} == {0.001, 0.002}
    assert {workload.latency(0, 2, attempt) for attempt in range(1, 200)} == {0.5, 0.6}
    assert model.key(5) == "a"
    assert len(model) == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mean_ms": 0.0}, "mean"),
        ({"sd_ms": -1.0}, "sd"),
        ({"straggler_share": 1.5}, "straggler_share"),
        ({"straggler_factor": 0.5}, "straggler_factor"),
    ],
)
def test_lognormal_model_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LognormalModel(**kwargs)


def test_model_errors():
    with pytest.raises(ValueError, match="fast_ms"):
        TwoPointModel(10.0, 1.0)
    with pytest.raises(ValueError, match="at least one"):
        EmpiricalModel([])
    with pytest.raises(ValueError, match="> 0"):
        EmpiricalModel([0.0])
    with pytest.raises(ValueError, match="same length"):
        EmpiricalModel([1.0], ["a", "b"])


def test_synthetic_names():
    assert synthetic("seed") == SEED_MODEL
    assert synthetic("lognormal").straggler_share == 0.0
    modified = synthetic("seed", mean_ms=10.0)
    assert modified.mean_ms == 10.0 and modified.straggler_share == 0.05
    assert modified.name == "seed (modified)"
    assert isinstance(synthetic("two-point"), TwoPointModel)
    with pytest.raises(ValueError, match="choose one of lognormal, seed, two-point"):
        synthetic("pareto")
    with pytest.raises(ValueError, match="no lognormal parameters"):
        synthetic("two-point", sd_ms=1.0)


@pytest.mark.parametrize(
    "model", [SEED_MODEL, TwoPointModel(2.0, 30.0, 0.3), synthetic("lognormal", sd_ms=1.0)]
)
def test_models_rebuild_from_their_description(model):
    rebuilt = model_from_description(model.describe())
    assert Workload(rebuilt, 5).latency(0, 9, 1) == Workload(model, 5).latency(0, 9, 1)


def test_log_models_cannot_be_rebuilt():
    with pytest.raises(ValueError, match="cannot rebuild"):
        model_from_description(EmpiricalModel([1.0]).describe())
