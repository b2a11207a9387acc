"""Plugin discovery through real entry points of (fake) installed distributions."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import hedge
from hedge import AdapterSpec, AdapterUnavailable, HedgeConfig, HedgePluginWarning, Hedger, RequestInfo
from hedge.plugins import HedgePluginManager, discover_adapters, get_plugin_manager, reset_plugin_manager

GOOD = """
import hedge

class Transport:
    pass

@hedge.hookimpl
def hedge_register_adapters(register):
    register(hedge.AdapterSpec(
        name="fake",
        framework="pluggy",
        min_version="1.0",
        exports={"HedgedHttpxTransport": "fakeplug_mod:Transport"},
        description="a fake adapter over pluggy",
    ))
    register(hedge.AdapterSpec(name="fake-missing", framework="no-such-framework-xyz", min_version="1.0",
                               exports={"HedgedTornadoClient": "fakeplug_mod:Transport"}))
    register(hedge.AdapterSpec(name="fake-old", framework="pluggy", min_version="999.0"))

@hedge.hookimpl
def hedge_request_key(request):
    if request.path.startswith("/users/"):
        return request.target + "/users/{id}"
    return None
"""

BROKEN_IMPORT = "raise ImportError('this plugin needs a framework that is missing')\n"

BROKEN_HOOK = """
import hedge

@hedge.hookimpl
def hedge_register_adapters(register):
    raise RuntimeError('registration bug')
"""

UNKNOWN_HOOK = """
import hedge

@hedge.hookimpl
def hedge_no_such_hook(event):
    pass
