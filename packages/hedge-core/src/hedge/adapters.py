"""Adapter descriptions: what a framework plugin registers, and its status.

A plugin registers one :class:`AdapterSpec` per framework it supports, from
its ``hedge_register_adapters`` hook. The spec is metadata only: the
framework's distribution name and floor, and the public names the adapter
exports as ``"module:attribute"`` strings. Nothing in a spec imports the
framework, so discovery can list every installed adapter, and say whether
its framework is installed and recent enough, without importing any of them.

Versions are compared on their leading release numbers (``3.12.0rc1`` reads
as ``(3, 12, 0)``), which is enough for floors and needs no dependency.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Optional

__all__ = ["AdapterSpec", "AdapterStatus", "parse_version"]

_RELEASE = re.compile(r"^\s*v?(\d+(?:\.\d+)*)")


def parse_version(text: str) -> tuple[int, ...]:
    """Return the release numbers at the start of ``text`` (``"1.85.1"`` -> ``(1, 85, 1)``).

    Raises:
        ValueError: if ``text`` does not start with a number.
    """
    match = _RELEASE.match(text)
    if match is None:
        raise ValueError(f"not a version: {text!r}")
    numbers = [int(part) for part in match.group(1).split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


@dataclass(frozen=True)
class AdapterSpec:
    """One framework adapter, as a plugin registers it.

    Attributes:
        name: the adapter's short name, unique across plugins (``"httpx"``).
        framework: the framework's distribution name on PyPI (``"httpx"``).
        min_version: the lowest framework version supported, e.g.
            ``"0.23"``; ``None`` for no floor.
        exports: public names mapped to ``"module:attribute"``, e.g.
            ``{"HedgedHttpxTransport": "hedge_httpx:HedgedHttpxTransport"}``.
            ``hedge.transport`` and ``hedge.interceptor`` resolve hedge-python's
            class names through these.
        description: one line for ``python -m hedge``.
    """

    name: str
    framework: str
    min_version: Optional[str] = None  # noqa: UP045 - evaluated on Python 3.9
    exports: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.match(r"^[a-z0-9][a-z0-9_.-]*$", self.name):
            raise ValueError(f"AdapterSpec.name must be a lower-case identifier, got {self.name!r}")
        if not isinstance(self.framework, str) or not self.framework:
            raise ValueError(f"AdapterSpec.framework must be a distribution name, got {self.framework!r}")
        if self.min_version is not None:
            parse_version(self.min_version)
        for public, target in self.exports.items():
            module, _, attribute = target.partition(":")
            if not module or not attribute:
                raise ValueError(
                    f"AdapterSpec.exports[{public!r}] must be 'module:attribute', got {target!r}"
                )

    def installed_version(self) -> str | None:
        """Return the installed framework's version, or ``None`` if it is absent."""
        try:
            return metadata.version(self.framework)
        except metadata.PackageNotFoundError:
            return None

    def load(self, public: str) -> Any:
        """Import and return the exported object ``public``.

        Raises:
            KeyError: if this adapter does not export ``public``.
            ImportError: if its module (or its framework) cannot be imported.
        """
        module, _, attribute = self.exports[public].partition(":")
        obj: Any = importlib.import_module(module)
        for part in attribute.split("."):
            obj = getattr(obj, part)
        return obj


@dataclass(frozen=True)
class AdapterStatus:
    """What discovery found about one adapter.

    Attributes:
        spec: the registered spec.
        plugin: the plugin (entry-point) name that registered it.
        distribution: the distribution that ships the plugin, or ``None``
            for a plugin registered in-process.
        version: that distribution's version, or ``None``.
        framework_version: the framework's installed version, or ``None``.
    """

    spec: AdapterSpec
    plugin: str
    distribution: Optional[str]  # noqa: UP045
    version: Optional[str]  # noqa: UP045
    framework_version: Optional[str]  # noqa: UP045

    @property
    def compatible(self) -> bool:
        """Whether the framework is installed at or above the adapter's floor."""
        if self.framework_version is None:
            return False
        if self.spec.min_version is None:
            return True
        try:
            return parse_version(self.framework_version) >= parse_version(self.spec.min_version)
        except ValueError:
            return False

    @property
    def status(self) -> str:
        """``"ok"``, ``"framework not installed"`` or ``"framework too old (needs >=X)"``."""
        if self.framework_version is None:
            return "framework not installed"
        if not self.compatible:
            return f"framework too old (needs >={self.spec.min_version})"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description (used by ``python -m hedge --json``)."""
        return {
            "name": self.spec.name,
            "plugin": self.plugin,
            "distribution": self.distribution,
            "version": self.version,
            "framework": self.spec.framework,
            "framework_version": self.framework_version,
            "min_version": self.spec.min_version,
            "compatible": self.compatible,
            "status": self.status,
            "exports": sorted(self.spec.exports),
            "description": self.spec.description,
        }
