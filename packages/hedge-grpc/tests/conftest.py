"""Fixtures: the compiled Catalog service, scripted servers, and loop hygiene checks."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hedge_grpc_support import Script, catalog_modules, start_aio_server, start_sync_server


def pytest_report_header() -> str:
    import google.protobuf

    return f"grpcio {grpc.__version__}, protobuf {google.protobuf.__version__}"


@pytest.fixture(scope="session")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType]:
    """``(catalog_pb2, catalog_pb2_grpc)``, generated for the grpcio under test."""
    return catalog_modules(tmp_path_factory.mktemp("generated"))


@pytest.fixture
def pb2(catalog: tuple[ModuleType, ModuleType]) -> ModuleType:
    return catalog[0]


@pytest.fixture
def stub_class(catalog: tuple[ModuleType, ModuleType]) -> Any:
    return catalog[1].CatalogStub


@pytest.fixture
def script() -> Script:
    return Script()


class AioServer:
    def __init__(self, script: Script, port: int) -> None:
        self.script = script
        self.port = port
        self.target = f"127.0.0.1:{port}"


@pytest.fixture
async def aio_server(script: Script, catalog: tuple[ModuleType, ModuleType]) -> AsyncIterator[AioServer]:
    """A grpc.aio Catalog server on 127.0.0.1, on the test's event loop."""
    server, port = await start_aio_server(script, *catalog)
    try:
        yield AioServer(script, port)
    finally:
        await server.stop(None)


@pytest.fixture
def sync_server(script: Script, catalog: tuple[ModuleType, ModuleType]) -> Iterator[AioServer]:
    """A thread-pool grpc.server Catalog server on 127.0.0.1."""
    server, port = start_sync_server(script, *catalog)
    try:
        yield AioServer(script, port)
    finally:
        server.stop(None).wait()


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Fail the test on any error the event loop reports (a task destroyed pending, an
    exception never retrieved, a callback that raised)."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        yield errors
        gc.collect()
        await asyncio.sleep(0)
        assert errors == [], f"the event loop reported errors: {errors}"
    finally:
        loop.set_exception_handler(previous)
