"""HedgedPoolManager: urllib3's PoolManager, with hedged requests."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import urllib3
from urllib3.exceptions import NewConnectionError, ProtocolError, ReadTimeoutError

from hedge import Attempt, Classifier, HedgeConfig, Hedger, Judgement, RequestInfo, Stats, Verdict
from hedge.http import judge_status

__all__ = ["HedgedPoolManager"]

# Failures of one attempt that another attempt may not meet.
_RETRYABLE = (NewConnectionError, ProtocolError, ReadTimeoutError)


class _Verdicts(Classifier[urllib3.BaseHTTPResponse]):
    def classify_result(self, result: urllib3.BaseHTTPResponse) -> Judgement:
        return judge_status(result.status, result.headers.get("retry-after"))

    def classify_error(self, error: BaseException) -> Judgement:
        return Verdict.RETRY if isinstance(error, _RETRYABLE) else Verdict.FATAL


def _close(response: urllib3.BaseHTTPResponse) -> None:
    # A loser's connection cannot be reused safely with its body unread.
    response.close()
    response.release_conn()


class HedgedPoolManager:
    """A urllib3 ``PoolManager`` whose safe requests are hedged.

    Args:
        config: the hedging policy (default ``HedgeConfig()``).
        timeout: urllib3's timeout for every attempt; it also bounds how long
            a losing attempt, which cannot be interrupted, keeps a thread.
        **pool_kwargs: passed to ``urllib3.PoolManager``.
    """

    def __init__(
        self,
        config: HedgeConfig | None = None,
        *,
        timeout: float | urllib3.Timeout = 30.0,
        **pool_kwargs: Any,
    ) -> None:
        self._pool = urllib3.PoolManager(timeout=timeout, **pool_kwargs)
        self._hedger = Hedger(config)
        self._verdicts = _Verdicts()

    @property
    def stats(self) -> Stats:
        """The counters this manager records into."""
        return self._hedger.stats

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | str | Any = None,
        headers: Mapping[str, str] | None = None,
        hedge: bool | None = None,
        preload_content: bool = True,
        **kwargs: Any,
    ) -> urllib3.BaseHTTPResponse:
        """Send a request like ``PoolManager.request``; hedged if safe to repeat.

        ``hedge=True``/``False`` forces hedging on or off for this request. A
        body that is not ``bytes`` or ``str`` (a file, an iterator) is never
        sent twice. Raises urllib3's own exceptions.
        """
        sent_headers = dict(headers or {})
        info = RequestInfo.from_url(method, url, headers=sent_headers, framework="urllib3")
        marker = self._hedger.config.attempt_header

        def send(attempt: Attempt) -> urllib3.BaseHTTPResponse:
            attempt_headers = dict(sent_headers)
            if marker and attempt.index:
                attempt_headers[marker] = str(attempt.index)
            return self._pool.request(
                method,
                url,
                body=body,
                headers=attempt_headers,
                preload_content=False,
                retries=False,
                **kwargs,
            )

        response = self._hedger.run_sync(
            info,
            send,
            hedge=hedge,
            replayable=body is None or isinstance(body, (bytes, str)),
            classifier=self._verdicts,
            release=_close,
        )
        if preload_content:
            try:
                response.read(cache_content=True)
            finally:
                response.release_conn()
        return response

    def clear(self) -> None:
        """Close every pooled connection and stop hedge's worker threads."""
        self._pool.clear()
        self._hedger.close()

    def __enter__(self) -> HedgedPoolManager:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.clear()