"""


def _install(
    site: Path, dist: str, version: str, modules: dict[str, str], entry_points: dict[str, str]
) -> None:
    info = site / f"{dist}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = ["[hedge]"] + [f"{name} = {target}" for name, target in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path holding four fake plugin distributions."""
    _install(tmp_path, "fakeplug", "1.2.3", {"fakeplug_mod": GOOD}, {"fake": "fakeplug_mod"})
    _install(tmp_path, "brokenplug", "0.1", {"brokenplug_mod": BROKEN_IMPORT}, {"broken": "brokenplug_mod"})
    _install(tmp_path, "hookbug", "0.1", {"hookbug_mod": BROKEN_HOOK}, {"hookbug": "hookbug_mod"})
    _install(
        tmp_path, "unknownhook", "0.1", {"unknownhook_mod": UNKNOWN_HOOK}, {"unknown": "unknownhook_mod"}
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reset_plugin_manager()
    yield tmp_path
    reset_plugin_manager()
    for module in ("fakeplug_mod", "brokenplug_mod", "hookbug_mod", "unknownhook_mod"):
        sys.modules.pop(module, None)


def _load() -> HedgePluginManager:
    with pytest.warns(HedgePluginWarning) as caught:
        manager = get_plugin_manager()
    messages = " ".join(str(w.message) for w in caught)
    assert "'broken'" in messages
    assert "brokenplug" in messages
    assert "'unknown'" in messages
    return manager


def test_a_broken_plugin_is_reported_and_the_others_still_load(site: Path) -> None:
    manager = _load()
    assert manager.has_plugin("fake")
    assert not manager.has_plugin("broken")
    assert not manager.has_plugin("unknown")  # implements a hook that does not exist
    stages = {(f.name, f.stage) for f in manager.failures}
    assert {("broken", "import"), ("unknown", "register")} <= stages
    assert manager.distributions["fake"] == ("fakeplug", "1.2.3")


def test_discovery_reports_versions_and_compatibility_without_importing_frameworks(site: Path) -> None:
    manager = _load()
    with pytest.warns(HedgePluginWarning, match="registration bug"):
        found = {status.spec.name: status for status in discover_adapters(manager) if status.plugin == "fake"}
    assert set(found) == {"fake", "fake-missing", "fake-old"}
    fake = found["fake"]
    assert (fake.distribution, fake.version, fake.plugin) == ("fakeplug", "1.2.3", "fake")
    assert fake.compatible
    assert fake.status == "ok"
    assert found["fake-missing"].status == "framework not installed"
    assert not found["fake-missing"].compatible
    assert found["fake-old"].status == "framework too old (needs >=999.0)"
    assert ("hookbug", "adapters") in {(f.name, f.stage) for f in manager.failures}
    assert "no-such-framework-xyz" not in sys.modules


def test_disable_env_blocks_plugins_by_name(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGE_DISABLE_PLUGINS", "fake, broken,unknown")
    manager = get_plugin_manager()  # no warning: the broken ones are never imported
    assert not manager.has_plugin("fake")
    assert {"fake", "broken", "unknown"} <= manager.blocked
    assert "brokenplug_mod" not in sys.modules


def test_disable_everything(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGE_DISABLE_PLUGINS", "*")
    manager = get_plugin_manager()
    assert all(plugin is None for _, plugin in manager.list_name_plugin())  # all blocked
    assert {"fake", "broken", "hookbug", "unknown"} <= manager.blocked


def test_seed_import_paths_resolve_through_discovery(site: Path) -> None:
    _load()
    with pytest.warns(HedgePluginWarning):
        from hedge.transport import HedgedHttpxTransport
    assert HedgedHttpxTransport.__module__ == "fakeplug_mod"


def test_seed_import_paths_explain_what_to_install(site: Path) -> None:
    _load()
    with pytest.warns(HedgePluginWarning), pytest.raises(ImportError, match="pip install hedge-aiohttp"):
        from hedge.transport import HedgedAiohttpSession  # noqa: F401
    with pytest.warns(HedgePluginWarning), pytest.raises(AdapterUnavailable, match="framework not installed"):
        from hedge.transport import HedgedTornadoClient  # noqa: F401
    with pytest.warns(HedgePluginWarning), pytest.raises(ImportError, match="hedge-grpc"):
        from hedge.interceptor import HedgedUnaryInterceptor  # noqa: F401
    with pytest.raises(AttributeError):
        hedge.transport.NotASeedName  # type: ignore[attr-defined]  # noqa: B018


def test_a_request_key_plugin_groups_paths(site: Path) -> None:
    _load()
    hedger = Hedger(HedgeConfig())
    assert (
        hedger.key_for(RequestInfo.from_url("GET", "https://api.test/users/17"))
        == "https://api.test:443/users/{id}"
    )
    assert hedger.key_for(RequestInfo.from_url("GET", "https://api.test/other")) == "https://api.test:443"
    # key_func in the config wins over plugins.
    explicit = Hedger(HedgeConfig(key_func=lambda r: "mine"))
    assert explicit.key_for(RequestInfo.from_url("GET", "https://api.test/users/17")) == "mine"


def test_should_hedge_plugins_decide_before_the_method_rule(pm: HedgePluginManager) -> None:
    class NoHedgingForAdmin:
        @hedge.hookimpl
        def hedge_should_hedge(self, request: RequestInfo) -> bool | None:
            return False if request.path.startswith("/admin") else None

    pm.register(NoHedgingForAdmin())
    hedger = Hedger(HedgeConfig(), plugins=pm)
    assert not hedger.is_eligible(RequestInfo.from_url("GET", "http://h/admin/x"))
    assert hedger.is_eligible(RequestInfo.from_url("GET", "http://h/public"))
    # An explicit per-request choice still wins over plugins.
    assert hedger.is_eligible(RequestInfo.from_url("GET", "http://h/admin/x"), hedge=True)


def test_a_raising_policy_hook_is_ignored(pm: HedgePluginManager, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        @hedge.hookimpl
        def hedge_request_key(self, request: RequestInfo) -> str:
            raise RuntimeError("key bug")

    pm.register(Broken(), name="broken-keys")
    hedger = Hedger(HedgeConfig(), plugins=pm)
    assert hedger.key_for(RequestInfo.from_url("GET", "http://h/x")) == "http://h:80"


def test_the_dispatch_follows_registration_changes(pm: HedgePluginManager) -> None:
    hedger = Hedger(HedgeConfig(), plugins=pm)
    info = RequestInfo.from_url("GET", "http://h/x")
    assert hedger.key_for(info) == "http://h:80"

    class Keys:
        @hedge.hookimpl
        def hedge_request_key(self, request: RequestInfo) -> str:
            return "by-plugin"

    plugin = Keys()
    pm.register(plugin)
    assert hedger.key_for(info) == "by-plugin"
    pm.unregister(plugin)
    assert hedger.key_for(info) == "http://h:80"


def test_register_rejects_what_is_not_a_spec(pm: HedgePluginManager) -> None:
    class Sloppy:
        @hedge.hookimpl
        def hedge_register_adapters(self, register):  # type: ignore[no-untyped-def]
            register({"name": "not-a-spec"})

    pm.register(Sloppy(), name="sloppy")
    with pytest.warns(HedgePluginWarning, match="AdapterSpec"):
        assert discover_adapters(pm) == []


def test_adapter_spec_validation() -> None:
    with pytest.raises(ValueError, match="name"):
        AdapterSpec(name="Bad Name", framework="httpx")
    with pytest.raises(ValueError, match="framework"):
        AdapterSpec(name="ok", framework="")
    with pytest.raises(ValueError, match="module:attribute"):
        AdapterSpec(name="ok", framework="httpx", exports={"X": "no_colon"})
    with pytest.raises(ValueError, match="version"):
        AdapterSpec(name="ok", framework="httpx", min_version="latest")


def test_python_m_hedge_lists_adapters(site: Path) -> None:
    env_path = str(site)
    table = subprocess.run(
        [sys.executable, "-m", "hedge"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": env_path, "PATH": ""},
    ).stdout
    assert "hedge-core" in table
    assert "fakeplug 1.2.3" in table
    assert "framework not installed" in table
    assert "failed: broken (brokenplug): import" in table
    document = json.loads(
        subprocess.run(
            [sys.executable, "-m", "hedge", "--json"],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": env_path, "PATH": "", "HEDGE_DISABLE_PLUGINS": "broken"},
        ).stdout
    )
    names = {adapter["name"]: adapter for adapter in document["adapters"]}
    assert names["fake"]["compatible"] is True
    assert names["fake"]["framework"] == "pluggy"
    assert "broken" in document["blocked"]
    assert document["hedge_core"] == hedge.__version__
