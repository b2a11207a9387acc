"""Hedging the idempotent calls of a grpc.aio channel."""

from __future__ import annotations

import catalog_pb2
import catalog_pb2_grpc
import grpc

from hedge import HedgeConfig
from hedge_grpc import HedgedServerStreamInterceptor, HedgedUnaryInterceptor


async def main(target: str) -> dict[str, object]:
    config = HedgeConfig(percentile=0.95, attempt_header="x-hedge-attempt")
    unary = HedgedUnaryInterceptor(config, target=target)
    # One Hedger for both interceptors: one budget per target for all the calls.
    streams = HedgedServerStreamInterceptor(hedger=unary.hedger, target=target)

    async with grpc.aio.insecure_channel(target, interceptors=[unary, streams]) as channel:
        stub = catalog_pb2_grpc.CatalogStub(channel)

        # GetItem is declared NO_SIDE_EFFECTS in the .proto: hedged when slow.
        call = stub.GetItem(catalog_pb2.GetItemRequest(id="42"))
        item = await call
        metadata = await call.initial_metadata()  # the winning attempt's metadata
        served_by = metadata.get("served-attempt")

        # CreateItem declares no idempotency level: sent exactly once.
        created = await stub.CreateItem(catalog_pb2.Item(id="43"))

        # Per call: ("x-hedge", "false") turns hedging off, "true" forces it on.
        unhedged = await stub.GetItem(catalog_pb2.GetItemRequest(id="44"), metadata=(("x-hedge", "false"),))

        # A server stream races on its first message; the winner keeps streaming.
        updates = [update async for update in stub.WatchItem(catalog_pb2.GetItemRequest(id="45"))]

    return {
        "item": item,
        "served_by": served_by,
        "created": created,
        "unhedged": unhedged,
        "updates": updates,
        "stats": unary.stats.snapshot(),
    }
