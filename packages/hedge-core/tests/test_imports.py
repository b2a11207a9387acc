"""What importing hedge pulls in: the stdlib, and pluggy only for the plugin API."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _modules_after(code: str) -> set[str]:
    script = textwrap.dedent(code) + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_sketch_budget_and_engine_do_not_import_pluggy() -> None:
    loaded = _modules_after(
        """
        import hedge
        import hedge.sketch
        from hedge import HedgeConfig, Hedger, ProportionalBudget, Stats
        from hedge import _race_async, _race_sync
        Hedger(HedgeConfig(), plugins=False)
        """
    )
    assert "hedge._hedger" in loaded
    assert "pluggy" not in loaded


def test_the_plugin_api_imports_pluggy_on_first_use() -> None:
    loaded = _modules_after("import hedge\nhedge.hookimpl")
    assert "pluggy" in loaded


def test_nothing_outside_the_stdlib_and_pluggy_is_imported() -> None:
    loaded = _modules_after("import hedge, hedge.plugins, hedge.testing, hedge.http, hedge.events")
    stdlib = set(sys.stdlib_module_names) if hasattr(sys, "stdlib_module_names") else None
    foreign = {
        name.split(".")[0]
        for name in loaded
        if not name.startswith(("hedge", "pluggy", "_"))
        and (stdlib is None or name.split(".")[0] not in stdlib)
        and name not in ("__main__", "sitecustomize", "usercustomize")
    }
    if stdlib is not None:
        assert foreign == set()
    assert "pytest" not in loaded  # the conformance kit is imported only when asked for
