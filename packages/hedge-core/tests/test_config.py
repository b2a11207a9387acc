from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from hedge import HedgeConfig, Stats
from hedge._config import RULES

# field -> values that must be rejected, and the range the message must state.
BAD_VALUES: dict[str, tuple[list[Any], list[Any], str]] = {
    # field: (wrong types -> TypeError, out of range -> ValueError, text in the message)
    "percentile": (["0.9", None, True], [0, 1, 90, -0.1, 1.5, math.nan, math.inf], "(0, 1)"),
    "max_hedges": ([1.0, "1", None, True], [-1, 11, 100], "[0, 10]"),
    "budget_percent": (["10", None, False], [-1, 100.1, math.nan, math.inf], "[0, 100]"),
    "estimated_rps": (["100", True], [0, -5, math.nan, math.inf], "(0, inf)"),
    "min_delay": (["0.001", None], [-0.001, math.nan, math.inf], "[0, inf)"),
    "max_delay": (["1", None], [0, -1, math.nan, math.inf], "(0, inf)"),
    "warmup_requests": ([20.0, "20", None, True], [-1, 1_000_001], "[0, 1000000]"),
    "warmup_delay": (["0.01", None], [-0.01, math.nan, math.inf], "[0, inf)"),
    "window_duration": (["30", None], [0, -30, math.nan, math.inf], "(0, inf)"),
    "budget_floor": (["1", None], [-1, math.nan, math.inf], "[0, inf)"),
    "max_keys": ([10.5, "10", None], [0, -1, 10_000_001], "[1, 10000000]"),
    "key_level": ([1, None], ["path", "HOST", ""], "('host', 'endpoint')"),
    "race_on": ([1, None], ["body", "first-byte"], "('headers', 'first_byte')"),
    "relative_accuracy": (["0.01", None], [0, 0.6, -0.01, math.nan], "(0, 0.5]"),
    "idempotency_key_header": ([1, b"Idempotency-Key"], ["", "has space", "colon:"], "header name"),
    "attempt_header": ([1, b"x"], ["", "bad header"], "header name"),
}


def test_defaults_match_the_seed_where_the_seed_was_right() -> None:
    config = HedgeConfig()
    assert config.percentile == 0.90
    assert config.max_hedges == 1
    assert config.budget_percent == 10.0
    assert config.min_delay == 0.001
    assert config.warmup_requests == 20
    assert config.warmup_delay == 0.01
    assert config.window_duration == 30.0
    assert config.stats is None
    # The seed's fixed 100 rps bucket allowed 10 hedges/s at any load; the
    # default is now the traffic-proportional budget.
    assert config.estimated_rps is None
    assert config.hedge_methods == frozenset({"GET", "HEAD", "OPTIONS"})
    assert config.attempt_header is None
    assert config.race_on == "headers"


@pytest.mark.parametrize("field", sorted(BAD_VALUES))
def test_wrong_types_raise_type_error_naming_the_field(field: str) -> None:
    wrong_types, _, _ = BAD_VALUES[field]
    for value in wrong_types:
        with pytest.raises(TypeError, match=rf"HedgeConfig\.{field}"):
            HedgeConfig(**{field: value})


@pytest.mark.parametrize("field", sorted(BAD_VALUES))
def test_out_of_range_values_raise_value_error_with_the_range(field: str) -> None:
    _, out_of_range, accepted = BAD_VALUES[field]
    for value in out_of_range:
        with pytest.raises(ValueError, match=rf"HedgeConfig\.{field}") as info:
            HedgeConfig(**{field: value})
        assert accepted in str(info.value)


def test_percentile_given_as_ninety_explains_itself() -> None:
    with pytest.raises(ValueError, match=r"0\.9 means p90"):
        HedgeConfig(percentile=90)


def test_max_delay_below_min_delay_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"max_delay must be >= min_delay"):
        HedgeConfig(min_delay=0.5, max_delay=0.1)


def test_ints_are_accepted_for_float_fields_and_stored_as_floats() -> None:
    config = HedgeConfig(budget_percent=5, min_delay=0, window_duration=10, estimated_rps=200)
    assert isinstance(config.budget_percent, float)
    assert isinstance(config.min_delay, float)
    assert config.estimated_rps == 200.0


def test_hedge_methods_are_normalised_and_validated() -> None:
    assert HedgeConfig(hedge_methods=["get", "Put"]).hedge_methods == frozenset({"GET", "PUT"})
    assert HedgeConfig(hedge_methods=()).hedge_methods == frozenset()
    with pytest.raises(TypeError, match="hedge_methods"):
        HedgeConfig(hedge_methods="GET")
    with pytest.raises(ValueError, match="hedge_methods"):
        HedgeConfig(hedge_methods=["GET", "not a method"])
    with pytest.raises(TypeError, match="hedge_methods"):
        HedgeConfig(hedge_methods=3)  # type: ignore[arg-type]


def test_key_func_and_stats_types_are_checked() -> None:
    with pytest.raises(TypeError, match="key_func"):
        HedgeConfig(key_func="host")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="stats"):
        HedgeConfig(stats={})  # type: ignore[arg-type]
    stats = Stats()
    assert HedgeConfig(stats=stats).stats is stats


def test_config_is_frozen_and_replace_validates_again() -> None:
    config = HedgeConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.percentile = 0.5  # type: ignore[misc]
    assert dataclasses.replace(config, percentile=0.95).percentile == 0.95
    with pytest.raises(ValueError, match="percentile"):
        dataclasses.replace(config, percentile=95)


def test_effective_warmup_delay_is_clamped() -> None:
    assert HedgeConfig(min_delay=0.05, warmup_delay=0.01).effective_warmup_delay == 0.05
    assert HedgeConfig(max_delay=0.5, warmup_delay=2.0).effective_warmup_delay == 0.5
    assert HedgeConfig().effective_warmup_delay == 0.01


def test_every_field_has_a_rule_and_the_rules_name_only_fields() -> None:
    # The rule table drives validation and the documentation's configuration table.
    assert list(RULES) == [field.name for field in dataclasses.fields(HedgeConfig)]
    assert all(rule.accepted for rule in RULES.values())


def test_describe_lists_every_setting_but_objects() -> None:
    described = HedgeConfig().describe()
    names = {field.name for field in dataclasses.fields(HedgeConfig)} - {"stats", "key_func"}
    assert set(described) == names
