"""Framework-neutral description of a request, and the keys derived from it.

Two keys come out of every request:

* the **target** — scheme, host and port, e.g. ``https://api.example.com:443``.
  Budgets are kept per target, so one slow host cannot spend another's
  hedges. It never holds userinfo, path or query.
* the **latency key** — whose latency sketch and hedge delay the request
  uses: the target (``key_level="host"``), the target plus the path without
  the query (``key_level="endpoint"``), or whatever ``key_func`` returns.

A URL with no host (a relative URL, or a session's ``base_url`` the adapter
did not resolve) maps to the single target ``"<relative>"`` instead of to its
path and query, so it can never grow one key per query string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, Optional
from urllib.parse import SplitResult, urljoin, urlsplit

__all__ = ["RELATIVE_TARGET", "RequestInfo", "default_port", "endpoint_of"]

RELATIVE_TARGET = "<relative>"

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_EMPTY: Mapping[str, str] = {}


# (scheme, netloc) -> (host, port), for from_url. SplitResult's hostname and
# port properties cost about a microsecond per URL, more than the split itself
# (which urllib caches), and a client sends to few netlocs. Dropped whole when
# full, so it stays bounded; a bad port raises before anything is stored.
_ADDRESSES: dict[tuple[str, str], tuple[str, int | None]] = {}
_ADDRESSES_MAX = 1024


def _address(scheme: str, parts: SplitResult) -> tuple[str, int | None]:
    key = (scheme, parts.netloc)
    address = _ADDRESSES.get(key)
    if address is None:
        host = (parts.hostname or "").rstrip(".")
        port = parts.port if host else None
        if port is None and host:
            port = _DEFAULT_PORTS.get(scheme)
        address = (host, port)
        if len(_ADDRESSES) >= _ADDRESSES_MAX:
            _ADDRESSES.clear()
        _ADDRESSES[key] = address
    return address


def default_port(scheme: str) -> int | None:
    """Return the well-known port of ``scheme`` (80, 443), or ``None``."""
    return _DEFAULT_PORTS.get(scheme)


class RequestInfo(NamedTuple):
    """What the policy needs to know about one outgoing request.

    Adapters build one per request from what their framework already parsed;
    :meth:`from_url` parses a URL string for those that have none.

    Attributes:
        method: HTTP method in upper case, or the gRPC full method name
            (``/package.Service/Method``).
        scheme: ``http``, ``https``, ``grpc``... in lower case.
        host: host name in lower case, without brackets, userinfo or port;
            empty for a relative URL.
        port: the port, or ``None`` when the scheme has no default.
        path: the path without query or fragment (gRPC: the full method).
        headers: the request headers as the framework holds them (a
            case-insensitive mapping for every supported framework).
        framework: the adapter's name, e.g. ``"httpx"``.
    """

    method: str
    scheme: str
    host: str
    port: Optional[int]  # noqa: UP045 - NamedTuple fields are evaluated on 3.9
    path: str = "/"
    headers: Mapping[str, str] = _EMPTY
    framework: str = ""

    @classmethod
    def from_url(
        cls,
        method: str,
        url: str,
        *,
        base_url: str | None = None,
        headers: Mapping[str, str] = _EMPTY,
        framework: str = "",
    ) -> RequestInfo:
        """Describe a request to ``url`` (resolved against ``base_url`` if relative).

        Userinfo is dropped; the port defaults from the scheme.

        Raises:
            ValueError: if the URL's port is not a number in [0, 65535].
        """
        if base_url is not None:
            url = urljoin(base_url, url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host, port = _address(scheme, parts)
        return cls(method.upper(), scheme, host, port, parts.path or "/", headers, framework)

    @property
    def target(self) -> str:
        """``scheme://host:port``: the budget key (no userinfo, path or query)."""
        host = self.host
        if not host:
            return RELATIVE_TARGET
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        if self.port is None:
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """The target followed by the path (never the query)."""
        return endpoint_of(self.target, self.path)


def endpoint_of(target: str, path: str) -> str:
    """The endpoint key of a request to ``path`` on ``target`` (see :attr:`RequestInfo.endpoint`)."""
    if target == RELATIVE_TARGET:
        return target
    return target + (path if path.startswith("/") else "/" + path)
