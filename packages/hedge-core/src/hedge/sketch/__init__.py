"""Relative-error quantile sketches (DDSketch) and their sliding window.

Pure stdlib. The three concepts live apart, as in the paper: a mapping from
values to bin keys (:class:`LogarithmicMapping`), a bounded store of bin
counters (:class:`BinStore`), and the sketch that composes them
(:class:`DDSketch`). :class:`WindowedSketch` keeps the recent past by
rotating two sketches lazily against a caller-supplied clock.
"""

from ._ddsketch import MIN_INDEXABLE, DDSketch
from ._mapping import LogarithmicMapping
from ._store import DEFAULT_BIN_LIMIT, BinStore
from ._window import WindowedSketch

__all__ = [
    "DEFAULT_BIN_LIMIT",
    "MIN_INDEXABLE",
    "BinStore",
    "DDSketch",
    "LogarithmicMapping",
    "WindowedSketch",
]
