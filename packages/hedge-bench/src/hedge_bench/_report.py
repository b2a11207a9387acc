"""Tables, CSV and JSON: how results leave hedge-bench.

Tables are Markdown (GitHub pipe tables) with aligned columns, so what the
terminal shows can be pasted into an issue or a docs page as it is. CSV
holds one flat row per line; JSON holds everything (settings, environment,
every repeat, every raw latency) so a report can be recomputed or charted
again later.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "busy_warning",
    "environment",
    "format_number",
    "load_average",
    "markdown_table",
    "write_csv",
    "write_json",
]


def format_number(value: object, digits: int = 1) -> str:
    """A table cell: fixed decimals for floats, ``-`` for missing or NaN."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[bool]) -> str:
    """Return a Markdown pipe table; ``right[i]`` right-aligns column ``i``."""
    body = [list(row) for row in rows]
    widths = [len(header) for header in headers]
    for row in body:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if align else cell.ljust(width)
            for cell, width, align in zip(cells, widths, right)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            ("-" * (width + 1) + ":") if align else (":" + "-" * (width + 1))
            for width, align in zip(widths, right)
        )
        + "|"
    )
    return "\n".join([line(headers), rule, *(line(row) for row in body)])


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``rows`` (dicts, the union of their keys as columns) to ``path``."""
    columns: list[str] = []
    for row in rows:
        for name in row:
            if name not in columns:
                columns.append(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({name: "" if row.get(name) is None else row.get(name) for name in columns})
    return path


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def write_json(path: Path, document: Mapping[str, Any]) -> Path:
    """Write ``document`` as indented JSON (NaN and infinities become ``null``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(dict(document)), indent=1) + "\n", encoding="utf-8")
    return path


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def load_average() -> float | None:
    """The machine's one-minute load average, or ``None`` where the OS has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def busy_warning() -> str | None:
    """A warning when other work already keeps the machine's CPUs busy (results will be noisy)."""
    load, cpus = load_average(), os.cpu_count() or 1
    if load is None or load < 0.75 * cpus:
        return None
    return (
        f"note: the machine is busy before starting (load average {load:.1f} on {cpus} CPUs); "
        "client CPU starvation inflates latencies and delays hedges, so expect noisy figures"
    )


def environment() -> dict[str, Any]:
    """Where the results come from: versions, interpreter, machine and its load."""
    return {
        "hedge_bench": _version("hedge-bench"),
        "hedge_core": _version("hedge-core"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1min": load_average(),
    }
