"""httpx2: the httpx driver for ``httpx2`` and ``HedgedHttpx2Transport`` / ``HedgedHttpx2SyncTransport``."""

from __future__ import annotations

from ._httpx import httpx_driver

__all__ = ["DRIVER"]

DRIVER = httpx_driver("httpx2", "Httpx2")
