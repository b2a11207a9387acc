"""Eligibility, status judgement and argument validation shared by every interceptor."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from hedge import HedgeConfig, Hedger, RetryAfter, Verdict
from hedge_grpc import HedgedUnaryInterceptor, SyncHedgedUnaryInterceptor
from hedge_grpc._idempotency import IdempotencyTable, declared_idempotent
from hedge_grpc._policy import GrpcClassifier, pushback_judgement, read_override

CATALOG = "/catalog.v1.Catalog/"


def test_idempotency_level_is_read_from_the_descriptor_pool(catalog: Any) -> None:
    assert declared_idempotent(CATALOG + "GetItem")  # NO_SIDE_EFFECTS
    assert declared_idempotent(CATALOG + "PutItem")  # IDEMPOTENT
    assert declared_idempotent(CATALOG + "WatchItem")
    assert not declared_idempotent(CATALOG + "CreateItem")  # no option
    assert not declared_idempotent(CATALOG + "ExportItems")


@pytest.mark.parametrize(
    "name", ["/catalog.v1.Catalog/Missing", "/no.such.Service/GetItem", "/broken", "", "//", "nothing"]
)
def test_unknown_methods_are_not_idempotent(catalog: Any, name: str) -> None:
    assert not declared_idempotent(name)


def test_answers_are_cached(catalog: Any) -> None:
    table = IdempotencyTable()
    assert table(CATALOG + "GetItem") and table(CATALOG + "GetItem")
    assert not table(CATALOG + "CreateItem")
    assert table._answers == {CATALOG + "GetItem": True, CATALOG + "CreateItem": False}


def test_is_safe_combines_declaration_allowlist_and_opt_in(catalog: Any) -> None:
    declared = HedgedUnaryInterceptor()._policy
    assert declared.is_safe(CATALOG + "GetItem")
    assert not declared.is_safe(CATALOG + "CreateItem")

    listed = HedgedUnaryInterceptor(
        idempotent_methods=["catalog.v1.Catalog/CreateItem", "/other.Service/*"]
    )._policy
    assert listed.is_safe(CATALOG + "CreateItem")
    assert listed.is_safe("/other.Service/Anything")
    assert not listed.is_safe("/other.ServiceB/Anything")

    assert HedgedUnaryInterceptor(hedge_all_methods=True)._policy.is_safe("/x.Y/Delete")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, Verdict.RETRY),
        ((("other", "1"),), Verdict.RETRY),
        ((("grpc-retry-pushback-ms", "250"),), RetryAfter(0.25)),
        ((("grpc-retry-pushback-ms", "0"),), RetryAfter(0.0)),
        ((("grpc-retry-pushback-ms", "-1"),), RetryAfter(-1)),
        ((("grpc-retry-pushback-ms", "-9223372036854775808"),), RetryAfter(-1)),
        ((("grpc-retry-pushback-ms", "2147483647"),), RetryAfter(2147483.647)),
        ((("grpc-retry-pushback-ms", "2147483648"),), RetryAfter(-1)),
        ((("grpc-retry-pushback-ms", "007"),), RetryAfter(-1)),
        ((("grpc-retry-pushback-ms", "+5"),), RetryAfter(-1)),
        ((("grpc-retry-pushback-ms", " 5"),), RetryAfter(-1)),
        ((("grpc-retry-pushback-ms", "1.5"),), RetryAfter(-1)),
        ((("grpc-retry-pushback-ms", "abc"),), RetryAfter(-1)),
        ((("grpc-retry-pushback-ms", b"100"),), RetryAfter(0.1)),
        ((("grpc-retry-pushback-ms", b"\xff"),), RetryAfter(-1)),
    ],
)
def test_pushback_follows_gRFC_A6(value: Any, expected: Any) -> None:
    assert pushback_judgement(value) == expected


def test_classifier_splits_fatal_and_non_fatal_codes() -> None:
    classifier = GrpcClassifier(frozenset({grpc.StatusCode.UNAVAILABLE}))
    assert classifier.judge(None, None) is Verdict.ACCEPT  # a stream still running
    assert classifier.judge(grpc.StatusCode.OK, None) is Verdict.ACCEPT
    assert classifier.judge(grpc.StatusCode.UNAVAILABLE, None) is Verdict.RETRY
    assert classifier.judge(grpc.StatusCode.INTERNAL, None) is Verdict.FATAL
    assert classifier.classify_error(ValueError("bug")) is Verdict.FATAL


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("0", False), (b"on", True), ("No", False)])
def test_override_values(value: Any, expected: bool) -> None:
    assert read_override(value) is expected


def test_override_rejects_other_values() -> None:
    with pytest.raises(ValueError, match="x-hedge"):
        read_override("sometimes")


@pytest.mark.parametrize("interceptor", [HedgedUnaryInterceptor, SyncHedgedUnaryInterceptor])
def test_key_level_is_per_method_and_a_shared_hedger_is_used_as_is(interceptor: Any) -> None:
    built = interceptor(HedgeConfig(key_level="host", percentile=0.95))
    assert built.config.key_level == "endpoint" and built.config.percentile == 0.95
    shared = Hedger(HedgeConfig())
    assert interceptor(hedger=shared).hedger is shared
    built.close()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"config": {"percentile": 0.9}}, TypeError, "config must be a hedge.HedgeConfig"),
        ({"config": HedgeConfig(), "hedger": Hedger()}, TypeError, "either config or hedger"),
        ({"hedger": "engine"}, TypeError, "hedger must be"),
        ({"target": ""}, TypeError, "target"),
        ({"idempotent_methods": "/a.B/C"}, TypeError, "idempotent_methods must be a collection"),
        ({"idempotent_methods": ["GetItem"]}, ValueError, "'/package.Service/Method'"),
        ({"hedge_all_methods": "yes"}, TypeError, "hedge_all_methods must be a bool"),
        ({"non_fatal_status_codes": "UNAVAILABLE"}, TypeError, "non_fatal_status_codes must be"),
        ({"non_fatal_status_codes": ["UNAVAIL"]}, ValueError, "unknown status code"),
        ({"non_fatal_status_codes": [14]}, TypeError, "grpc.StatusCode"),
        ({"non_fatal_status_codes": [grpc.StatusCode.OK]}, ValueError, "cannot contain OK"),
        ({"config": HedgeConfig(attempt_header="x-attempt-bin")}, ValueError, "attempt_header"),
    ],
)
def test_bad_arguments_are_rejected_at_construction(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        HedgedUnaryInterceptor(**kwargs)


def test_status_code_names_are_accepted() -> None:
    policy = HedgedUnaryInterceptor(non_fatal_status_codes=["unavailable", grpc.StatusCode.ABORTED])._policy
    assert policy.non_fatal == {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED}
