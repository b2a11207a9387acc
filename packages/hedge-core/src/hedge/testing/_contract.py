"""The HTTP adapter conformance kit: the race rules, checked on the wire.

Every HTTP adapter, hedge's own and third parties', proves it follows the
race rules by subclassing :class:`HttpAdapterContract` (or
:class:`SyncHttpAdapterContract`) in its test suite and implementing two
methods: how to open a client for a :class:`~hedge.HedgeConfig`, and how to
send one request with it. The inherited tests then drive a real
:class:`~hedge.testing.ScriptedServer` on 127.0.0.1 and assert on what the
server saw (how many attempts, which ones were abandoned, which connections
stayed open), on what the caller got, and on the engine's events, never on
elapsed time.

The tests use pytest fixtures but no pytest plugin: each scenario runs in
its own :func:`asyncio.run`, with resource warnings and unhandled loop
errors collected and turned into failures.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from .._config import HedgeConfig
from ..events import AttemptLost, HedgeSent
from ._faults import HttpFaultContract
from ._kit import ContractResponse, EventRecorder
from ._server import Reply, ScriptedServer, free_port

__all__ = ["ContractResponse", "EventRecorder", "HttpAdapterContract", "SyncHttpAdapterContract"]


class HttpAdapterContract(HttpFaultContract):
    """Race-rule conformance tests for an asyncio HTTP adapter, and the fault matrix.

    Subclass it as ``class TestMyAdapterContract(HttpAdapterContract)`` and
    implement :meth:`~ContractBase.open_client` and
    :meth:`~ContractBase.request`. Set ``connection_errors`` to the exception
    types your framework raises when a connection is refused, reset or cannot
    be resolved, and ``read_errors`` to those it raises when a response body
    breaks off. An adapter that lacks a capability declares it
    (``supports_stream_body = False``, ``supports_stream_response = False``)
    and the tests of that capability are left out of its suite.
    """

    #: The tests that only apply to an adapter with that capability.
    CAPABILITY_TESTS: ClassVar[dict[str, tuple[str, ...]]] = {
        "supports_stream_body": ("test_streamed_body_is_sent_once",),
        "supports_stream_response": ("test_race_on_first_byte", "test_race_on_headers_by_default"),
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for capability, tests in cls.CAPABILITY_TESTS.items():
            if not getattr(cls, capability):
                for name in tests:
                    setattr(cls, name, None)  # not collected: the capability is absent

    # -- the race rules ----------------------------------------------------------------------

    def test_fast_primary_is_not_hedged(self, hedge_server: ScriptedServer) -> None:
        config = self.config(min_delay=1.0, max_delay=1.0, warmup_delay=1.0)
        url = hedge_server.url_for("/fast")

        async def scenario(client: Any) -> list[ContractResponse]:
            return [await self.request(client, "GET", url) for _ in range(5)]

        responses = self.run_scenario(config, scenario)
        assert [r.status for r in responses] == [200] * 5
        assert len(hedge_server.requests_to("/fast")) == 5
        snapshot = self.stats_of(config).snapshot()
        assert (snapshot.total_requests, snapshot.hedges_sent, snapshot.primary_wins) == (5, 0, 5)

    def test_slow_primary_loses_to_hedge(self, hedge_server: ScriptedServer) -> None:
        config = self.config()
        hedge_server.script("/race", Reply(delay=self.slow, body=b"primary"), Reply(body=b"hedge"))

        async def scenario(client: Any) -> ContractResponse:
            response = await self.request(client, "GET", hedge_server.url_for("/race"))
            await self.settle(hedge_server, "/race", 2)
            return response

        response = self.run_scenario(config, scenario)
        assert (response.status, response.body) == (200, b"hedge")
        primary, hedge = hedge_server.requests_to("/race")
        assert hedge.completed
        snapshot = self.stats_of(config).snapshot()
        assert (snapshot.hedges_sent, snapshot.hedge_wins, snapshot.primary_wins) == (1, 1, 0)
        if self.cancels_in_flight:
            # The loser was cancelled on the wire, not left to finish.
            assert hedge_server.wait_until(lambda s: s.requests_to("/race")[0].disconnected)
            assert not primary.completed

    def test_post_is_never_hedged(self, hedge_server: ScriptedServer) -> None:
        config = self.config()
        hedge_server.script("/write", Reply(delay=0.5, status=201))

        async def scenario(client: Any) -> ContractResponse:
            return await self.request(client, "POST", hedge_server.url_for("/write"), body=b"x")

        assert self.run_scenario(config, scenario).status == 201
        assert len(hedge_server.requests_to("/write")) == 1
        snapshot = self.stats_of(config).snapshot()
        assert (snapshot.passthrough_requests, snapshot.total_requests) == (1, 0)

    def test_opt_out_per_request(self, hedge_server: ScriptedServer) -> None:
        config = self.config()
        hedge_server.script("/opt-out", Reply(delay=0.5))

        async def scenario(client: Any) -> ContractResponse:
            return await self.request(client, "GET", hedge_server.url_for("/opt-out"), hedge=False)

        assert self.run_scenario(config, scenario).status == 200
        assert len(hedge_server.requests_to("/opt-out")) == 1

    def test_opt_in_per_request_replays_bytes_body(self, hedge_server: ScriptedServer) -> None:
        config = self.config()
        hedge_server.script("/opt-in", Reply(delay=self.slow, body=b"primary"), Reply(body=b"hedge"))

        async def scenario(client: Any) -> ContractResponse:
            response = await self.request(
                client, "POST", hedge_server.url_for("/opt-in"), body=b"payload", hedge=True
            )
            await self.settle(hedge_server, "/opt-in", 2)
            return response

        assert self.run_scenario(config, scenario).body == b"hedge"
        received = hedge_server.requests_to("/opt-in")
        assert [r.body for r in received] == [b"payload", b"payload"]

    def test_idempotency_key_allows_hedging_a_write(self, hedge_server: ScriptedServer) -> None:
        config = self.config(idempotency_key_header="Idempotency-Key")
        hedge_server.script("/pay", Reply(delay=self.slow, body=b"primary"), Reply(body=b"hedge"))

        async def scenario(client: Any) -> ContractResponse:
            headers = {"Idempotency-Key": "k-123"}
            response = await self.request(
                client, "POST", hedge_server.url_for("/pay"), headers=headers, body=b"p"
            )
            await self.settle(hedge_server, "/pay", 2)
            return response

        assert self.run_scenario(config, scenario).body == b"hedge"
        assert [r.headers.get("idempotency-key") for r in hedge_server.requests_to("/pay")] == [
            "k-123",
            "k-123",
        ]

    def test_streamed_body_is_sent_once(self, hedge_server: ScriptedServer) -> None:
        config = self.config()
        hedge_server.script("/upload", Reply(delay=0.5))

        async def scenario(client: Any) -> ContractResponse:
            url = hedge_server.url_for("/upload")
            return await self.request(client, "PUT", url, body=b"chunk", stream_body=True, hedge=True)

        assert self.run_scenario(config, scenario).status == 200
        received = hedge_server.requests_to("/upload")
        assert len(received) == 1
        assert received[0].body == b"chunk"

    def test_retryable_status_sends_the_hedge_at_once(
        self, hedge_server: ScriptedServer, hedge_events: EventRecorder
    ) -> None:
        # The delay is far longer than the test: the hedge can only come from the 503.
        config = self.config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)
        hedge_server.script("/flaky", Reply(status=503, body=b"busy"), Reply(body=b"hedge"))

        async def scenario(client: Any) -> ContractResponse:
            return await self.request(client, "GET", hedge_server.url_for("/flaky"))

        response = self.run_scenario(config, scenario)
        assert (response.status, response.body) == (200, b"hedge")
        assert [(e.attempt, e.reason) for e in hedge_events.of(HedgeSent)] == [(1, "retry")]

    def test_every_attempt_failing_returns_the_primary_outcome(self, hedge_server: ScriptedServer) -> None:
        config = self.config()
        hedge_server.script("/down", Reply(status=503, body=b"first"), Reply(status=502, body=b"second"))

        async def scenario(client: Any) -> ContractResponse:
            return await self.request(client, "GET", hedge_server.url_for("/down"))

        response = self.run_scenario(config, scenario)
        assert (response.status, response.body) == (503, b"first")
        assert len(hedge_server.requests_to("/down")) == 2
        assert self.stats_of(config).snapshot().errors == 1

    def test_reset_before_headers_is_retried(
        self, hedge_server: ScriptedServer, hedge_events: EventRecorder
    ) -> None:
        config = self.config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)
        hedge_server.script("/reset", Reply(fault="reset"), Reply(body=b"hedge"))

        async def scenario(client: Any) -> ContractResponse:
            return await self.request(client, "GET", hedge_server.url_for("/reset"))

        assert self.run_scenario(config, scenario).body == b"hedge"
        assert [e.reason for e in hedge_events.of(HedgeSent)] == ["retry"]

    def test_refused_connection_raises_the_framework_error(self, hedge_events: EventRecorder) -> None:
        config = self.config()
        url = f"http://127.0.0.1:{free_port()}/nothing"

        async def scenario(client: Any) -> BaseException | None:
            try:
                await self.request(client, "GET", url)
            except Exception as exc:  # noqa: BLE001 - the type is what is checked
                return exc
            return None

        error = self.run_scenario(config, scenario)
        assert isinstance(error, self.connection_errors), f"unexpected {error!r}"
        # The refused primary was retried at once as a hedge, which was refused too.
        assert [e.reason for e in hedge_events.of(HedgeSent)] == ["retry"]
        assert self.stats_of(config).snapshot().errors == 1

    def test_max_hedges_sends_that_many(self, hedge_server: ScriptedServer) -> None:
        config = self.config(max_hedges=2)
        hedge_server.script(
            "/two",
            Reply(delay=self.slow, body=b"primary"),
            Reply(delay=self.slow, body=b"first hedge"),
            Reply(body=b"second hedge"),
        )

        async def scenario(client: Any) -> ContractResponse:
            response = await self.request(client, "GET", hedge_server.url_for("/two"))
            await self.settle(hedge_server, "/two", 3)
            return response

        assert self.run_scenario(config, scenario).body == b"second hedge"
        assert len(hedge_server.requests_to("/two")) == 3
        assert self.stats_of(config).snapshot().hedges_sent == 2

    def test_budget_refusal_sends_no_hedge(self, hedge_server: ScriptedServer) -> None:
        config = self.config(budget_percent=0.0, budget_floor=0.0)
        hedge_server.script("/broke", Reply(delay=0.5))

        async def scenario(client: Any) -> ContractResponse:
            return await self.request(client, "GET", hedge_server.url_for("/broke"))

        assert self.run_scenario(config, scenario).status == 200
        assert len(hedge_server.requests_to("/broke")) == 1
        snapshot = self.stats_of(config).snapshot()
        assert (snapshot.budget_exhausted, snapshot.hedges_sent) == (1, 0)

    def test_attempt_header_marks_hedges_only(self, hedge_server: ScriptedServer) -> None:
        config = self.config(attempt_header="x-hedge-attempt")
        hedge_server.script("/marked", Reply(delay=self.slow), Reply())

        async def scenario(client: Any) -> ContractResponse:
            response = await self.request(client, "GET", hedge_server.url_for("/marked"))
            await self.settle(hedge_server, "/marked", 2)
            return response

        assert self.run_scenario(config, scenario).status == 200
        assert [r.headers.get("x-hedge-attempt") for r in hedge_server.requests_to("/marked")] == [None, "1"]

    def test_simultaneous_finish_releases_the_loser(
        self, hedge_server: ScriptedServer, hedge_events: EventRecorder
    ) -> None:
        config = self.config()
        # Both attempts are answered only once both have arrived: they finish together.
        hedge_server.script("/tie", Reply(gate=2, body=b"tie"), Reply(gate=2, body=b"tie"))

        async def scenario(client: Any) -> ContractResponse:
            return await self.request(client, "GET", hedge_server.url_for("/tie"))

        assert self.run_scenario(config, scenario).body == b"tie"
        assert len(hedge_server.requests_to("/tie")) == 2
        assert hedge_server.wait_until(lambda s: s.open_connections == 0)
        assert len(hedge_events.of(AttemptLost)) == 1

    def test_no_connection_leak_over_many_races(self, hedge_server: ScriptedServer) -> None:
        config = self.config()
        races = 20
        for _ in range(races):
            hedge_server.script("/many", Reply(delay=self.slow if self.cancels_in_flight else 1.0), Reply())

        async def scenario(client: Any) -> int:
            for _ in range(races):
                response = await self.request(client, "GET", hedge_server.url_for("/many"))
                assert response.status == 200
            if not self.cancels_in_flight:
                await asyncio.to_thread(self.wait_for_losers, hedge_server, "/many", 2 * races)
            # At rest, only reusable connections remain: cancelled ones were closed.
            return hedge_server.open_connections

        open_at_rest = self.run_scenario(config, scenario)
        assert open_at_rest <= 2 + (0 if self.cancels_in_flight else races)
        assert hedge_server.wait_until(lambda s: s.open_connections == 0)
        assert self.stats_of(config).snapshot().hedge_wins == races

    def test_latency_key_is_the_target(self, hedge_server: ScriptedServer) -> None:
        config = self.config()

        async def scenario(client: Any) -> None:
            await self.request(client, "GET", hedge_server.url_for("/k?user=1"))
            await self.request(client, "GET", hedge_server.url_for("/k?user=2"))

        self.run_scenario(config, scenario)
        assert list(self.stats_of(config).keys()) == [f"http://127.0.0.1:{hedge_server.port}"]

    def test_caller_cancellation_cancels_every_attempt(self, hedge_server: ScriptedServer) -> None:
        config = self.config()
        hedge_server.script("/stuck", Reply(fault="hang"), Reply(fault="hang"))

        async def scenario(client: Any) -> str:
            task = asyncio.ensure_future(self.request(client, "GET", hedge_server.url_for("/stuck")))
            arrived = await hedge_server.wait_until_async(lambda s: len(s.requests_to("/stuck")) == 2)
            assert arrived, "the hedge was never sent"
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                return "cancelled"
            return "not cancelled"

        assert self.run_scenario(config, scenario) == "cancelled"
        assert hedge_server.wait_until(lambda s: s.disconnects == 2)
        assert self.stats_of(config).snapshot().cancelled_requests == 1

    def test_timeout_cancels_every_attempt(self, hedge_server: ScriptedServer) -> None:
        config = self.config()
        hedge_server.script("/late", Reply(fault="hang"), Reply(fault="hang"))

        async def scenario(client: Any) -> str:
            try:
                await asyncio.wait_for(self.request(client, "GET", hedge_server.url_for("/late")), 1.0)
            except asyncio.TimeoutError:
                return "timed out"
            return "answered"

        assert self.run_scenario(config, scenario) == "timed out"
        assert hedge_server.wait_until(lambda s: s.disconnects == 2)

    def test_race_on_first_byte(self, hedge_server: ScriptedServer) -> None:
        config = self.config(race_on="first_byte")
        # The primary's headers come at once but its body is late; the hedge is quick.
        hedge_server.script(
            "/sse",
            Reply(chunks=[b"data: primary\n\n"], body_delay=self.slow),
            Reply(chunks=[b"data: hedge\n\n"]),
        )

        async def scenario(client: Any) -> ContractResponse:
            return await self.request(client, "GET", hedge_server.url_for("/sse"), stream_response=True)

        assert self.run_scenario(config, scenario).body == b"data: hedge\n\n"
        assert len(hedge_server.requests_to("/sse")) == 2

    def test_race_on_headers_by_default(self, hedge_server: ScriptedServer) -> None:
        config = self.config()
        hedge_server.script("/headers", Reply(chunks=[b"primary"], body_delay=0.5), Reply(chunks=[b"hedge"]))

        async def scenario(client: Any) -> ContractResponse:
            return await self.request(client, "GET", hedge_server.url_for("/headers"), stream_response=True)

        # The primary's headers arrive before the hedge delay: it wins, no hedge is sent.
        assert self.run_scenario(config, scenario).body == b"primary"
        assert len(hedge_server.requests_to("/headers")) == 1


class SyncHttpAdapterContract(HttpAdapterContract):
    """The same conformance tests for a synchronous (thread-based) adapter.

    Implement :meth:`open_sync_client` and :meth:`request_sync`; the kit runs
    them on threads. A thread cannot be interrupted: unless the adapter aborts
    losers through :meth:`hedge.Attempt.on_cancel` (then set
    ``cancels_in_flight = True``), a losing attempt runs to its end and is
    released by its worker, and the tests check that it is released rather
    than cut short.
    """

    cancels_in_flight = False
    slow = 1.5

    # A synchronous caller has no cancellation to propagate.
    test_caller_cancellation_cancels_every_attempt = None  # type: ignore[assignment]
    test_timeout_cancels_every_attempt = None  # type: ignore[assignment]
    test_fault_cancel_before_the_hedge = None  # type: ignore[assignment]
    test_fault_cancel_while_many_requests_race = None  # type: ignore[assignment]

    def test_one_client_shared_by_threads(self, hedge_server: ScriptedServer) -> None:
        # Eight threads share one client; one request in ten has a slow primary.
        config = self.config()
        threads, each = 8, 25
        for index in range(threads * each):
            replies = (
                [Reply(delay=self.slow), Reply(body=b"%d" % index)]
                if index % 10 == 0
                else [Reply(body=b"%d" % index)]
            )
            hedge_server.script(f"/shared/{index}", *replies)

        def worker(client: Any, first: int) -> list[bytes]:
            return [
                self.request_sync(client, "GET", hedge_server.url_for(f"/shared/{index}")).body
                for index in range(first, first + each)
            ]

        with self.open_sync_client(config) as client, concurrent.futures.ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(lambda n: worker(client, n * each), range(threads)))
            if not self.cancels_in_flight:
                for index in range(0, threads * each, 10):
                    assert self.wait_for_losers(hedge_server, f"/shared/{index}", 2)
        assert [body for chunk in results for body in chunk] == [b"%d" % i for i in range(threads * each)]
        snapshot = self.stats_of(config).snapshot()
        assert snapshot.total_requests == threads * each
        assert snapshot.primary_wins + snapshot.hedge_wins == threads * each
        assert snapshot.hedge_wins >= threads * each // 10
        assert hedge_server.wait_until(lambda s: s.open_connections == 0)

    def open_sync_client(self, config: HedgeConfig) -> contextlib.AbstractContextManager[Any]:
        """Return a context manager yielding a hedged synchronous client for ``config``."""
        raise NotImplementedError

    def request_sync(
        self,
        client: Any,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        stream_response: bool = False,
        hedge: bool | None = None,
    ) -> ContractResponse:
        """Send one request synchronously (see :meth:`HttpAdapterContract.request`)."""
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def open_client(self, config: HedgeConfig) -> AsyncIterator[Any]:
        manager = self.open_sync_client(config)
        client = await asyncio.to_thread(manager.__enter__)
        try:
            yield client
        finally:
            await asyncio.to_thread(manager.__exit__, None, None, None)

    async def request(
        self,
        client: Any,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        stream_response: bool = False,
        hedge: bool | None = None,
    ) -> ContractResponse:
        return await asyncio.to_thread(
            lambda: self.request_sync(
                client,
                method,
                url,
                headers=headers,
                body=body,
                stream_body=stream_body,
                stream_response=stream_response,
                hedge=hedge,
            )
        )
