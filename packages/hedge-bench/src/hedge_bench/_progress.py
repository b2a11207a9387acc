"""A progress display with the standard library only.

On a terminal: one line redrawn in place with a carriage return, at most
five times a second (drawing costs the client CPU the benchmark measures).
Elsewhere (a pipe, a CI log): one plain line per finished step, no control
characters. Everything goes to stderr, so stdout holds only results.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]

_WIDTH = 28
_INTERVAL = 0.2


class Progress:
    """Counts units of work (requests) across steps (measurements).

    Args:
        total: units of work in all.
        stream: where to draw (default stderr).
        enabled: ``False`` draws nothing at all.

    """

    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = max(1, total)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self.label = ""
        self._drawn = 0.0
        self._started = time.monotonic()
        self._width = 0

    def begin(self, label: str) -> None:
        """Start a step called ``label``."""
        self.label = label
        self._draw(force=True)

    def advance(self, units: int = 1) -> None:
        """Count finished units; redraws on a terminal if enough time has passed."""
        self.done += units
        if self.tty:
            now = time.monotonic()
            if now - self._drawn >= _INTERVAL:
                self._draw(now=now)

    def end(self, summary: str) -> None:
        """Finish the current step; off a terminal, print ``summary`` on its own line."""
        if not self.enabled:
            return
        if self.tty:
            self._draw(force=True)
        else:
            percent = 100.0 * self.done / self.total
            self.stream.write(f"[{percent:5.1f}%] {self.label}: {summary}\n")
            self.stream.flush()

    def close(self) -> None:
        """Clear the line (on a terminal) once everything is done."""
        if self.tty:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()

    def _draw(self, *, force: bool = False, now: float | None = None) -> None:
        if not self.tty:
            return
        now = time.monotonic() if now is None else now
        if not force and now - self._drawn < _INTERVAL:
            return
        self._drawn = now
        fraction = min(1.0, self.done / self.total)
        filled = int(fraction * _WIDTH)
        elapsed = now - self._started
        line = (
            f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {100 * fraction:5.1f}% {elapsed:5.0f}s  {self.label}"
        )
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
