"""Hedged niquests sessions: ``AsyncSession`` and ``Session`` with hedged adapters mounted.

:class:`HedgedNiquestsSession` (hedge-python's name) *is* a
``niquests.AsyncSession`` and :class:`HedgedNiquestsSyncSession` *is* a
``niquests.Session``: every argument, method, hook, cookie, ``base_url``,
timeout and redirect rule is niquests' own. The only difference is where
requests go: every adapter mounted for an ``http://`` or ``https://``
prefix — the ones niquests mounts itself and any the caller mounts later —
is wrapped in an :class:`~hedge_niquests.AsyncHedgedHTTPAdapter` /
:class:`~hedge_niquests.HedgedHTTPAdapter` sharing one
:class:`hedge.Hedger`, so that the session has one set of stats, estimates
and budgets. Other prefixes (``http+unix://``, mounted apps) are left alone.
"""

from __future__ import annotations

from typing import Any

import niquests
from niquests.adapters import AsyncBaseAdapter, BaseAdapter

from hedge import Classifier, HedgeConfig, Hedger, Stats

from ._adapter import AsyncHedgedHTTPAdapter, HedgedHTTPAdapter, _check_classifier, _engine

__all__ = ["HedgedNiquestsSession", "HedgedNiquestsSyncSession"]

_HEDGED_PREFIXES = ("http://", "https://")


def _hedged_prefix(prefix: str) -> bool:
    return prefix.lower().startswith(_HEDGED_PREFIXES)


class HedgedNiquestsSession(niquests.AsyncSession):
    """A ``niquests.AsyncSession`` whose HTTP(S) requests are hedged.

    ``async with HedgedNiquestsSession(config=HedgeConfig()) as session:
    resp = await session.get(url)`` — everything else is niquests'.

    Args:
        config: the hedging policy (default ``HedgeConfig()``).
        hedger: an engine to share with other clients, instead of ``config``.
        classifier: judges attempts (default :class:`~hedge_niquests.NiquestsClassifier`).
        **kwargs: passed to ``niquests.AsyncSession`` unchanged.

    Raises:
        TypeError: for arguments of the wrong type, or both ``config`` and ``hedger``.

    """

    def __init__(
        self,
        *,
        config: HedgeConfig | None = None,
        hedger: Hedger | None = None,
        classifier: Classifier[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # Set before niquests' constructor, which mounts the default adapters.
        self._hedger = _engine(config, hedger)
        self._classifier = _check_classifier(classifier)
        super().__init__(**kwargs)

    @property
    def hedger(self) -> Hedger:
        """The engine shared by this session's hedged adapters."""
        return self._hedger

    @property
    def config(self) -> HedgeConfig:
        """The hedging policy."""
        return self._hedger.config

    @property
    def stats(self) -> Stats:
        """Counters of this session's hedged requests."""
        return self._hedger.stats

    def mount(self, prefix: str, adapter: AsyncBaseAdapter) -> None:  # type: ignore[override]  # as niquests
        """Mount ``adapter`` for ``prefix``, wrapped in a hedged adapter for HTTP(S) prefixes."""
        if _hedged_prefix(prefix) and not isinstance(adapter, AsyncHedgedHTTPAdapter):
            adapter = AsyncHedgedHTTPAdapter(adapter, hedger=self._hedger, classifier=self._classifier)
        super().mount(prefix, adapter)

    async def close(self) -> None:  # type: ignore[override]  # as niquests
        """Close the session's adapters (and so its connections)."""
        try:
            await super().close()
        finally:
            self._hedger.close()

    def __repr__(self) -> str:
        return f"<HedgedNiquestsSession {self._hedger.config!r}>"


class HedgedNiquestsSyncSession(niquests.Session):
    """A ``niquests.Session`` whose HTTP(S) requests are hedged.

    ``with HedgedNiquestsSyncSession(config=HedgeConfig()) as session:
    resp = session.get(url)`` — everything else is niquests'. Attempts run
    on worker threads (see :class:`~hedge_niquests.HedgedHTTPAdapter`);
    :meth:`close` stops them.

    Args:
        config: the hedging policy (default ``HedgeConfig()``).
        hedger: an engine to share with other clients, instead of ``config``.
        classifier: judges attempts (default :class:`~hedge_niquests.NiquestsClassifier`).
        **kwargs: passed to ``niquests.Session`` unchanged.

    Raises:
        TypeError: for arguments of the wrong type, or both ``config`` and ``hedger``.

    """

    def __init__(
        self,
        *,
        config: HedgeConfig | None = None,
        hedger: Hedger | None = None,
        classifier: Classifier[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._hedger = _engine(config, hedger)
        self._classifier = _check_classifier(classifier)
        super().__init__(**kwargs)

    @property
    def hedger(self) -> Hedger:
        """The engine shared by this session's hedged adapters."""
        return self._hedger

    @property
    def config(self) -> HedgeConfig:
        """The hedging policy."""
        return self._hedger.config

    @property
    def stats(self) -> Stats:
        """Counters of this session's hedged requests."""
        return self._hedger.stats

    def mount(self, prefix: str, adapter: BaseAdapter) -> None:
        """Mount ``adapter`` for ``prefix``, wrapped in a hedged adapter for HTTP(S) prefixes."""
        if _hedged_prefix(prefix) and not isinstance(adapter, HedgedHTTPAdapter):
            adapter = HedgedHTTPAdapter(adapter, hedger=self._hedger, classifier=self._classifier)
        super().mount(prefix, adapter)

    def close(self) -> None:
        """Close the session's adapters (and so its connections) and the engine's worker threads."""
        try:
            super().close()
        finally:
            self._hedger.close()

    def __repr__(self) -> str:
        return f"<HedgedNiquestsSyncSession {self._hedger.config!r}>"
