"""The examples of docs/pages/adapters/grpc.md run against the scripted servers, and match the page."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest

from hedge_grpc_support import SLOW, Plan

EXAMPLES = Path(__file__).parent / "examples"
DOCS = Path(__file__).parents[3] / "docs" / "pages" / "adapters" / "grpc.md"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"hedge_grpc_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("loop_errors")
async def test_aio_example(aio_server: Any, catalog: Any) -> None:
    script = aio_server.script
    script.script("42", Plan(delay=SLOW), Plan())
    # The default budget allows a hedge per second on top of 10% of the calls:
    # these two take over a second, so the stream may be hedged as well.
    script.script("43", Plan(delay=0.6))
    script.script("44", Plan(delay=0.6))
    script.script("45", Plan(delay=SLOW), Plan(messages=2))

    result = await load("aio_channel").main(aio_server.target)

    assert result["item"].attempt == 1 and result["served_by"] == "1"
    assert result["created"].attempt == 0 and len(script.of("43")) == 1
    assert result["unhedged"].attempt == 0 and len(script.of("44")) == 1
    assert [(update.attempt, update.seq) for update in result["updates"]] == [(1, 0), (1, 1)]
    assert result["stats"].hedges_sent == 2  # one budget for both interceptors


def test_sync_example(sync_server: Any, catalog: Any) -> None:
    script = sync_server.script
    script.script("43", Plan(delay=SLOW), Plan())
    script.script("45", Plan(messages=2))

    result = load("sync_channel").main(sync_server.target)

    assert result["created"].attempt == 1  # allowed by name, so hedged
    assert script.of("43")[1].metadata["x-hedge-attempt"] == "1"
    assert result["item"].id == "42" and result["code"] is grpc.StatusCode.OK
    assert result["future"].id == "44"
    assert [update.seq for update in result["updates"]] == [0, 1]


@pytest.mark.parametrize("name", ["aio_channel", "sync_channel"])
def test_docs_show_the_tested_examples(name: str) -> None:
    assert (EXAMPLES / f"{name}.py").read_text() in DOCS.read_text()
