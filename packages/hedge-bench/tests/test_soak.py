"""The soak: verdicts, the plan of cancellations, short soaks of every adapter, leaks it must catch."""

import textwrap
from importlib import metadata

import pytest

from hedge_bench._adapters import select_targets
from hedge_bench._soak import RESOURCES, SoakOptions, cancel_plan, give_up_after, judge, run_soak, verdict

TARGETS, _ = select_targets()
PAIRS = [(target, form) for target in TARGETS for form in target.driver.forms]
SHORT = SoakOptions(requests=300, warmup=60, concurrency=4, checkpoints=6, stall_seconds=30.0)

# hedge-niquests' async adapter aborts a losing attempt by shutting its socket down from
# outside; urllib3-future then fails the exchange, finds the socket not connected when it
# closes it, and detaches the descriptor instead of closing it: one descriptor per loser.


def _old_anyio():
    """Whether anyio is older than 4.14 (the newest that installs on Python 3.9 is 4.12).

    Such an anyio, under httpx's async client, shows two faults whenever requests are
    cancelled, hedged or not (plain httpx.AsyncClient does the same): a cancelled waiter can
    leave its asyncio Lock held (agronholm/anyio#1145), so every later request on that
    connection hangs; and a connect cancelled as it completes leaves its socket to the
    garbage collector (a ResourceWarning). Neither happens with anyio 4.14 or later.
    """
    try:
        version = metadata.version("anyio")
    except metadata.PackageNotFoundError:
        return False
    return tuple(int(part) for part in version.split(".")[:2]) < (4, 14)


OLD_ANYIO = _old_anyio()


# -- verdicts ------------------------------------------------------------------------------


def test_a_pool_that_moves_up_and_down_is_flat():
    figures = verdict([9, 7, 9, 6, 7, 8, 10, 10, 8, 9, 11], 4, ceiling=16)
    assert figures["flat"], figures
    assert figures["growth"] == 1  # median(8, 9, 11) - median(7, 8, 10)


def test_growth_beyond_the_tolerance_is_a_leak():
    figures = verdict([24, 28, 37, 43, 50, 61, 65, 70, 78, 86, 91], 4, ceiling=16)
    assert not figures["flat"]
    assert "grew by 25" in figures["why"]
    assert "rose at every step" in figures["why"]
    assert "reached 67 above the start (ceiling 16)" in figures["why"]


def test_a_slow_leak_below_the_tolerance_is_caught_by_its_steady_rise():
    figures = verdict([10, 10, 10, 10, 10, 10, 11, 12, 13, 14, 15], 4)
    assert figures["growth"] == 4  # within the tolerance...
    assert not figures["flat"]  # ...but it rose at every step of the second half
    assert figures["why"] == "rose at every step of the second half (10 to 15)"


def test_creep_can_be_allowed_for_memory():
    values = [100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110]
    assert not verdict(values, 10)["flat"]
    assert verdict(values, 10, creep=False)["flat"]


def test_the_ceiling_catches_a_pool_that_outgrew_its_bound_early():
    figures = verdict([5, 30, 30, 30, 30, 30, 30], 4, ceiling=16)
    assert not figures["flat"]
    assert figures["why"] == "reached 25 above the start (ceiling 16)"


def test_unmeasured_figures_do_not_fail_and_too_few_samples_are_refused():
    assert verdict([None, None, None, None, None], 0) == {
        "measured": False,
        "flat": True,
        "growth": None,
        "tolerance": 0,
        "why": "",
    }
    with pytest.raises(ValueError, match="at least five samples"):
        verdict([1, 2, 3, 4], 0)


def test_each_resource_has_its_rule():
    rules = {resource.name: resource for resource in RESOURCES}
    options = SoakOptions(concurrency=8, max_hedges=1)  # 16 attempts in flight at most
    pooled = judge(rules["sockets"], [8, 8, 8, 8, 8, 8, 12, 12, 12, 12, 12], options)
    assert (pooled["tolerance"], pooled["ceiling"], pooled["flat"]) == (4, 16, True)
    tasks = judge(rules["tasks"], [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1], options)
    assert (tasks["tolerance"], tasks["flat"]) == (0, False)
    mib = 1024 * 1024
    memory = judge(rules["rss"], [40 * mib + step * 100_000 for step in range(11)], options)
    assert memory["tolerance"] == 2 * mib and memory["flat"]  # +0.3 MiB, rising at every step: allowed
    assert not judge(rules["rss"], [40 * mib] * 6 + [44 * mib] * 5, options)["flat"]


# -- the plan ------------------------------------------------------------------------------


