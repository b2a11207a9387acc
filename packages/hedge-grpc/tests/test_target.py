"""Channel targets become the budget target of every call."""

from __future__ import annotations

import pytest

from hedge_grpc import parse_target
from hedge_grpc._target import UNKNOWN_HOST, channel_target


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("localhost:50051", ("localhost", 50051)),
        ("Catalog.Example.COM:443", ("catalog.example.com", 443)),
        ("catalog.example.com", ("catalog.example.com", 443)),
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("[::1]:50051", ("::1", 50051)),
        ("[::1]", ("::1", 443)),
        ("::1", ("::1", 443)),
        ("dns:///catalog.example.com:8443", ("catalog.example.com", 8443)),
        ("dns://8.8.8.8/catalog.example.com", ("catalog.example.com", 443)),
        ("ipv4:10.0.0.1:50051", ("10.0.0.1", 50051)),
        ("ipv6:[::1]:50051", ("::1", 50051)),
        ("unix:/run/catalog.sock", ("unix:/run/catalog.sock", None)),
        ("unix:///run/Catalog.sock", ("unix:///run/catalog.sock", None)),
        ("xds:///catalog", ("xds:///catalog", None)),
        ("ipv4:10.0.0.1:1,10.0.0.2:1", ("ipv4:10.0.0.1:1,10.0.0.2:1", None)),
        ("host:99999", ("host:99999", None)),
        (":50051", (UNKNOWN_HOST, None)),
    ],
)
def test_parse_target(target: str, expected: tuple[str, int | None]) -> None:
    assert parse_target(target) == expected


def test_unknown_continuations_have_no_target() -> None:
    assert channel_target(lambda details, request: None) is None
    assert channel_target(object()) is None
