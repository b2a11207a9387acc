"""The examples in the README and the docs run, and say what they show.

Every Python block of ``README.md`` and ``docs/pages/adapters/httpx.md`` is a
verbatim copy of a file in ``tests/examples/``, and each example runs here
against a local server (those whose framework is not installed are not
collected).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from hedge.testing import Reply, ScriptedServer

EXAMPLES = Path(__file__).parent / "examples"
PACKAGE = Path(__file__).resolve().parents[1]
DOCS = PACKAGE.parents[1] / "docs" / "pages" / "adapters" / "httpx.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _needs(path: Path) -> set[str]:
    text = path.read_text()
    return set(re.findall(r"^(?:import|from) (httpx2|httpx|openai)\b", text, re.MULTILINE))


def _runnable(name: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in _needs(EXAMPLES / f"{name}.py"))


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"hedge_httpx_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("source", [PACKAGE / "README.md", DOCS], ids=lambda path: path.name)
def test_documented_code_is_a_tested_example(source: Path) -> None:
    examples = {path.name: path.read_text() for path in EXAMPLES.glob("*.py")}
    blocks = BLOCK.findall(source.read_text())
    assert blocks, f"{source} shows no Python example"
    for block in blocks:
        assert any(block in text for text in examples.values()), f"not an example file:\n{block}"


def test_every_example_is_documented() -> None:
    documented = "".join(BLOCK.findall((PACKAGE / "README.md").read_text() + DOCS.read_text()))
    for path in EXAMPLES.glob("*.py"):
        main = re.search(r"^(async )?def main\(.*$", path.read_text(), re.MULTILINE)
        assert main is not None and main.group(0) in documented, f"{path.name} is shown nowhere"


def _async_client(example: ModuleType, server: ScriptedServer) -> None:
    server.script("/items", Reply(delay=5.0), Reply(status=201))
    # The default warm-up delay (10 ms) applies: the slow primary loses.
    assert asyncio.run(example.main(server.url_for("/items"))) == 201
    assert len(server.requests_to("/items")) == 2


def _sync_client(example: ModuleType, server: ScriptedServer) -> None:
    assert example.main(server.url_for("/items")) == 200


def _per_request(example: ModuleType, server: ScriptedServer) -> None:
    server.script("/export", Reply(delay=0.5))
    # The default budget allows one hedge per second at this traffic: the write takes it.
    server.script("/payments", Reply(delay=5.0, status=201), Reply(status=201))
    assert asyncio.run(example.main(server.url)) == [200, 200, 201]
    assert len(server.requests_to("/export")) == 1
    assert len(server.requests_to("/search")) == 1
    payments = server.requests_to("/payments")
    assert [r.headers.get("x-hedge-attempt") for r in payments] == [None, "1"]
    assert payments[0].headers["idempotency-key"] == payments[1].headers["idempotency-key"]
    assert payments[0].body == payments[1].body
    assert json.loads(payments[1].body) == {"amount": 10}


def _streaming(example: ModuleType, server: ScriptedServer) -> None:
    server.script(
        "/events",
        Reply(chunks=[b"data: late\n\n"], body_delay=5.0),
        Reply(chunks=[b"data: first\n\n", b"data: second\n\n"]),
    )
    # The default warm-up delay (10 ms) applies: the late primary loses.
    assert asyncio.run(example.main(server.url_for("/events"))) == ["first", "second"]


def _httpx2_client(example: ModuleType, server: ScriptedServer) -> None:
    assert asyncio.run(example.main(server.url_for("/items"))) == [200, 200]


def _openai_sdk(example: ModuleType, server: ScriptedServer) -> None:
    models = {"object": "list", "data": [{"id": "m-1", "object": "model", "created": 0, "owned_by": "o"}]}
    completion = {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "m-1",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}
        ],
    }
    headers = {"content-type": "application/json"}
    server.script("/v1/models", Reply(delay=5.0), Reply(body=json.dumps(models).encode(), headers=headers))
    server.script(
        "/v1/chat/completions", Reply(delay=0.5, body=json.dumps(completion).encode(), headers=headers)
    )
    assert asyncio.run(example.main(server.url + "/v1", "test-key")) == (["m-1"], "Hi!")
    assert len(server.requests_to("/v1/models")) == 2
    assert len(server.requests_to("/v1/chat/completions")) == 1


SCENARIOS = {
    "async_client": _async_client,
    "seed_import": _async_client,
    "sync_client": _sync_client,
    "per_request": _per_request,
    "streaming": _streaming,
    "httpx2_client": _httpx2_client,
    "openai_sdk": _openai_sdk,
}


def test_every_example_has_a_scenario() -> None:
    assert {path.stem for path in EXAMPLES.glob("*.py")} == set(SCENARIOS)


# Examples whose framework is not installed are not collected (a nox row
# installs one framework); the list is never empty when one is.
@pytest.mark.parametrize("name", [name for name in sorted(SCENARIOS) if _runnable(name)])
def test_example_runs(name: str, server: ScriptedServer) -> None:
    SCENARIOS[name](_load(name), server)
