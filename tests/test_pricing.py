"""The price table in data/models.yaml: aliases, cost arithmetic, tiers, batches, overrides."""

from __future__ import annotations

import pytest

from agenteval.errors import ConfigError
from agenteval.models.pricing import Price, model_table

M = 1_000_000


@pytest.mark.parametrize(
    ("given", "model"),
    [
        ("sonnet", "claude-sonnet-5-5"),
        ("opus", "claude-opus-5-5"),
        ("haiku", "claude-haiku-5-5"),
        ("Sonnet", "claude-sonnet-5-5"),
        (" haiku ", "claude-haiku-5-5"),
        (None, "claude-sonnet-5-5"),  # the default alias
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),  # a full id is kept
        ("claude-unknown-9", "claude-unknown-9"),  # an unknown id too, never rewritten
    ],
)
def test_aliases_resolve_to_model_ids(given, model):
    assert model_table().resolve(given) == model


def test_table_is_dated_and_lists_the_current_models():
    table = model_table()
    assert table.as_of and table.default_alias == "sonnet"
    assert table.prices["claude-sonnet-5-5"] == Price(input=2.0, output=10.0)
    assert table.prices["claude-opus-5-5"] == Price(input=4.0, output=20.0)
    assert table.prices["claude-haiku-4-5"] == Price(input=1.0, output=5.0)
    assert table.prices["claude-sonnet-4-5"] == Price(input=3.0, output=15.0)


def test_cost_of_input_and_output_tokens():
    table = model_table()
    cost = table.cost("claude-sonnet-5-5", input_tokens=1_000, output_tokens=500)
    assert cost == pytest.approx((1_000 * 2.0 + 500 * 10.0) / M)
    assert table.cost("claude-opus-5-5", input_tokens=M, output_tokens=M) == pytest.approx(24.0)
    assert table.cost("claude-sonnet-5-5", input_tokens=0, output_tokens=0) == 0.0


def test_cache_writes_cost_more_and_reads_less_than_input():
    table = model_table()
    cost = table.cost(
        "claude-sonnet-5-5",
        input_tokens=100,
        output_tokens=50,
        cache_write_tokens=10_000,
        cache_read_tokens=40_000,
    )
    expected = (100 * 2.0 + 10_000 * 2.0 * 1.25 + 40_000 * 2.0 * 0.1 + 50 * 10.0) / M
    assert cost == pytest.approx(expected)
    write = table.cost("claude-sonnet-5-5", input_tokens=0, output_tokens=0, cache_write_tokens=M)
    read = table.cost("claude-sonnet-5-5", input_tokens=0, output_tokens=0, cache_read_tokens=M)
    assert (write, read) == (pytest.approx(2.5), pytest.approx(0.2))


def test_haiku_bills_prompts_above_100k_tokens_at_the_higher_tier():
    table = model_table()
    low = table.cost("claude-haiku-5-5", input_tokens=100_000, output_tokens=1_000)
    assert low == pytest.approx((100_000 * 0.10 + 1_000 * 0.50) / M)
    high = table.cost("claude-haiku-5-5", input_tokens=100_001, output_tokens=1_000)
    assert high == pytest.approx((100_001 * 0.50 + 1_000 * 2.50) / M)
    # cached tokens are prompt tokens too: they push a request over the threshold
    mixed = table.cost(
        "claude-haiku-5-5",
        input_tokens=1_000,
        output_tokens=10,
        cache_write_tokens=50_000,
        cache_read_tokens=50_000,
    )
    assert mixed == pytest.approx(
        (1_000 * 0.50 + 50_000 * 0.50 * 1.25 + 50_000 * 0.50 * 0.1 + 10 * 2.50) / M
    )
    # other models have no tier
    assert table.cost("claude-sonnet-5-5", input_tokens=500_000, output_tokens=0) == pytest.approx(
        1.0
    )


def test_batches_cost_half():
    table = model_table()
    args = dict(input_tokens=3_000, output_tokens=700, cache_read_tokens=9_000)
    live = table.cost("claude-opus-5-5", **args)
    batch = table.cost("claude-opus-5-5", batch=True, **args)
    assert live is not None and batch == pytest.approx(live * 0.5)


def test_unknown_model_has_no_cost():
    table = model_table()
    assert table.cost("claude-unknown-9", input_tokens=10, output_tokens=10) is None
    assert table.cost("sonnet", input_tokens=10, output_tokens=10) is None  # ids, not aliases


def test_overrides_add_and_replace_prices_by_alias_or_id():
    base = model_table()
    table = base.with_overrides(
        {"sonnet": {"input": 1.0, "output": 1.0}, "claude-unknown-9": {"input": 3, "output": 7}}
    )
    assert table.cost("claude-sonnet-5-5", input_tokens=M, output_tokens=M) == pytest.approx(2.0)
    assert table.cost("claude-unknown-9", input_tokens=M, output_tokens=M) == pytest.approx(10.0)
    assert table.cost("claude-opus-5-5", input_tokens=M, output_tokens=0) == pytest.approx(4.0)
    # the shipped table is untouched
    assert base.cost("claude-sonnet-5-5", input_tokens=M, output_tokens=M) == pytest.approx(12.0)
    assert "claude-unknown-9" not in base.prices
    assert base.with_overrides({}) is base


@pytest.mark.parametrize(
    "values", [{"input": 1.0}, {"output": 1.0}, {"input": 1.0, "output": 2.0, "cached": 0.1}]
)
def test_invalid_override_is_a_config_error_naming_the_key(values):
    with pytest.raises(ConfigError, match=r"router\.prices\.my-model") as err:
        model_table().with_overrides({"my-model": values})
    assert "input" in str(err.value) and "output" in str(err.value)


def test_claude_code_alias_overrides_are_honoured(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_DEFAULT_SONNET_MODEL", "claude-sonnet-4-5")
    assert model_table().resolve("sonnet") == "claude-sonnet-4-5"
    assert model_table().resolve(None) == "claude-sonnet-4-5"
    assert model_table().resolve("opus") == "claude-opus-5-5"
