"""Reading a latency log for ``hedge-bench simulate --log``.

Accepted forms, one request per row or item, in the order they happened:

* CSV with a header row: a latency column and, optionally, a key column
  (an endpoint, a host: each key learns its own delay);
* JSON: a list of numbers, a list of objects with the same fields as the
  CSV columns, or an object ``{"latencies": [...], "keys": [...]}``.

The latency column is the one named by ``column``, or else the first of
:data:`LATENCY_COLUMNS` present. Its unit is ``unit`` (``"ms"`` or ``"s"``),
or else read from the column name (``..._s`` / ``seconds`` mean seconds,
anything else milliseconds).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ._workload import EmpiricalModel

__all__ = ["LATENCY_COLUMNS", "load_log"]

LATENCY_COLUMNS = ("latency_ms", "latency_s", "latency", "duration_ms", "duration_s", "elapsed_ms", "ms")
_SECONDS = ("_s", "seconds")


def _unit(column: str, unit: str | None) -> float:
    if unit is not None:
        if unit not in ("ms", "s"):
            raise ValueError(f"unit must be 'ms' or 's', got {unit!r}")
        return 1.0 if unit == "s" else 0.001
    return 1.0 if column.endswith(_SECONDS) else 0.001


def _pick(columns: list[str], column: str | None, where: str) -> str:
    if column is not None:
        if column not in columns:
            raise ValueError(f"{where} has no column {column!r} (it has: {', '.join(columns)})")
        return column
    for candidate in LATENCY_COLUMNS:
        if candidate in columns:
            return candidate
    raise ValueError(
        f"{where} has no latency column: name one with --latency-column, or call it one of "
        f"{', '.join(LATENCY_COLUMNS)} (it has: {', '.join(columns) or 'none'})"
    )


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {value!r} is not a latency") from None
    if not number > 0:
        raise ValueError(f"{where}: latencies must be > 0, got {value!r}")
    return number


def _from_rows(
    rows: list[dict[str, Any]], column: str | None, key_column: str | None, unit: str | None, name: str
) -> EmpiricalModel:
    if not rows:
        raise ValueError(f"{name} holds no requests")
    columns = list(rows[0])
    latency_column = _pick(columns, column, name)
    if key_column is not None and key_column not in columns:
        raise ValueError(f"{name} has no key column {key_column!r} (it has: {', '.join(columns)})")
    if key_column is None and "key" in columns:
        key_column = "key"
    scale = _unit(latency_column, unit)
    latencies = [
        _number(row.get(latency_column), f"{name} request {index + 1}") * scale
        for index, row in enumerate(rows)
    ]
    keys = [str(row.get(key_column, "")) for row in rows] if key_column else None
    return EmpiricalModel(latencies, keys)


def load_log(
    path: Path, *, column: str | None = None, key_column: str | None = None, unit: str | None = None
) -> EmpiricalModel:
    """Read a latency log (CSV or JSON, by extension; see the module docstring).

    Raises:
        ValueError: naming the file and what is wrong with it.
        OSError: if it cannot be read.

    """
    name = str(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name} is not valid JSON: {exc}") from None
        if isinstance(document, dict):
            if "latencies" not in document:
                raise ValueError(f"{name}: a JSON object needs a 'latencies' list")
            latencies = document["latencies"]
            keys = document.get("keys")
            rows = [
                {"latency": value, **({"key": keys[index]} if keys else {})}
                for index, value in enumerate(latencies)
            ]
            return _from_rows(rows, "latency", "key" if keys else None, unit or "ms", name)
        if not isinstance(document, list):
            raise ValueError(f"{name}: expected a list of latencies or of objects")
        if document and not isinstance(document[0], dict):
            rows = [{"latency": value} for value in document]
            return _from_rows(rows, "latency", None, unit or "ms", name)
        return _from_rows(document, column, key_column, unit, name)
    reader = csv.DictReader(text.splitlines())
    return _from_rows(list(reader), column, key_column, unit, name)
