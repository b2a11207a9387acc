"""Channel targets: parsing them into a budget target, and finding a channel's own.

Budgets are kept per target and latency per method of a target, so every
request needs its channel's target (``"localhost:50051"``,
``"dns:///api.example.com:443"``, ``"unix:/run/api.sock"``).
:func:`parse_target` turns one into the host and port of a
:class:`~hedge.RequestInfo`.

An interceptor is built before its channel and grpcio never tells it the
target, so unless the user passes ``target=`` it is read from the channel
behind the ``continuation`` grpcio hands to the interceptor. That needs
grpcio internals (read-only attribute lookups, guarded): if they ever change,
:func:`channel_target` returns ``None`` and the interceptor falls back to one
anonymous target of its own, which is still right for the usual one
interceptor per channel.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["UNKNOWN_HOST", "channel_target", "parse_target"]

UNKNOWN_HOST = "unknown-target"
"""The host used when a channel's target could not be found."""

_DEFAULT_PORT = 443  # gRPC's default for a DNS target without a port
_DNS = re.compile(r"^dns:(?://[^/]*)?/(.*)$", re.IGNORECASE)
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$")
_PORT = re.compile(r"^\d{1,5}$")


def parse_target(target: str) -> tuple[str, int | None]:
    """Return the ``(host, port)`` a gRPC channel target names.

    ``host:port``, ``[v6]:port``, bare hosts (port 443, as gRPC assumes) and
    the ``dns:``, ``ipv4:`` and ``ipv6:`` schemes with a single address are
    split into host and port. Any other form (``unix:``, ``xds:``, address
    lists, custom resolvers) is kept whole, lower-cased, as the host with no
    port: still one stable budget target per channel.
    """
    text = target.strip()
    dns = _DNS.match(text)
    if dns is not None:
        return _host_port(dns.group(1))
    scheme = _SCHEME.match(text)
    if scheme is not None and not _PORT.match(scheme.group(2)):
        name, rest = scheme.group(1).lower(), scheme.group(2)
        if name in ("ipv4", "ipv6") and "," not in rest:
            return _host_port(rest)
        return text.lower(), None
    return _host_port(text)


def _host_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""  # a bare name, or an IPv6 literal without brackets
    host = host.lower().rstrip(".")
    if not host:
        return UNKNOWN_HOST, None
    if not port:
        return host, _DEFAULT_PORT
    if not _PORT.match(port) or int(port) > 65535:
        return text.lower(), None
    return host, int(port)


def channel_target(continuation: Any) -> str | None:
    """Return the target of the channel behind an interceptor's ``continuation``, or ``None``.

    Works for the continuations of ``grpc.aio`` channels and of channels made
    by ``grpc.intercept_channel``; reads attributes only, never calls into
    the channel.
    """
    try:
        return _aio_target(continuation) or _sync_target(continuation)
    except Exception:  # noqa: BLE001 - grpcio internals moved: fall back to no target
        return None


def _aio_target(continuation: Any) -> str | None:
    # grpc.aio passes functools.partial(<intercepted call>._run_interceptor, ...);
    # the intercepted call holds the cython channel, which knows its target.
    owner = getattr(getattr(continuation, "func", None), "__self__", None)
    channel = getattr(owner, "_channel", None)
    target = getattr(channel, "target", None)
    return _text(target() if callable(target) else target)


def _sync_target(continuation: Any) -> str | None:
    # grpc.intercept_channel passes a closure over its multi-callable, whose
    # thunk closes over the intercepted channel; channels nest through `_channel`.
    owner = _closure_value(continuation, "_thunk")
    channel = _closure_value(getattr(owner, "_thunk", None), "_channel")
    for _ in range(32):
        if channel is None:
            return None
        target = getattr(channel, "_target", None)
        if isinstance(target, (str, bytes)):
            return _text(target)
        channel = getattr(channel, "_channel", None)
    return None


def _closure_value(function: Any, attribute: str) -> Any:
    for cell in getattr(function, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if hasattr(value, attribute):
            return value
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return None
