"""Hedged requests for urllib3: an example plugin built on hedge's public API."""

from __future__ import annotations

from ._pool import HedgedPoolManager

__all__ = ["HedgedPoolManager"]
