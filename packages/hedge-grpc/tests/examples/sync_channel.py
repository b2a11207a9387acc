"""Hedging the idempotent calls of a synchronous channel."""

from __future__ import annotations

import catalog_pb2
import catalog_pb2_grpc
import grpc

from hedge import HedgeConfig
from hedge_grpc import SyncHedgedServerStreamInterceptor, SyncHedgedUnaryInterceptor


def main(target: str) -> dict[str, object]:
    unary = SyncHedgedUnaryInterceptor(
        HedgeConfig(attempt_header="x-hedge-attempt"),  # hedges carry ("x-hedge-attempt", "1")
        idempotent_methods=["/catalog.v1.Catalog/CreateItem"],  # safe to repeat, says its owner
    )
    streams = SyncHedgedServerStreamInterceptor(hedger=unary.hedger)
    try:
        with grpc.insecure_channel(target) as plain:
            channel = grpc.intercept_channel(plain, unary, streams)
            stub = catalog_pb2_grpc.CatalogStub(channel)

            created = stub.CreateItem(catalog_pb2.Item(id="43"))
            item, call = stub.GetItem.with_call(catalog_pb2.GetItemRequest(id="42"), timeout=5.0)
            future = stub.GetItem.future(catalog_pb2.GetItemRequest(id="44"))
            updates = list(stub.WatchItem(catalog_pb2.GetItemRequest(id="45")))
            return {
                "item": item,
                "code": call.code(),
                "created": created,
                "future": future.result(),
                "updates": updates,
            }
    finally:
        unary.close()  # stops the worker threads of the shared Hedger