def test_cancel_plan_is_seeded_and_splits_before_and_in_the_race():
    options = SoakOptions(requests=20_000)
    plan = cancel_plan(options)
    assert plan == cancel_plan(options)
    assert plan != cancel_plan(SoakOptions(requests=20_000, seed=2))
    assert len(plan) == 200  # 1%
    kinds = [kind for kind, _ in plan.values()]
    assert kinds.count("race") == kinds.count("before") == 100
    workload = options.workload
    for index, (kind, fraction) in plan.items():
        assert 0.05 <= fraction <= 0.95
        primary = workload.latency(0, index, 0)
        assert (primary >= 0.010) == (kind == "race")  # races are the slow primaries


def test_giving_up_lands_before_the_hedge_or_inside_the_race():
    options = SoakOptions(requests=5000)
    workload = options.workload
    delay = 0.008
    for index, (kind, fraction) in cancel_plan(options).items():
        moment = give_up_after(options, index, kind, fraction, delay)
        primary = workload.latency(0, index, 0)
        assert 0 < moment < primary  # always before the primary answers
        if kind == "before":
            assert moment < delay
        elif primary > delay:
            assert delay < moment < delay + workload.latency(0, index, 1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"requests": 0}, "requests must be an int >= 1"),
        ({"checkpoints": 5}, "checkpoints must be even"),
        ({"checkpoints": 2}, "checkpoints must be an int >= 4"),
        ({"requests": 6}, "requests (6) must be at least checkpoints (10)"),
        ({"cancel_share": 0.6}, "cancel_share must be in [0, 0.5]"),
        ({"stragglers": 2.0}, "straggler_share must be in [0, 1]"),
        ({"max_hedges": 0}, "max_hedges must be an int >= 1"),
    ],
)
def test_options_are_checked(changes, message):
    with pytest.raises(ValueError) as caught:
        SoakOptions(**changes)
    assert message in str(caught.value)


# -- real soaks ----------------------------------------------------------------------------


def _check_soaked(result, options):
    data = result.data
    assert result.error is None
    assert len(data["samples"]) == options.checkpoints + 1
    assert data["samples"][-1]["requests"] == options.requests
    outcomes = data["outcomes"]
    given_up = outcomes["cancelled"] + outcomes["timed_out"] + outcomes["answered_before_given_up"]
    assert outcomes["ok"] + outcomes["cancelled"] + outcomes["timed_out"] == options.requests + options.warmup
    assert (
        given_up
        == outcomes["given_up_before_hedge"] + outcomes["given_up_in_race"]
        == len(cancel_plan(options))
    )
    assert data["hedging"]["total_requests"] == options.requests + options.warmup
    # The server saw every request and each hedge that reached it.
    assert options.requests + options.warmup <= data["server"]["received"]
    assert data["server"]["received"] <= options.requests + options.warmup + data["hedging"]["hedges_sent"]


@pytest.mark.parametrize(("target", "form"), PAIRS, ids=[f"{t.name}-{form}" for t, form in PAIRS])
def test_short_soak_of_every_adapter_and_form(target, form):
    (result,) = run_soak([(target, form)], SHORT)
    if OLD_ANYIO and target.name == "httpx" and form == "async":
        # The soak reports anyio's faults (see _old_anyio), and nothing else.
        if result.data.get("stalled"):
            frames = [frame for chain in result.data["stalled"]["waiting_in"] for frame in chain]
            assert any("anyio/" in frame and "acquire" in frame for frame in frames), frames
            return
        _check_soaked(result, SHORT)
        assert all(leak.startswith("ResourceWarning: unclosed") for leak in result.leaks), result.leaks
        assert result.failures == 0
        return
    _check_soaked(result, SHORT)
    assert result.leaks == [], result.leaks
    assert result.failures == 0, result.data["outcomes"]["failures"]
    assert result.clean
    assert result.closed_clean() == {
        "sockets_before": result.data["before"]["sockets"],
        "sockets_after": result.data["after_close"]["sockets"],
        "server_connections_after": 0,
        "clean": True,
    }
    if form == "async":
        assert result.series("tasks") == [result.series("tasks")[0]] * (SHORT.checkpoints + 1)


