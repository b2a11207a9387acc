"""MkDocs hook: pages generated from the code, so they cannot drift from it.

``<!-- hedge:config-table -->`` in a page becomes the configuration
reference: every ``HedgeConfig`` field with its default, the values it
accepts (from the same rule table that validates it) and its description
(from the class docstring).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any

MARKER = "<!-- hedge:config-table -->"


def _descriptions(doc: str) -> dict[str, str]:
    """Parse the ``Attributes:`` section of a Google-style docstring."""
    lines = doc.split("Attributes:", 1)[1].splitlines()
    found: dict[str, str] = {}
    current = None
    for line in lines:
        match = re.match(r"^\s{4}(\w+): (.*)$", line)
        if match:
            current = match.group(1)
            found[current] = match.group(2).strip()
        elif current and line.strip():
            found[current] += " " + line.strip()
        elif current and not line.strip():
            current = None
    return found


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is dataclasses.MISSING:
        return "-"
    value = field.default
    if isinstance(value, frozenset):
        return "{" + ", ".join(sorted(value)) + "}"
    return repr(value)


def config_table() -> str:
    from hedge import HedgeConfig
    from hedge._config import RULES

    descriptions = _descriptions(inspect.getdoc(HedgeConfig) or "")
    rows = ["| field | default | accepts | meaning |", "|---|---|---|---|"]
    for field in dataclasses.fields(HedgeConfig):
        text = descriptions[field.name].replace("|", "\\|")
        accepted = RULES[field.name].accepted.replace("|", "\\|")
        rows.append(f"| `{field.name}` | `{_default(field)}` | {accepted} | {text} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, config_table())
    return markdown
