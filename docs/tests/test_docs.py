"""The documentation stays in step with the code."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

from hedge import HedgeConfig
from hedge.plugins import HedgePluginManager

PAGES = Path(__file__).resolve().parents[1] / "pages"


def _hookspecs() -> dict[str, list[str]]:
    manager = HedgePluginManager()
    specs = {}
    for name in dir(manager.hook):
        if name.startswith("hedge_"):
            caller = getattr(manager.hook, name)
            assert caller.spec is not None
            specs[name] = list(caller.spec.argnames)
    return specs


def test_every_hook_is_documented_with_its_signature() -> None:
    text = (PAGES / "plugins" / "hooks.md").read_text()
    specs = _hookspecs()
    assert specs, "no hookspecs found"
    for name, arguments in specs.items():
        assert f"\n## {name}\n" in text, f"{name} has no section in the hook reference"
        assert f"{name}({', '.join(arguments)})" in text, f"{name}'s documented signature is stale"
    documented = set(re.findall(r"^## (hedge_\w+)$", text, re.MULTILINE))
    assert documented == set(specs), f"documented hooks that do not exist: {documented - set(specs)}"


def test_the_configuration_table_covers_every_field() -> None:
    spec = importlib.util.spec_from_file_location("docs_hooks", PAGES.parent / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = module.config_table()
    for field in dataclasses.fields(HedgeConfig):
        assert f"| `{field.name}` |" in table
    assert "(0 \\| 1)" not in table  # pipes inside cells are escaped, the table is well formed
    assert table.count("\n") == len(dataclasses.fields(HedgeConfig)) + 1


def test_every_page_in_the_nav_exists() -> None:
    config = (PAGES.parent / "mkdocs.yml").read_text()
    for page in re.findall(r":\s+([\w/-]+\.md)$", config, re.MULTILINE):
        assert (PAGES / page).is_file(), page
