import asyncio
import dataclasses

import pytest

from hedge import AdapterSpec, AdapterStatus, HedgeConfig, Stats
from hedge_bench import Driver, TwoPointModel, Workload, load_drivers
from hedge_bench import _driver as driver_module
from hedge_bench._adapters import select_targets
from hedge_bench._servers import ServerProcess, request_path

FIRST_PARTY = {"httpx", "httpx2", "aiohttp", "niquests", "tornado", "grpc"}


async def _open(address, config, connections):
    raise AssertionError("not opened in these tests")


def _status(name, version="1.0"):
    return AdapterStatus(AdapterSpec(name, name, "1.0"), name, f"hedge-{name}", "0.1.0", version)


def test_every_first_party_adapter_has_a_driver():
    drivers = load_drivers()
    assert set(drivers) >= FIRST_PARTY
    assert {drivers[name].protocol for name in FIRST_PARTY} == {"http", "grpc"}
    assert drivers["grpc"].protocol == "grpc"


def test_driver_validates_protocol():
    with pytest.raises(ValueError, match="'http' or 'grpc'"):
        Driver("x", "ftp", _open, "bare", "hedged")


class _EntryPoint:
    def __init__(self, name, loader):
        self.name = name
        self._loader = loader

    def load(self):
        return self._loader()


def test_broken_drivers_are_skipped_with_a_warning(monkeypatch):
    good = Driver("good", "http", _open, "bare", "hedged")

    def broken():
        raise ImportError("no framework")

    entry_points = [_EntryPoint("good", lambda: good), _EntryPoint("bad", broken), _EntryPoint("odd", object)]
    monkeypatch.setattr(driver_module, "_entry_points", lambda: entry_points)
    with pytest.warns(UserWarning, match="was skipped") as caught:
        drivers = load_drivers()
    assert drivers == {"good": good}
    messages = " ".join(str(warning.message) for warning in caught)
    assert "'bad' was skipped" in messages and "'odd' was skipped" in messages


def test_selection_follows_discovery():
    drivers = {name: Driver(name, "http", _open, "b", "h") for name in ("a", "b")}
    statuses = [_status("a"), _status("b", version=None), _status("c")]
    targets, notes = select_targets(drivers=drivers, statuses=statuses)
    assert [target.name for target in targets] == ["a"]
    assert notes == [
        "b: skipped (b: framework not installed)",
        "c: skipped (no hedge-bench driver is installed for it)",
    ]
    chosen, _ = select_targets(["a"], drivers=drivers, statuses=statuses)
    assert [target.name for target in chosen] == ["a"]
    with pytest.raises(
        ValueError, match=r"'b' cannot run: b: framework not installed \(runnable adapters: a\)"
    ):
        select_targets(["b"], drivers=drivers, statuses=statuses)
    with pytest.raises(ValueError, match="'zzz' is not an installed hedge adapter"):
        select_targets(["zzz"], drivers=drivers, statuses=statuses)


def test_a_sync_form_needs_its_label():
    with pytest.raises(ValueError, match="hedged_sync must name"):
        Driver("x", "http", _open, "bare", "hedged", open_sync=lambda *args: None)
    assert Driver("x", "http", _open, "b", "h").forms == ("async",)
    assert Driver("x", "http", _open, "b", "h", open_sync=lambda *args: None, hedged_sync="s").forms == (
        "async",
        "sync",
    )


def test_the_adapters_with_a_synchronous_form_have_a_sync_driver():
    drivers = load_drivers()
    assert {name for name in FIRST_PARTY if drivers[name].open_sync is not None} == {
        "httpx",
        "httpx2",
        "niquests",
        "grpc",
    }


# Fast attempts take 1 ms; slow ones 60 s, never waited for.
TWO_SPEEDS = Workload(TwoPointModel(1.0, 60_000.0, 0.5), 4)
FAST = next(index for index in range(1000) if TWO_SPEEDS.latency(0, index, 0) < 1)
SLOW = next(index for index in range(1000) if TWO_SPEEDS.latency(0, index, 0) > 1)
# A hedge would wait 30 s: never within these tests.
PATIENT = HedgeConfig(min_delay=30.0, max_delay=30.0, warmup_delay=30.0)


RUNNABLE = [target.driver for target in select_targets()[0]]


@pytest.mark.parametrize("name", [driver.adapter for driver in RUNNABLE if driver.open_sync is not None])
def test_sync_drivers_answer_and_turn_their_framework_timeout_into_timeout_error(name):
    driver = load_drivers()[name]
    stats = Stats()
    with ServerProcess(driver.protocol, TWO_SPEEDS) as server:
        client = driver.open_sync(server.address, dataclasses.replace(PATIENT, stats=stats), 4)
        try:
            client.call(request_path(1, 0, FAST))
            with pytest.raises(TimeoutError) as caught:
                client.call(request_path(1, 0, SLOW), timeout=0.2)
            assert caught.value.__cause__ is not None  # the framework's own exception
        finally:
            client.close()
        # niquests counts a timeout as worth another try and sends a hedge at once; the others do not.
        assert server.counts().received == 2 + stats.snapshot().hedges_sent


@pytest.mark.parametrize("name", [driver.adapter for driver in RUNNABLE])
async def test_async_drivers_reach_a_second_server_through_the_same_client(name):
    driver = load_drivers()[name]
    with (
        ServerProcess(driver.protocol, TWO_SPEEDS) as first,
        ServerProcess(driver.protocol, TWO_SPEEDS) as second,
    ):
        client = await driver.open(first.address, PATIENT, 4)
        try:
            await client.call(request_path(1, 0, FAST))
            await client.call(request_path(1, 0, FAST), second.address)
            await client.call(request_path(2, 0, FAST), second.address)
        finally:
            await client.aclose()
            await asyncio.sleep(0.05)
        assert (first.counts().received, second.counts().received) == (1, 2)
