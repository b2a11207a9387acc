"""Amplification under stress, through the real engine on virtual time.

Traffic is an open loop of requests arriving at a fixed rate, each a task, so
many races overlap as they would in production. Latencies are drawn from a
seeded generator.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from hedge import Attempt, HedgeConfig, Hedger, RequestInfo, Stats
from hedge.testing import FakeClock, run_virtual

HEALTHY = RequestInfo.from_url("GET", "http://healthy.test/api", framework="sim")
SICK = RequestInfo.from_url("GET", "http://sick.test/api", framework="sim")


def healthy_latency(rng: random.Random) -> float:
    """Lognormal, mean 5 ms and sd 2 ms, with 5% stragglers ten times slower."""
    sigma = math.sqrt(math.log(1 + (0.002 / 0.005) ** 2))
    mu = math.log(0.005) - sigma**2 / 2
    latency = rng.lognormvariate(mu, sigma)
    return latency * 10 if rng.random() < 0.05 else latency


@dataclass
class Phase:
    seconds: float
    latency: Any  # (rng) -> seconds
    requests: int = 0
    hedges: int = 0
    delays: list[float] = field(default_factory=list)


def drive(
    hedger: Hedger, clock: FakeClock, phases: list[Phase], rate: float, info: RequestInfo, seed: int = 1
) -> list[Phase]:
    """Send ``rate`` requests per second through each phase in turn; count per phase."""
    rng = random.Random(seed)

    async def main() -> None:
        tasks: list[asyncio.Future[Any]] = []
        for phase in phases:
            end = clock() + phase.seconds
            while clock() < end:
                sent = [0]

                async def send(attempt: Attempt, phase: Phase = phase, sent: list[int] = sent) -> int:
                    if attempt.index:
                        phase.hedges += 1
                    sent[0] += 1
                    await asyncio.sleep(phase.latency(rng))
                    return attempt.index

                phase.requests += 1
                phase.delays.append(hedger.current_delay(hedger.key_for(info)))
                tasks.append(asyncio.ensure_future(hedger.run(info, send)))
                await asyncio.sleep(1.0 / rate)
        await asyncio.gather(*tasks)

    run_virtual(main, clock)
    return phases


def test_an_outage_cannot_amplify_load_beyond_the_budget() -> None:
    clock = FakeClock(0.0)
    config = HedgeConfig(stats=Stats())  # defaults: p90, 10% budget, floor 1/s
    hedger = Hedger(config, clock=clock, plugins=False)
    rate = 100.0
    healthy, outage, recovered = drive(
        hedger,
        clock,
        [
            Phase(60.0, healthy_latency),
            Phase(60.0, lambda rng: 0.5 + rng.random() * 0.5),  # every request slow
            Phase(120.0, healthy_latency),
        ],
        rate,
        HEALTHY,
    )
    # During the outage every request wanted a hedge; the budget held them to
    # 10% of the requests, plus the reserve the 20 s before had earned (10% of
    # their requests) and the floor (1/s).
    reserve = 0.10 * rate * 20
    bound = 0.10 * outage.requests + reserve + 1.0 * outage.seconds + 1
    assert outage.hedges <= bound, (outage.hedges, bound)
    assert outage.hedges <= 0.25 * outage.requests  # far from doubling the load
    assert outage.hedges >= 0.10 * outage.requests * 0.9  # and the budget was used, not frozen
    # Healthy: hedging on stragglers, well within budget (about 5-10% of requests).
    assert 0.02 * healthy.requests <= healthy.hedges <= 0.12 * healthy.requests
    # After recovery, hedging resumes...
    late = recovered.delays[len(recovered.delays) // 2 :]
    assert recovered.hedges >= 0.02 * recovered.requests
    # ... and the delay estimate recovers to the healthy one within two windows.
    healthy_delay = sorted(healthy.delays)[len(healthy.delays) // 2]
    assert max(late) <= 2 * healthy_delay
    assert max(outage.delays) > 10 * healthy_delay  # it had followed the outage up


def test_a_sick_host_does_not_starve_a_healthy_one() -> None:
    clock = FakeClock(0.0)
    hedger = Hedger(HedgeConfig(stats=Stats()), clock=clock, plugins=False)
    rng = random.Random(3)

    async def main() -> dict[str, int]:
        hedges = {"healthy": 0, "sick": 0}
        tasks = []
        for _ in range(6000):  # 60 s at 100 rps to each host
            for name, info, latency in (
                ("healthy", HEALTHY, healthy_latency(rng)),
                ("sick", SICK, 0.4 + rng.random()),
            ):

                async def send(attempt: Attempt, name: str = name, latency: float = latency) -> int:
                    if attempt.index:
                        hedges[name] += 1
                    await asyncio.sleep(latency if attempt.index == 0 else healthy_latency(rng))
                    return attempt.index

                tasks.append(asyncio.ensure_future(hedger.run(info, send)))
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)
        return hedges

    hedges = run_virtual(main, clock)
    stats = hedger.stats.keys()
    healthy, sick = stats["http://healthy.test:80"], stats["http://sick.test:80"]
    # The healthy host hedged its stragglers as if alone; its budget is its own.
    assert 0.03 * healthy.total_requests <= hedges["healthy"] <= 0.12 * healthy.total_requests
    assert healthy.budget_exhausted <= 0.01 * healthy.total_requests
    # The sick host was held to its own budget.
    assert hedges["sick"] <= 0.10 * sick.total_requests + 10 + 61


@pytest.mark.parametrize("estimated_rps", [None, 100.0])
def test_budget_modes_at_low_traffic(estimated_rps: float | None) -> None:
    # At 2 requests per second, every request slow: the proportional budget
    # allows 10% plus the 1/s floor; the seed's fixed bucket (100 rps assumed)
    # allows 10 per second, i.e. every request - the amplification it caused.
    clock = FakeClock(0.0)
    config = HedgeConfig(estimated_rps=estimated_rps, min_delay=0.1, max_delay=0.1, warmup_delay=0.1)
    hedger = Hedger(config, clock=clock, plugins=False)
    (phase,) = drive(hedger, clock, [Phase(120.0, lambda rng: 1.0)], 2.0, SICK)
    share = phase.hedges / phase.requests
    if estimated_rps is None:
        assert share <= 0.10 + 1.0 / 2.0 + 0.02
    else:
        assert share > 0.95
