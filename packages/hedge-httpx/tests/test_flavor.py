"""How a request is described, judged replayable and copied (hedge_httpx._flavor)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hedge_httpx
from hedge import RequestInfo
from hedge_httpx._flavor import Flavor

SOURCES = Path(hedge_httpx.__file__).parent


@pytest.fixture
def flavor(framework: Any) -> Flavor:
    return Flavor(framework.module, framework.name)


@pytest.mark.parametrize(
    ("url", "target", "endpoint"),
    [
        ("https://API.example.com/v1/models?limit=2", "https://api.example.com:443", "/v1/models"),
        ("http://user:secret@example.com:8080/a/b#frag", "http://example.com:8080", "/a/b"),
        ("http://[::1]:9000/", "http://[::1]:9000", "/"),
        ("http://example.com", "http://example.com:80", "/"),
    ],
)
def test_describe(framework: Any, flavor: Flavor, url: str, target: str, endpoint: str) -> None:
    request = framework.module.Request("get", url, headers={"Idempotency-Key": "k"})
    info = flavor.describe(request)
    assert isinstance(info, RequestInfo)
    assert (info.method, info.target, info.path, info.framework) == ("GET", target, endpoint, framework.name)
    assert "idempotency-key" in info.headers


def test_replayable_bodies(framework: Any, flavor: Flavor) -> None:
    module = framework.module

    def chunks() -> Iterator[bytes]:
        yield b"x"

    assert flavor.replayable_body(module.Request("GET", "http://h/")) == b""
    assert flavor.replayable_body(module.Request("POST", "http://h/", content=b"raw")) == b"raw"
    assert flavor.replayable_body(module.Request("POST", "http://h/", data={"a": "1"})) == b"a=1"
    assert flavor.replayable_body(module.Request("POST", "http://h/", content=chunks())) is None
    assert flavor.replayable_body(module.Request("POST", "http://h/", files={"f": b"data"})) is None


def test_a_copy_has_its_own_stream_and_the_extra_headers(framework: Any, flavor: Flavor) -> None:
    module = framework.module
    original = module.Request(
        "POST", "http://h/p?q=1", content=b"body", extensions={"timeout": {"read": 1.0}}
    )
    copy = flavor.copy(original, b"body", {"x-hedge-attempt": "2"}, trace=print)
    assert copy.stream is not original.stream
    assert (copy.method, copy.url, copy.content) == ("POST", original.url, b"body")
    assert copy.headers["x-hedge-attempt"] == "2"
    assert "x-hedge-attempt" not in original.headers
    assert copy.headers["content-length"] == "4"
    assert copy.extensions == {"timeout": {"read": 1.0}, "trace": print}
    assert "trace" not in original.extensions


def test_httpx2_binding_mirrors_the_httpx_one() -> None:
    # The two framework modules must differ only in the framework's name, so
    # that a fix to one cannot be forgotten in the other.
    httpx_source = (SOURCES / "_httpx.py").read_text()
    httpx2_source = (SOURCES / "_httpx2.py").read_text()
    assert re.sub(r"(?<=[hH]ttpx)2", "", httpx2_source) == httpx_source


def test_transports_of_the_other_framework_are_rejected(frameworks: list[Any]) -> None:
    by_name = {framework.name: framework for framework in frameworks}
    pairs = [
        (by_name[a], by_name[b])
        for a, b in (("httpx", "httpx2"), ("httpx2", "httpx"))
        if {a, b} <= set(by_name)
    ]
    for framework, other in pairs:
        with pytest.raises(TypeError, match=f"inner must be an {framework.name}.AsyncBaseTransport"):
            framework.async_transport(inner=other.module.AsyncHTTPTransport())
    # With one framework installed there is no other to mix up.
    assert len(pairs) == (2 if len(by_name) == 2 else 0)