# A client that forgets what it opened: one connection kept per request, and every tenth
# request a socket dropped unclosed and a task whose exception nobody retrieves.
LEAKY_DRIVER = textwrap.dedent(
    """
    import asyncio
    import gc
    import socket
    from urllib.parse import urlsplit

    from hedge_bench import Driver

    class Leaky:
        def __init__(self, address):
            self.url = urlsplit(address)
            self.kept = []
            self.calls = 0

        async def call(self, path, address=None):
            self.calls += 1
            number = self.calls
            reader, writer = await asyncio.open_connection(self.url.hostname, self.url.port)
            writer.write(f"GET {path} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n".encode())
            await reader.readuntil(b"\\r\\n\\r\\n")
            await reader.readexactly(2)
            self.kept.append(writer)
            if number % 10 == 0:
                socket.socket()
                gc.collect()
                asyncio.ensure_future(self.fail())

        async def fail(self):
            raise RuntimeError("nobody will look at this")

        async def aclose(self):
            pass

    async def open_leaky(address, config, connections):
        return Leaky(address)

    DRIVER = Driver("httpx", "http", open_leaky, "leaky", "leaky")
    """
)


@pytest.fixture
def leaky_module(tmp_path, monkeypatch):
    (tmp_path / "leaky_driver.py").write_text(LEAKY_DRIVER)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return "leaky_driver:DRIVER"


def test_the_soak_catches_leaks_and_warnings(leaky_module):
    httpx = next(target for target in TARGETS if target.name == "httpx")
    options = SoakOptions(requests=200, warmup=20, concurrency=2, checkpoints=4, cancel_share=0.0)
    (result,) = run_soak([(httpx, "async")], options, driver_modules={"httpx": leaky_module})
    assert not result.clean
    verdicts = result.verdicts()
    for name in ("fds", "sockets", "server_connections"):
        assert not verdicts[name]["flat"], (name, verdicts[name])
        assert "rose at every step" in verdicts[name]["why"]
    # One per request, none given back: the end level (median of the last three samples) is
    # one chunk of 50 requests above the middle level.
    assert verdicts["sockets"]["growth"] == 50
    messages = [(problem["kind"], problem["message"]) for problem in result.problems]
    # Every tenth of the 220 requests (warm-up included): a task whose exception nobody
    # retrieved, and a socket dropped unclosed.
    never_retrieved = (
        "event loop",
        "Task exception was never retrieved (RuntimeError('nobody will look at this'))",
    )
    assert messages.count(never_retrieved) == 22
    dropped = [
        m for kind, m in messages if kind == "ResourceWarning" and m.startswith("unclosed <socket.socket")
    ]
    assert len(dropped) == 22


def test_a_soak_that_dies_is_reported(tmp_path, monkeypatch):
    (tmp_path / "broken_driver.py").write_text("raise ImportError('no such framework')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    httpx = next(target for target in TARGETS if target.name == "httpx")
    (result,) = run_soak(
        [(httpx, "async")],
        SoakOptions(requests=8, warmup=0, checkpoints=4),
        driver_modules={"httpx": "broken_driver:DRIVER"},
    )
    assert result.error is not None and "without a result" in result.error
    assert result.leaks == [result.error] and not result.clean
    assert result.row()["verdict"] == "LEAK"


# A client that never answers its 30th request (a deadlock), in both forms.
STUCK_DRIVER = textwrap.dedent(
    """
    import asyncio
    import threading

    from hedge_bench import Driver

    class Stuck:
        calls = 0

        async def call(self, path, address=None):
            Stuck.calls += 1
            if Stuck.calls == 30:
                await asyncio.Event().wait()

        async def aclose(self):
            pass

    class StuckSync:
        calls = 0
        lock = threading.Lock()

        def call(self, path, timeout=None, address=None):
            with StuckSync.lock:
                StuckSync.calls += 1
                number = StuckSync.calls
            if number == 30:
                threading.Event().wait()

        def close(self):
            pass

    async def open_stuck(address, config, connections):
        return Stuck()

    DRIVER = Driver("httpx", "http", open_stuck, "stuck", "stuck", lambda *args: StuckSync(), "stuck sync")
    """
)


@pytest.mark.parametrize("form", ["async", "sync"])
def test_a_deadlock_is_reported_with_where_it_waits(form, tmp_path, monkeypatch):
    (tmp_path / "stuck_driver.py").write_text(STUCK_DRIVER)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    httpx = next(target for target in TARGETS if target.name == "httpx")
    options = SoakOptions(requests=100, warmup=10, concurrency=2, checkpoints=4, stall_seconds=2.0)
    (result,) = run_soak([(httpx, form)], options, driver_modules={"httpx": "stuck_driver:DRIVER"})
    stalled = result.data["stalled"]
    assert stalled["seconds"] >= 2.0
    assert stalled["requests_done"] < 100
    frames = [frame for chain in stalled["waiting_in"] for frame in chain]
    assert any("stuck_driver.py" in frame and " call" in frame for frame in frames), frames
    assert not result.clean and result.row()["verdict"] == "STALLED"
    assert result.leaks[0].startswith("stalled: no request finished for ")
