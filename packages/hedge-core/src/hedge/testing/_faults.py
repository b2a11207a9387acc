"""The fault matrix of the conformance kit: what an adapter does when things break.

Mixed into :class:`~hedge.testing.HttpAdapterContract`, so every HTTP adapter
runs it. Each scenario checks the three things that matter when a server
misbehaves: the caller gets the outcome the framework itself would have
produced (its own exception types and responses), nothing is sent more often
than allowed, and nothing leaks (no connection left open at the server, no
unclosed-resource warning, no unhandled event-loop error).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ._kit import ContractBase, ContractResponse
from ._server import Reply, ScriptedServer

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
        hedge_server.script("/gone", *[Reply(fault="reset")] * (2 * races))

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
