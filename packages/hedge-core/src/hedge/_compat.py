"""hedge-python's import paths, resolved through discovered adapters.

hedge-python shipped every adapter inside one package, so its users write
``from hedge.transport import HedgedHttpxTransport`` and
``from hedge.interceptor import HedgedUnaryInterceptor``. Here each adapter
is its own distribution; these names resolve to whichever installed adapter
exports them, and when none does the :class:`ImportError` names the
distribution to install.
"""

from __future__ import annotations

from typing import Any

from ._errors import AdapterUnavailable

__all__ = ["SEED_NAMES", "resolve"]

# hedge-python's public classes and the distribution that provides each now.
SEED_NAMES: dict[str, str] = {
    "HedgedHttpxTransport": "hedge-httpx",
    "HedgedAiohttpSession": "hedge-aiohttp",
    "HedgedNiquestsSession": "hedge-niquests",
    "HedgedTornadoClient": "hedge-tornado",
    "HedgedUnaryInterceptor": "hedge-grpc",
    "HedgedServerStreamInterceptor": "hedge-grpc",
}


def resolve(module: str, name: str, names: tuple[str, ...]) -> Any:
    """Return the object an installed adapter exports as ``name``.

    Raises:
        AttributeError: if ``name`` is not one of ``names`` (so ``hasattr``
            and ``dir`` work as usual).
        AdapterUnavailable: (an ImportError) if no installed adapter with a
            compatible framework exports it.
    """
    if name not in names:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    from .plugins import discover_adapters

    candidates = [status for status in discover_adapters() if name in status.spec.exports]
    usable = [status for status in candidates if status.compatible]
    if usable:
        return usable[0].spec.load(name)
    distribution = SEED_NAMES.get(name, "the adapter package")
    if candidates:
        reasons = "; ".join(f"{s.spec.name}: {s.status}" for s in candidates)
        raise AdapterUnavailable(f"{name} cannot be used: {reasons}. Install or upgrade the framework.")
    raise AdapterUnavailable(f"{name} is provided by {distribution}: pip install {distribution}")
