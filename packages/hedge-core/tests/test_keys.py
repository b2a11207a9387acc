from __future__ import annotations

import pytest

from hedge import HedgeConfig, Hedger, RequestInfo, _keys
from hedge._keys import RELATIVE_TARGET


@pytest.mark.parametrize(
    ("url", "target", "endpoint"),
    [
        (
            "https://api.example.com/v1/models?limit=5",
            "https://api.example.com:443",
            "https://api.example.com:443/v1/models",
        ),
        ("http://Example.COM:8080/a/b#frag", "http://example.com:8080", "http://example.com:8080/a/b"),
        (
            "https://user:s3cret@example.com/private",
            "https://example.com:443",
            "https://example.com:443/private",
        ),
        ("http://[::1]:9000/x", "http://[::1]:9000", "http://[::1]:9000/x"),
        ("http://[2001:db8::1]/", "http://[2001:db8::1]:80", "http://[2001:db8::1]:80/"),
        ("http://example.com./trailing-dot", "http://example.com:80", "http://example.com:80/trailing-dot"),
        ("grpc://10.0.0.1:50051/pkg.Svc/Get", "grpc://10.0.0.1:50051", "grpc://10.0.0.1:50051/pkg.Svc/Get"),
        ("unix://socket-host", "unix://socket-host", "unix://socket-host/"),
    ],
)
def test_targets_and_endpoints_from_urls(url: str, target: str, endpoint: str) -> None:
    info = RequestInfo.from_url("get", url)
    assert info.method == "GET"
    assert info.target == target
    assert info.endpoint == endpoint
    assert "s3cret" not in repr(info)
    assert "user" not in info.target


@pytest.mark.parametrize("url", ["/users?id=5", "/users?id=6", "relative/path?q=1", ""])
def test_relative_urls_share_one_target_and_never_key_on_the_query(url: str) -> None:
    info = RequestInfo.from_url("GET", url)
    assert info.target == RELATIVE_TARGET
    assert info.endpoint == RELATIVE_TARGET


def test_relative_urls_resolve_against_a_base_url() -> None:
    info = RequestInfo.from_url("GET", "/users?id=5", base_url="https://api.example.com/v2/")
    assert info.target == "https://api.example.com:443"
    assert info.endpoint == "https://api.example.com:443/users"
    nested = RequestInfo.from_url("GET", "users", base_url="https://api.example.com/v2/")
    assert nested.endpoint == "https://api.example.com:443/v2/users"


def test_a_bad_port_is_an_error() -> None:
    for _ in range(2):  # every time: a failed parse is never remembered
        with pytest.raises(ValueError, match="[Pp]ort"):
            RequestInfo.from_url("GET", "http://example.com:99999/")


def test_parsed_addresses_are_remembered_per_scheme_and_stay_bounded() -> None:
    # One netloc under two schemes: each keeps its own default port.
    assert RequestInfo.from_url("GET", "http://Example.com/a").target == "http://example.com:80"
    assert RequestInfo.from_url("GET", "https://Example.com/a").target == "https://example.com:443"
    assert RequestInfo.from_url("GET", "http://Example.com/b").target == "http://example.com:80"
    for index in range(_keys._ADDRESSES_MAX + 10):
        RequestInfo.from_url("GET", f"http://host-{index}.example/")
    assert len(_keys._ADDRESSES) <= _keys._ADDRESSES_MAX


def test_target_names_are_remembered_and_stay_bounded() -> None:
    hedger = Hedger(HedgeConfig(max_keys=8), plugins=False)
    ipv6 = RequestInfo("GET", "http", "::1", 9000, "/x")
    assert hedger.key_for(ipv6) == hedger.key_for(ipv6) == "http://[::1]:9000"
    for index in range(20):
        info = RequestInfo("GET", "http", f"h{index}", 80, "/")
        assert hedger.key_for(info) == f"http://h{index}:80"
    assert len(hedger._target_names) <= 8


def test_key_levels_and_key_func() -> None:
    info = RequestInfo.from_url("GET", "https://a.example/items/7?x=1")
    assert Hedger(HedgeConfig(), plugins=False).key_for(info) == "https://a.example:443"
    assert (
        Hedger(HedgeConfig(key_level="endpoint"), plugins=False).key_for(info)
        == "https://a.example:443/items/7"
    )
    templated = Hedger(HedgeConfig(key_func=lambda r: f"{r.host}/items/{{id}}"), plugins=False)
    assert templated.key_for(info) == "a.example/items/{id}"
    broken = Hedger(HedgeConfig(key_func=lambda r: 42), plugins=False)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="key_func must return a str"):
        broken.key_for(info)


def test_eligibility_rules() -> None:
    hedger = Hedger(HedgeConfig(idempotency_key_header="Idempotency-Key"), plugins=False)
    get = RequestInfo.from_url("GET", "http://h/")
    post = RequestInfo.from_url("POST", "http://h/")
    keyed = RequestInfo.from_url("POST", "http://h/", headers={"Idempotency-Key": "k"})
    assert hedger.is_eligible(get)
    assert not hedger.is_eligible(post)
    assert hedger.is_eligible(keyed)
    assert hedger.is_eligible(post, hedge=True)
    assert not hedger.is_eligible(get, hedge=False)
    assert not hedger.is_eligible(get, hedge=True, replayable=False)
    assert hedger.is_eligible(post, safe=True)
    assert not hedger.is_eligible(get, safe=False)
    plain = Hedger(HedgeConfig(), plugins=False)
    assert not plain.is_eligible(keyed)  # the header alone is not enough unless configured
