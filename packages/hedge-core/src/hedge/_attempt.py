"""Attempt: what an adapter's send function learns about the attempt it makes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["Attempt"]

logger = logging.getLogger("hedge")


class Attempt:
    """One try at a request: the primary (``index == 0``) or a hedge.

    The engine creates it and passes it to the adapter's send function. The
    adapter uses ``index`` to mark hedges (``config.attempt_header``) and may
    register :meth:`on_cancel` callbacks to abort work the engine cannot
    interrupt on its own (a blocking call in a worker thread, a framework
    request with no cancellation).

    Attributes:
        index: 0 for the primary, 1 for the first hedge, and so on; also the
            number of attempts sent before this one.
        started_at: the engine clock's reading when the attempt started.
    """

    __slots__ = ("_callbacks", "_cancelled", "index", "started_at")

    def __init__(self, index: int, started_at: float) -> None:
        self.index = index
        self.started_at = started_at
        self._cancelled = False
        self._callbacks: list[Callable[[], object]] | None = None

    @property
    def is_hedge(self) -> bool:
        """Whether this attempt is a hedge (not the primary)."""
        return self.index > 0

    @property
    def cancelled(self) -> bool:
        """Whether the engine has given this attempt up (it lost, or the caller left)."""
        return self._cancelled

    def on_cancel(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` when the engine gives this attempt up.

        Runs at once if that already happened. Callbacks run on the engine's
        thread (or event loop), must not block, and should be idempotent;
        exceptions they raise are logged and ignored.
        """
        with _callbacks_lock:
            cancelled = self._cancelled
            if not cancelled:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(callback)
        if cancelled:
            _run_callback(callback)

    def cancel(self) -> None:
        """Mark the attempt given up and run its cancel callbacks once (engine use)."""
        with _callbacks_lock:
            if self._cancelled:
                return
            self._cancelled = True
            callbacks, self._callbacks = self._callbacks, None
        for callback in callbacks or ():
            _run_callback(callback)

    def __repr__(self) -> str:
        return f"Attempt(index={self.index}, cancelled={self._cancelled})"


_callbacks_lock = threading.Lock()


def _run_callback(callback: Callable[[], object]) -> None:
    try:
        callback()
    except Exception:
        logger.warning("hedge: an attempt's cancel callback raised; ignored", exc_info=True)
