"""The outage run over real sockets: the budget bound, recovery, the healthy target, the judging."""

import dataclasses

import pytest

from hedge_bench._adapters import select_targets
from hedge_bench._outage import OutageOptions, _judge, _TargetState, run_outage

TARGETS = {target.name: target for target in select_targets()[0]}

# Long enough phases that the checks rest on hundreds of requests, at a rate a busy 2-core
# machine serves without its client falling behind (two servers make 100 requests/s); the
# delay forgets the outage within two 1.5 s windows, leaving 3 s of healthy hedging after it.
SHORT = OutageOptions(rate=50.0, warmup=1.0, before=8.0, outage=8.0, after=6.0, window=1.5)


def _check_slow_target(target, options):
    phases = target["phases"]
    outage = phases["outage"]
    assert outage["requests"] == round(options.rate * options.outage)
    # Every request of the outage was slow and wanted a hedge; the budget held them back.
    assert outage["hedges"] <= target["bound"]
    assert outage["hedges"] < 0.5 * outage["requests"]  # far from doubling the load
    assert phases["after"]["hedges"] > 0  # hedging resumed
    # The estimate followed the outage up (its p90 is past 200 ms) and came back down.
    assert target["delay_outage_max_ms"] >= options.slow_low_ms
    assert 0 < target["recovered_after_s"] <= options.after
    assert [check["passed"] for check in target["checks"]] == [True, True, True]
    assert target["errors"] == []


# aiohttp and gRPC: the adapters whose frameworks have no known cancellation problem on any
# Python tested (see the soak); the command itself runs every adapter.
@pytest.mark.parametrize(
    ("adapter", "scenarios"), [("aiohttp", ("single", "two-targets")), ("grpc", ("two-targets",))]
)
def test_outage_over_real_sockets(adapter, scenarios):
    options = dataclasses.replace(SHORT, scenarios=scenarios)
    results = run_outage([TARGETS[adapter]], options)
    assert [result.scenario for result in results] == list(scenarios)
    for result in results:
        assert result.passed, result.problems
        assert result.warnings == []
        slow = result.targets[0]
        _check_slow_target(slow, options)
        if result.scenario == "two-targets":
            healthy = result.targets[1]
            assert healthy["name"] == "healthy" and not healthy["has_outage"]
            before, during = healthy["phases"]["before"], healthy["phases"]["outage"]
            assert during["requests"] == slow["phases"]["outage"]["requests"]
            # Its own budget: it hedged its stragglers during the other's outage as before.
            assert during["hedges"] > 0
            assert during["share_percent"] >= 0.5 * before["share_percent"]
            assert (
                healthy["delay_outage_max_ms"] < options.slow_low_ms
            )  # its delay did not follow the slow one
            assert healthy["checks"][0]["passed"]


class _Counted:
    """A server as _judge reads it: the copies per epoch, and nothing else."""

    address = "http://127.0.0.1:1"

    def __init__(self, epochs):
        self.epochs = epochs

    def epoch(self, epoch):
        return self.epochs[epoch]


def _state(name, epochs, has_outage, delays=(), sent=()):
    state = _TargetState(name, _Counted(epochs), has_outage)  # type: ignore[arg-type]
    state.delays = list(delays)
    state.sent_at = list(sent)
    return state


def test_judging_the_budget_bound():
    options = OutageOptions(before=5.0, outage=8.0, after=8.0)
    # 700 requests in the 20 s before the outage: a reserve of 70; 800 during it.
    sent = [100.0 + index / 100 for index in range(700)]
    delays = [(104.0, 12.0), (110.0, 480.0), (125.0, 13.0)]
    over = _state("server", {1: (500, 540), 2: (800, 961), 3: (800, 830)}, True, delays, sent)
    judged = _judge(over, options, 107.0)
    # 10% of 800 + 70 + the floor over 9 s + its bucket of 1.
    assert judged["bound"] == 80 + 70 + 9 + 1
    assert judged["phases"]["outage"] == {
        "requests": 800,
        "copies": 961,
        "hedges": 161,
        "share_percent": 20.12,
    }
    assert (judged["delay_before_ms"], judged["delay_outage_max_ms"], judged["delay_after_ms"]) == (
        12.0,
        480.0,
        13.0,
    )
    assert [check["passed"] for check in judged["checks"]] == [False, True, True]
    assert "161 hedges for 800 requests, bound 160.0" in judged["checks"][0]["detail"]
    within = _state("server", {1: (500, 540), 2: (800, 959), 3: (800, 830)}, True, delays, sent)
    assert _judge(within, options, 107.0)["checks"][0]["passed"]


def test_judging_recovery():
    options = OutageOptions(outage=8.0)
    epochs = {1: (500, 540), 2: (800, 860), 3: (800, 830)}
    # Seconds from the outage's start, and the delay in ms: 12 before, 480 during.
    history = [(-1.0, 12.0), (4.0, 480.0), (9.0, 300.0)]
    recovered = _state("server", epochs, True, [*history, (11.5, 13.0), (14.0, 60.0)])
    judged = _judge(recovered, options, 0.0)
    # Back to 24 ms or less 3.5 s after the outage; a stall at the end lifted it again.
    assert (judged["recovered_after_s"], judged["delay_after_ms"]) == (3.5, 60.0)
    assert [c["passed"] for c in judged["checks"]] == [True, True, True]
    stuck = _state("server", epochs, True, [*history, (11.5, 40.0), (14.0, 30.0)])
    judged = _judge(stuck, options, 0.0)
    assert judged["recovered_after_s"] is None
    assert [c["passed"] for c in judged["checks"]] == [True, True, False]
    assert "never back to 24.0 ms or less" in judged["checks"][2]["detail"]
    no_hedges_after = _state("server", {**epochs, 3: (800, 800)}, True, [*history, (11.5, 13.0)])
    assert [c["passed"] for c in _judge(no_hedges_after, options, 0.0)["checks"]] == [True, False, True]


def test_judging_starvation():
    options = OutageOptions()
    starved = _state("healthy", {1: (500, 540), 2: (800, 815), 3: (800, 860)}, False)
    served = _state("healthy", {1: (500, 540), 2: (800, 850), 3: (800, 860)}, False)
    (check,) = _judge(starved, options, 0.0)["checks"]
    assert not check["passed"]
    assert check["detail"] == "hedge share 8% before, 1.88% during the other server's outage"
    assert _judge(served, options, 0.0)["checks"][0]["passed"]
    # A client that stalled before the outage hedged 30%: it needs half the budget's 10%, not 15%.
    stalled = _state("healthy", {1: (500, 650), 2: (800, 845), 3: (800, 860)}, False)
    assert _judge(stalled, options, 0.0)["checks"][0]["passed"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate": 0}, "rate must be a number > 0"),
        ({"warmup": -1}, "warmup must be a number >= 0"),
        ({"after": 3.0, "window": 2.0}, "after (3 s) must be at least two windows (4 s)"),
        ({"slow_low_ms": 500.0, "slow_high_ms": 200.0}, "uniform latencies need 0 < low_ms <= high_ms"),
        ({"scenarios": ("single", "three")}, "scenarios must be among single, two-targets"),
        ({"budget_percent": 150.0}, "HedgeConfig.budget_percent must be in [0, 100]"),
    ],
)
def test_options_are_checked(changes, message):
    with pytest.raises(ValueError) as caught:
        OutageOptions(**changes)
    assert message in str(caught.value)


def test_no_target_is_refused():
    with pytest.raises(ValueError, match="no adapter"):
        run_outage([], SHORT)
