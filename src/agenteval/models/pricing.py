"""Model aliases and prices, read from the data file `data/models.yaml` (one place to update).

An unknown model gets its tokens counted and its cost reported as unknown (None), never guessed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from agenteval.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Price:
    """USD per million tokens for one model."""

    input: float
    output: float
    above_input_tokens: int | None = None
    above_input: float | None = None
    above_output: float | None = None


@dataclass(frozen=True, kw_only=True)
class ModelTable:
    """Aliases, prices and billing multipliers."""

    as_of: str
    default_alias: str
    aliases: Mapping[str, str]
    prices: Mapping[str, Price]
    cache_write_multiplier: float
    cache_read_multiplier: float
    batch_discount: float

    def resolve(self, model: str | None) -> str:
        """A model id from an alias (`sonnet`), an id, or None (the default).

        Like Claude Code, `ANTHROPIC_DEFAULT_SONNET_MODEL` (and `_OPUS_`, `_HAIKU_`) re-point
        an alias, so a run resolves `sonnet` to what the user's Claude Code uses.
        """
        name = (model or self.default_alias).strip()
        alias = name.lower()
        if alias in self.aliases:
            return os.environ.get(f"ANTHROPIC_DEFAULT_{alias.upper()}_MODEL") or self.aliases[alias]
        return name

    def cost(
        self,
        model: str,
        *,
        input_tokens: int,
        output_tokens: int,
        cache_write_tokens: int = 0,
        cache_read_tokens: int = 0,
        batch: bool = False,
    ) -> float | None:
        """The cost of one request in USD, or None when the model has no known price."""
        price = self.prices.get(model)
        if price is None:
            return None
        prompt_tokens = input_tokens + cache_write_tokens + cache_read_tokens
        rate_in, rate_out = price.input, price.output
        if price.above_input_tokens is not None and prompt_tokens > price.above_input_tokens:
            rate_in = price.above_input if price.above_input is not None else rate_in
            rate_out = price.above_output if price.above_output is not None else rate_out
        usd = (
            input_tokens * rate_in
            + cache_write_tokens * rate_in * self.cache_write_multiplier
            + cache_read_tokens * rate_in * self.cache_read_multiplier
            + output_tokens * rate_out
        ) / 1_000_000
        return usd * (self.batch_discount if batch else 1.0)

    def worst_case(
        self,
        model: str,
        *,
        input_tokens: int,
        max_tokens: int,
        cacheable: bool = False,
        batch: bool = False,
    ) -> float | None:
        """The most one request can cost: every input token at the dearer of the input and the
        cache-write price (when the request asks for caching), and all of ``max_tokens`` as
        output. None when the model has no known price."""
        write = cacheable and self.cache_write_multiplier > 1.0
        return self.cost(
            model,
            input_tokens=0 if write else input_tokens,
            cache_write_tokens=input_tokens if write else 0,
            output_tokens=max_tokens,
            batch=batch,
        )

    def with_overrides(self, prices: Mapping[str, Mapping[str, Any]]) -> ModelTable:
        """A copy with prices added or replaced (from an eval config's `router.prices`).

        Raises:
            ConfigError: when an override lacks `input` or `output`.
        """
        if not prices:
            return self
        merged = dict(self.prices)
        for model, values in prices.items():
            try:
                merged[self.resolve(model)] = Price(**values)
            except TypeError as exc:
                raise ConfigError(
                    f"router.prices.{model}: {exc}",
                    hint="give `input` and `output` in USD per million tokens",
                ) from exc
        return ModelTable(**{**self.__dict__, "prices": merged})


@cache
def model_table() -> ModelTable:
    """The shipped table."""
    import yaml  # here: importing the CLI for `--help` should not load a YAML parser

    text = resources.files("agenteval").joinpath("data/models.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return ModelTable(
        as_of=str(data["as_of"]),
        default_alias=data["default_alias"],
        aliases={k.lower(): v for k, v in data["aliases"].items()},
        prices={k: Price(**v) for k, v in data["models"].items()},
        cache_write_multiplier=float(data["cache_write_multiplier"]),
        cache_read_multiplier=float(data["cache_read_multiplier"]),
        batch_discount=float(data["batch_discount"]),
    )
