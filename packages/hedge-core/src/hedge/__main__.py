"""``python -m hedge``: list the installed hedge adapters and plugins.

Prints one row per adapter (name, distribution and version, framework, the
framework version installed, the floor, status) and any plugin that failed
to load. ``--json`` prints the same as a JSON document. Exit status is 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence

from .__about__ import __version__
from .plugins import discover_adapters, get_plugin_manager


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m hedge", description="List installed hedge adapters.")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    with warnings.catch_warnings():
        # Failures are reported below, once, in the listing itself.
        warnings.simplefilter("ignore")
        manager = get_plugin_manager()
        adapters = discover_adapters(manager)
    plugins = sorted(name for name, plugin in manager.list_name_plugin() if plugin is not None)
    blocked = sorted(manager.blocked)

    if args.json:
        document = {
            "hedge_core": __version__,
            "adapters": [status.as_dict() for status in adapters],
            "plugins": plugins,
            "blocked": blocked,
            "failures": [vars(failure) for failure in manager.failures],
        }
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0

    print(f"hedge-core {__version__}")
    if adapters:
        rows = [["adapter", "distribution", "framework", "installed", "requires", "status"]]
        for status in adapters:
            rows.append(
                [
                    status.spec.name,
                    f"{status.distribution or '-'} {status.version or ''}".strip(),
                    status.spec.framework,
                    status.framework_version or "-",
                    f">={status.spec.min_version}" if status.spec.min_version else "any",
                    status.status,
                ]
            )
        print(_table(rows))
    else:
        print("no adapters installed (pip install hedge-httpx, hedge-aiohttp, hedge-grpc, ...)")
    others = [name for name in plugins if name not in {status.plugin for status in adapters}]
    if others:
        print(f"other plugins: {', '.join(others)}")
    if blocked:
        print(f"blocked: {', '.join(blocked)}")
    for failure in manager.failures:
        origin = f" ({failure.distribution})" if failure.distribution else ""
        print(f"failed: {failure.name}{origin}: {failure.stage}: {failure.error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
