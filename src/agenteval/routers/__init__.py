"""Routers: given a request and the catalog as it may see it, name the agent that should take it.

A router is one async method behind a small Protocol. Backends are built by lazy factories from
the registry below, so `anthropic` is imported only when an Anthropic router is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from agenteval.cases import Case
from agenteval.errors import RouterError
from agenteval.holdout import CatalogView


class FatalRouterError(RouterError):
    """A failure that every later request would hit too (bad key, spend limit, unknown model).

    The runner stops starting requests and the run is saved as incomplete, to resume once fixed.
    """


@dataclass(frozen=True, kw_only=True)
class Usage:
    """Tokens one request used."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0

    def __radd__(self, other: object) -> Usage:
        return self if other == 0 else NotImplemented  # so sum() works

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
        )


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What a router answered for one request.

    ``agent`` is a name, or None when the model handled the request itself. ``error`` is set when
    no answer could be had; such a decision is never scored as a misroute.
    """

    agent: str | None
    raw: str = ""
    rationale: str = ""
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_s: float = 0.0
    cached: bool = False
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class Completion:
    """A plain model call's answer (an agent running, or a judge grading)."""

    model: str
    text: str = ""
    tool_input: Mapping[str, Any] | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_s: float = 0.0
    cached: bool = False
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class RouteRequest:
    """One case to route, with the catalog as this router must see it."""

    case: Case
    view: CatalogView
    trial: int = 0


class Router(Protocol):
    """A routing backend."""

    name: str

    @property
    def fingerprint(self) -> str:
        """Identifies everything that changes answers (backend, model, prompt, options)."""
        ...

    def describe(self) -> Mapping[str, Any]:
        """Run metadata: backend, model, prompt mode, ..."""
        ...

    async def route(self, request: RouteRequest) -> Decision:
        """Route one request. Failures are returned as a Decision with ``error`` set."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class CachingRouter(Router, Protocol):
    """A router whose answers cost money and are worth caching (and warming a prompt cache for)."""

    def request_key(self, request: RouteRequest) -> str:
        """A digest of everything in the rendered request that can change the answer."""
        ...

    def on_overload(self, callback: Callable[[], None]) -> None:
        """Register a callback for every 429/529 response, retried ones included."""
        ...


ROUTERS: dict[str, str] = {
    "lexical": "agenteval.routers.lexical:LexicalRouter",
    "anthropic": "agenteval.routers.anthropic:AnthropicRouter",
}


def make_router(backend: str, options: Mapping[str, Any]) -> Router:
    """Build a router from the registry, importing its module only now.

    Raises:
        RouterError: for an unknown backend or invalid options.
    """
    target = ROUTERS.get(backend)
    if target is None:
        raise RouterError(
            f"unknown router {backend!r}", hint=f"use one of: {', '.join(sorted(ROUTERS))}"
        )
    module, _, attr = target.partition(":")
    factory = getattr(importlib.import_module(module), attr)
    return factory.from_options(options)
