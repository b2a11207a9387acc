import pytest

from hedge import AdapterSpec, AdapterStatus
from hedge_bench import Driver, load_drivers
from hedge_bench import _driver as driver_module
from hedge_bench._adapters import select_targets

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
