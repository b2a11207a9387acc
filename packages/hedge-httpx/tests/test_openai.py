"""The OpenAI Python SDK on a hedged transport, against a local fake API.

The SDK runs on httpx (openai 1.x/2.x) or httpx2 (3.x, which also accepts
an httpx client). Each installed framework the installed SDK accepts is
tested. The SDK's own retries are off, so the fake server's request counts
are the hedging alone: model listing (GET) is hedged, chat completions
(POST) are sent exactly once, however slow.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
from collections.abc import Callable
from typing import Any

import openai
import pytest

from hedge.testing import Reply, ScriptedServer, free_port

MODELS = json.dumps(
    {"object": "list", "data": [{"id": "m-1", "object": "model", "created": 0, "owned_by": "hedge"}]}
).encode()
COMPLETION = json.dumps(
    {
        "id": "c-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m-1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hi"},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
    }
).encode()
CHUNK = json.dumps(
    {
        "id": "c-2",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m-1",
        "choices": [{"index": 0, "delta": {"content": "tok"}, "finish_reason": None}],
    }
)
JSON = {"content-type": "application/json"}
SSE = {"content-type": "text/event-stream"}


def _accepts(name: str) -> bool:
    """Whether the installed SDK works on a client of framework ``name``.

    Some SDK releases take a client they then refuse to use (openai 2.x
    takes an httpx2 client but needs Python 3.10 to drive it), so the check
    is a real call, to a port where nothing listens.
    """
    if importlib.util.find_spec(name) is None:
        return False
    http_client = importlib.import_module(name).Client()
    try:
        client = openai.OpenAI(
            api_key="k", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0, http_client=http_client
        )
        client.models.list()
    except openai.APIConnectionError:
        return True
    except (TypeError, RuntimeError):
        return False
    finally:
        http_client.close()
    raise AssertionError("a request to a closed port succeeded")


ACCEPTED = [name for name in ("httpx", "httpx2") if _accepts(name)]


@pytest.fixture(params=ACCEPTED)
def framework(request: pytest.FixtureRequest, frameworks: list[Any]) -> Any:
    """The installed frameworks the installed SDK accepts (overrides conftest's)."""
    return next(framework for framework in frameworks if framework.name == request.param)


def test_the_sdk_accepts_an_installed_framework() -> None:
    assert ACCEPTED, f"openai {openai.__version__} accepts no installed framework"


class SDK:
    """The SDK client of the kit's form, on a hedged transport, driven from async code."""

    def __init__(self, kit: Any, server: ScriptedServer, config: Any) -> None:
        self.mode = kit.mode
        module = kit.module
        base_url = server.url + "/v1"
        if kit.mode == "async":
            self.transport = kit.framework.async_transport(config=config)
            http_client = module.AsyncClient(transport=self.transport)
            self.client: Any = openai.AsyncOpenAI(
                api_key="k", base_url=base_url, max_retries=0, http_client=http_client
            )
        else:
            self.transport = kit.framework.sync_transport(config=config)
            http_client = module.Client(transport=self.transport)
            self.client = openai.OpenAI(
                api_key="k", base_url=base_url, max_retries=0, http_client=http_client
            )

    async def call(self, function: Callable[[Any], Any]) -> Any:
        if self.mode == "async":
            return await function(self.client)
        return await asyncio.to_thread(function, self.client)

    async def close(self) -> None:
        if self.mode == "async":
            await self.client.close()
        else:
            await asyncio.to_thread(self.client.close)


def test_model_listing_is_hedged(kit: Any, server: ScriptedServer) -> None:
    server.script(
        "/v1/models", Reply(delay=kit.slow, body=MODELS, headers=JSON), Reply(body=MODELS, headers=JSON)
    )

    async def main() -> Any:
        sdk = SDK(kit, server, kit.config())
        try:
            models = await sdk.call(lambda client: client.models.list())
            return [model.id for model in models.data], sdk.transport.stats.snapshot()
        finally:
            await sdk.close()

    ids, snapshot = kit.run(main)
    assert ids == ["m-1"]
    assert [r.method for r in server.requests_to("/v1/models")] == ["GET", "GET"]
    assert (snapshot.hedges_sent, snapshot.hedge_wins) == (1, 1)


def test_chat_completions_are_sent_once(kit: Any, server: ScriptedServer) -> None:
    slow = kit.hedge_delay * 10
    server.script("/v1/chat/completions", Reply(delay=slow, body=COMPLETION, headers=JSON))

    def create(client: Any) -> Any:
        return client.chat.completions.create(model="m-1", messages=[{"role": "user", "content": "hello"}])

    async def main() -> Any:
        sdk = SDK(kit, server, kit.config())
        try:
            completion = await sdk.call(create)
            return completion.choices[0].message.content, sdk.transport.stats.snapshot()
        finally:
            await sdk.close()

    content, snapshot = kit.run(main)
    assert content == "hi"
    (received,) = server.requests_to("/v1/chat/completions")
    assert received.method == "POST"
    assert json.loads(received.body)["messages"] == [{"role": "user", "content": "hello"}]
    assert (snapshot.passthrough_requests, snapshot.hedges_sent) == (1, 0)


def test_streamed_chat_completions_are_sent_once(kit: Any, server: ScriptedServer) -> None:
    events = [f"data: {CHUNK}\n\n".encode(), b"data: [DONE]\n\n"]
    server.script("/v1/chat/completions", Reply(chunks=events, body_delay=kit.hedge_delay * 10, headers=SSE))

    def stream_async(client: Any) -> Any:
        async def collect() -> list[str]:
            stream = await client.chat.completions.create(
                model="m-1", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            return [chunk.choices[0].delta.content async for chunk in stream]

        return collect()

    def stream_sync(client: Any) -> list[str]:
        stream = client.chat.completions.create(
            model="m-1", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        return [chunk.choices[0].delta.content for chunk in stream]

    async def main() -> Any:
        sdk = SDK(kit, server, kit.config(race_on="first_byte"))
        try:
            return await sdk.call(stream_async if kit.mode == "async" else stream_sync)
        finally:
            await sdk.close()

    assert kit.run(main) == ["tok"]
    assert len(server.requests_to("/v1/chat/completions")) == 1
