"""The fault matrix of the conformance kit: what an adapter does when things break.

Besides broken servers it covers bad input at the adapter's boundary (URLs
carrying credentials, a plugin that raises) and load (many requests in
flight on one client).

Mixed into :class:`~hedge.testing.HttpAdapterContract`, so every HTTP adapter
runs it. Each scenario checks the three things that matter when a server
misbehaves: the caller gets the outcome the framework itself would have
produced (its own exception types and responses), nothing is sent more often
than allowed, and nothing leaks (no connection left open at the server, no
unclosed-resource warning, no unhandled event-loop error).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from typing import Any

import pytest

from ..hookspecs import hookimpl
from ..plugins import get_plugin_manager
from ._kit import ContractBase, ContractResponse
from ._server import Reply, ScriptedServer

#: Requests in flight at once in the load scenario (the reliability session raises it).
IN_FLIGHT = int(os.environ.get("HEDGE_KIT_IN_FLIGHT", "200"))
_plugin_names = itertools.count()


class _RaisingPlugin:
    """A third-party plugin with a bug in every per-request hook."""

    @hookimpl
    def hedge_request_key(self, request: Any) -> str:
        raise RuntimeError("plugin bug in hedge_request_key")

    @hookimpl
    def hedge_should_hedge(self, request: Any) -> bool:
        raise RuntimeError("plugin bug in hedge_should_hedge")

    @hookimpl
    def hedge_event(self, event: Any) -> None:
        raise RuntimeError("plugin bug in hedge_event")


__all__ = ["HttpFaultContract"]


async def _outcome(awaitable: Any) -> Any:
    """The response, or the exception the request raised."""
    try:
        return await awaitable
    except Exception as exc:  # noqa: BLE001 - the outcome is what is checked
        return exc


class HttpFaultContract(ContractBase):
    """Fault scenarios every HTTP adapter runs (see the module docstring)."""

    def assert_no_connection_left(self, server: ScriptedServer) -> None:
        """After the client closed, the server holds no connection."""
        assert server.wait_until(lambda s: s.open_connections == 0), (
            f"{server.open_connections} connection(s) still open at the server"
        )

    def test_fault_reset_in_the_middle_of_the_body(self, hedge_server: ScriptedServer) -> None:
        # The primary's headers win the race; the body then breaks. That is the
        # caller's error to see, exactly as without hedging: nothing is retried
        # once an answer was handed over.
        config = self.config()
        hedge_server.script("/torn", Reply(body=b"0123456789" * 100, fault="reset_mid_body"))

        async def scenario(client: Any) -> Any:
            return await _outcome(self.request(client, "GET", hedge_server.url_for("/torn")))

        outcome = self.run_scenario(config, scenario)
        assert isinstance(outcome, self.read_errors), f"unexpected {outcome!r}"
        assert len(hedge_server.requests_to("/torn")) == 1
        self.assert_no_connection_left(hedge_server)

    def test_fault_5xx_storm_stays_within_the_budget(self, hedge_server: ScriptedServer) -> None:
        # Every reply is a 503. Each request may retry once as a hedge, but only
        # as far as the budget allows: 10% of the requests plus a floor of 1.
        config = self.config(budget_percent=10.0, budget_floor=0.0)
        requests = 40
        hedge_server.set_default(Reply(status=503, body=b"overloaded"))

        async def scenario(client: Any) -> list[Any]:
            return [
                await _outcome(self.request(client, "GET", hedge_server.url_for("/storm")))
                for _ in range(requests)
            ]

        outcomes = self.run_scenario(config, scenario)
        assert all(getattr(o, "status", None) == 503 for o in outcomes), outcomes[:3]
        extra = len(hedge_server.requests_to("/storm")) - requests
        assert 1 <= extra <= requests // 10 + 1
        snapshot = self.stats_of(config).snapshot()
        assert snapshot.errors == requests
        assert snapshot.hedges_sent == extra
        self.assert_no_connection_left(hedge_server)

    def test_fault_slow_body_after_fast_headers(self, hedge_server: ScriptedServer) -> None:
        # Racing on headers: the primary's headers came at once, so it won, and
        # its slow body is simply read. No hedge is sent for a slow body.
        config = self.config()
        hedge_server.script("/trickle", Reply(chunks=[b"a", b"b", b"c"], chunk_delay=0.2))

        async def scenario(client: Any) -> ContractResponse:
            return await self.request(client, "GET", hedge_server.url_for("/trickle"))

        assert self.run_scenario(config, scenario).body == b"abc"
        assert len(hedge_server.requests_to("/trickle")) == 1
        self.assert_no_connection_left(hedge_server)

    def test_fault_both_attempts_reset(self, hedge_server: ScriptedServer) -> None:
        # Each race is a primary and one hedge, both reset. A framework that
        # resends on a broken connection by itself runs one race per send.
        config = self.config()
        races = 1 + self.framework_resends
        for _ in range(races):
            hedge_server.script("/gone", Reply(fault="reset"), Reply(fault="reset"))

        async def scenario(client: Any) -> Any:
            return await _outcome(self.request(client, "GET", hedge_server.url_for("/gone")))

        outcome = self.run_scenario(config, scenario)
        assert isinstance(outcome, self.connection_errors), f"unexpected {outcome!r}"
        assert len(hedge_server.requests_to("/gone")) == 2 * races
        snapshot = self.stats_of(config).snapshot()
        assert (snapshot.total_requests, snapshot.errors, snapshot.hedges_sent) == (races, races, races)
        self.assert_no_connection_left(hedge_server)

    def test_fault_closed_without_an_answer_is_retried(self, hedge_server: ScriptedServer) -> None:
        config = self.config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)
        hedge_server.script("/hangup", Reply(fault="close"), Reply(body=b"second try"))

        async def scenario(client: Any) -> ContractResponse:
            return await self.request(client, "GET", hedge_server.url_for("/hangup"))

        assert self.run_scenario(config, scenario).body == b"second try"
        self.assert_no_connection_left(hedge_server)

    def test_fault_unknown_host_raises_the_framework_error(self) -> None:
        config = self.config()

        async def scenario(client: Any) -> Any:
            return await _outcome(self.request(client, "GET", "http://nonexistent.invalid/x"))

        outcome = self.run_scenario(config, scenario)
        assert isinstance(outcome, self.connection_errors), f"unexpected {outcome!r}"

    def test_fault_cancel_before_the_hedge(self, hedge_server: ScriptedServer) -> None:
        config = self.config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)
        hedge_server.script("/early", Reply(fault="hang"))

        async def scenario(client: Any) -> bool:
            task = asyncio.ensure_future(self.request(client, "GET", hedge_server.url_for("/early")))
            assert await hedge_server.wait_until_async(lambda s: len(s.requests_to("/early")) == 1)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return task.cancelled()

        assert self.run_scenario(config, scenario)
        assert hedge_server.wait_until(lambda s: s.disconnects == 1)
        assert len(hedge_server.requests_to("/early")) == 1
        self.assert_no_connection_left(hedge_server)

    def test_fault_cancel_while_many_requests_race(self, hedge_server: ScriptedServer) -> None:
        # Thirty attempts in flight at once: the client under test must allow
        # that many concurrent requests (e.g. tornado's max_clients).
        config = self.config(max_hedges=2)
        hedge_server.set_default(Reply(fault="hang"))

        async def scenario(client: Any) -> int:
            tasks = [
                asyncio.ensure_future(self.request(client, "GET", hedge_server.url_for(f"/many-{i}")))
                for i in range(10)
            ]
            # Wait until every request has its primary and both hedges in flight.
            assert await hedge_server.wait_until_async(lambda s: len(s.requests) == 30)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return sum(task.cancelled() for task in tasks)

        assert self.run_scenario(config, scenario) == 10
        assert hedge_server.wait_until(lambda s: s.disconnects == 30)
        self.assert_no_connection_left(hedge_server)

    def test_fault_credentials_never_reach_keys(self, hedge_server: ScriptedServer) -> None:
        config = self.config()
        url = f"http://someone:s3cret@127.0.0.1:{hedge_server.port}/private?token=abc"

        async def scenario(client: Any) -> Any:
            return await _outcome(self.request(client, "GET", url))

        self.run_scenario(config, scenario)
        keys = " ".join(self.stats_of(config).keys())
        assert keys == f"http://127.0.0.1:{hedge_server.port}"
        assert "s3cret" not in keys
        assert "token" not in keys

    def test_fault_a_broken_plugin_never_breaks_a_request(
        self, hedge_server: ScriptedServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG, logger="hedge")
        config = self.config()
        hedge_server.script("/plugged", Reply(delay=self.slow, body=b"primary"), Reply(body=b"hedge"))
        manager = get_plugin_manager()
        name = f"hedge-kit-raising-plugin-{next(_plugin_names)}"
        manager.register(_RaisingPlugin(), name=name)
        try:

            async def scenario(client: Any) -> ContractResponse:
                response = await self.request(client, "GET", hedge_server.url_for("/plugged"))
                await self.settle(hedge_server, "/plugged", 2)
                return response

            response = self.run_scenario(config, scenario)
        finally:
            manager.unregister(name=name)
        # The request was hedged as usual: the broken hooks were ignored, and reported.
        assert (response.status, response.body) == (200, b"hedge")
        assert self.stats_of(config).snapshot().hedge_wins == 1
        reported = {record.getMessage() for record in caplog.records if record.name == "hedge"}
        for hook in ("hedge_request_key", "hedge_should_hedge", "hedge_event"):
            assert any(name in message and hook in message for message in reported), (hook, reported)
        caplog.clear()  # the reports were expected

    def test_fault_many_requests_in_flight_on_one_client(self, hedge_server: ScriptedServer) -> None:
        # One client, many concurrent requests, one in twenty with a slow
        # primary: every caller gets its own answer and the counts add up.
        # Under this load any primary may outlast the hedge delay, so every
        # attempt of a request is scripted with that request's own body.
        config = self.config()
        count = IN_FLIGHT
        for index in range(count):
            own = Reply(body=b"%d" % index)
            first = Reply(delay=self.slow, body=b"slow") if index % 20 == 0 else own
            hedge_server.script(f"/load/{index}", first, own, own, own)

        async def scenario(client: Any) -> list[Any]:
            requests = [self.request(client, "GET", hedge_server.url_for(f"/load/{i}")) for i in range(count)]
            responses = await asyncio.gather(*requests)
            await self.settle(hedge_server, "/load/0", 2)
            return responses

        responses = self.run_scenario(config, scenario)
        assert [r.body for r in responses] == [b"%d" % index for index in range(count)]
        snapshot = self.stats_of(config).snapshot()
        assert snapshot.total_requests == count
        assert snapshot.primary_wins + snapshot.hedge_wins == count
        assert snapshot.hedge_wins >= count // 20
        self.assert_no_connection_left(hedge_server)
