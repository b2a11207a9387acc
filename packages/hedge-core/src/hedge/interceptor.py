"""hedge-python's ``hedge.interceptor`` import path.

``from hedge.interceptor import HedgedUnaryInterceptor`` (or
``HedgedServerStreamInterceptor``) returns the class from hedge-grpc when it
is installed; otherwise the :class:`ImportError` says to install it.
"""

from __future__ import annotations

from typing import Any

from ._compat import resolve

__all__ = ["HedgedServerStreamInterceptor", "HedgedUnaryInterceptor"]  # noqa: F822 - each name is resolved by __getattr__


def __getattr__(name: str) -> Any:
    return resolve(__name__, name, tuple(__all__))
