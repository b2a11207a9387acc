"""hedge-urllib3 passes the conformance kit every adapter runs."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import urllib3
from hedge_urllib3 import HedgedPoolManager

from hedge import HedgeConfig
from hedge.testing import ContractResponse, SyncHttpAdapterContract


class TestUrllib3Contract(SyncHttpAdapterContract):
    connection_errors = (urllib3.exceptions.HTTPError,)
    read_errors = (urllib3.exceptions.HTTPError,)
    supports_stream_response = False

    @contextlib.contextmanager
    def open_sync_client(self, config: HedgeConfig) -> Iterator[HedgedPoolManager]:
        with HedgedPoolManager(config=config, timeout=10.0) as http:
            yield http

    def request_sync(
        self,
        client: HedgedPoolManager,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        stream_response: bool = False,
        hedge: bool | None = None,
    ) -> ContractResponse:
        payload: Any = iter([body or b""]) if stream_body else body
        response = client.request(method, url, body=payload, headers=headers, hedge=hedge)
        return ContractResponse(response.status, response.data, dict(response.headers))


def test_python_m_hedge_lists_the_plugin() -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "hedge"], capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in listing.splitlines() if line.startswith("urllib3 "))
    assert "hedge-urllib3 0.1.0" in line
    assert line.rstrip().endswith("ok")


def test_the_seed_style_lookup_finds_nothing_it_does_not_export() -> None:
    from hedge.adapters import AdapterSpec
    from hedge.plugins import discover_adapters

    (status,) = [s for s in discover_adapters() if s.spec.name == "urllib3"]
    assert isinstance(status.spec, AdapterSpec)
    assert status.spec.load("HedgedPoolManager") is HedgedPoolManager
