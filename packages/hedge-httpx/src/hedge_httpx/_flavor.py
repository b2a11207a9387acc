"""One httpx-compatible module, seen through the few names hedge-httpx uses.

httpx and httpx2 (its maintained continuation) share one transport API
under two import names, so every line of hedging logic is written once,
against :class:`HttpxModule`, and each module gets a :class:`Flavor`: the
same code parametrised by the module object, in the way OpenTelemetry's
DB-API instrumentation is parametrised by the driver module.

A flavor holds what is derived from its module once, at import time: the
classifier (which of the module's exceptions are worth another attempt),
the stream wrapper that replays a peeked first chunk, and how a request is
described to the engine and copied for a hedge. Nothing here imports a
framework; the per-framework modules (``_httpx``, ``_httpx2``) do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from hedge import RequestInfo
from hedge.http import hedge_override

from ._classify import HttpxClassifier
from ._streams import make_replay_streams

if TYPE_CHECKING:
    from ._streams import ReplayStreams

__all__ = ["Flavor", "HttpxModule"]

# httpx leaves the port out of a URL when it is the scheme's default.
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class HttpxModule(Protocol):
    """The names hedge-httpx needs from an httpx-compatible module (``httpx``, ``httpx2``).

    Any module providing them with httpx's semantics can be given a
    :class:`Flavor`. Read-only properties, so that a module object satisfies
    the protocol for type checkers.
    """

    @property
    def AsyncBaseTransport(self) -> type[Any]: ...  # noqa: N802 - the module's own names
    @property
    def BaseTransport(self) -> type[Any]: ...  # noqa: N802
    @property
    def AsyncHTTPTransport(self) -> type[Any]: ...  # noqa: N802
    @property
    def HTTPTransport(self) -> type[Any]: ...  # noqa: N802
    @property
    def Request(self) -> type[Any]: ...  # noqa: N802
    @property
    def ByteStream(self) -> type[Any]: ...  # noqa: N802
    @property
    def AsyncByteStream(self) -> type[Any]: ...  # noqa: N802
    @property
    def SyncByteStream(self) -> type[Any]: ...  # noqa: N802
    @property
    def RequestNotRead(self) -> type[Exception]: ...  # noqa: N802
    @property
    def HTTPError(self) -> type[Exception]: ...  # noqa: N802
    @property
    def InvalidURL(self) -> type[Exception]: ...  # noqa: N802
    @property
    def StreamError(self) -> type[Exception]: ...  # noqa: N802
    @property
    def NetworkError(self) -> type[Exception]: ...  # noqa: N802
    @property
    def RemoteProtocolError(self) -> type[Exception]: ...  # noqa: N802
    @property
    def ConnectTimeout(self) -> type[Exception]: ...  # noqa: N802
    @property
    def ReadTimeout(self) -> type[Exception]: ...  # noqa: N802
    @property
    def WriteTimeout(self) -> type[Exception]: ...  # noqa: N802
    @property
    def PoolTimeout(self) -> type[Exception]: ...  # noqa: N802


class Flavor:
    """hedge-httpx's view of one httpx-compatible module.

    Args:
        module: ``httpx`` or ``httpx2`` (anything satisfying :class:`HttpxModule`).
        name: the framework name events and :class:`~hedge.RequestInfo` carry.

    """

    __slots__ = ("_not_read", "classifier", "module", "name", "streams")

    def __init__(self, module: HttpxModule, name: str) -> None:
        self.module = module
        self.name = name
        self.classifier = HttpxClassifier(module)
        self.streams: ReplayStreams = make_replay_streams(module)
        self._not_read = module.RequestNotRead

    def describe(self, request: Any) -> RequestInfo:
        """The engine's description of ``request`` (an ``httpx.Request``)."""
        url = request.url
        scheme = url.scheme
        port = url.port
        if port is None:
            port = _DEFAULT_PORTS.get(scheme)
        return RequestInfo(request.method, scheme, url.host, port, url.path, request.headers, self.name)

    def replayable_body(self, request: Any) -> bytes | None:
        """The request body if it can be sent again byte for byte, else ``None``.

        httpx loads bytes, str, form and JSON bodies into memory when the
        request is built; iterators, async iterators and multipart uploads
        stay streams (``request.content`` raises ``RequestNotRead``) and are
        never sent twice.
        """
        try:
            content: bytes = request.content
        except self._not_read:
            return None
        return content

    def copy(self, request: Any, body: bytes, extra: Mapping[str, str] | None, trace: Any = None) -> Any:
        """A new request equal to ``request``, with its own body stream.

        Hedges must never share a stream with another attempt, so each gets
        a fresh ``ByteStream`` over the same bytes. ``extra`` headers (the
        attempt marker) are set on the copy only; ``trace`` replaces the
        copy's ``trace`` extension.
        """
        headers = request.headers.copy()
        if extra:
            for name, value in extra.items():
                headers[name] = value
        extensions = dict(request.extensions)
        if trace is not None:
            extensions["trace"] = trace
        module = self.module
        copy = module.Request(
            request.method,
            request.url,
            headers=headers,
            stream=module.ByteStream(body),
            extensions=extensions,
        )
        # Loaded like the original, so an inner transport may read .content of either.
        copy.read()
        return copy

    @staticmethod
    def override(request: Any) -> bool | None:
        """The request's ``extensions["hedge"]`` override (``None`` when absent).

        Raises:
            TypeError: if the extension is not a bool, ``None`` or a string.
            ValueError: if it is a string that does not read as true or false.

        """
        value = request.extensions.get("hedge")
        if value is None:
            return None
        try:
            return hedge_override(value)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f'extensions["hedge"] must be True, False or None (or "true"/"false"), got {value!r}'
            ) from None

    def __repr__(self) -> str:
        return f"Flavor({self.name!r})"
