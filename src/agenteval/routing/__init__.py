"""Routers: given a request and the catalog as it may see it, name the agent that should take it.

A router is one async method behind a small Protocol. Backends are built by lazy factories from
the registry below, so `anthropic` is imported only when an Anthropic router is asked for.
Optional capabilities (a cache key, overload reports, plain model calls, batches, estimates) are
small runtime-checkable Protocols of their own: callers test for one with ``isinstance``.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agenteval.cases import Case
from agenteval.errors import RouterError
from agenteval.views import CatalogView

if TYPE_CHECKING:
    from agenteval.models.pricing import ModelTable


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
        if other == 0:  # so sum() works
            return self
        return NotImplemented

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


@runtime_checkable
class KeyedRouter(Protocol):
    """A router whose answers cost money and are worth caching."""

    def request_key(self, request: RouteRequest) -> str:
        """A digest of everything in the rendered request that can change the answer."""
        ...


@runtime_checkable
class OverloadWatcher(Protocol):
    """A backend that reports rate limits and overloads, so callers can lower concurrency."""

    def on_overload(self, callback: Callable[[], None]) -> None:
        """Register a callback for every 429/529 response, retried ones included."""
        ...


@runtime_checkable
class ModelClient(Protocol):
    """A backend that also makes plain model calls (an agent running, or a judge grading)."""

    def resolve_model(self, model: str | None) -> str:
        """A model id for an alias, an id, or None / `inherit` (the run's model)."""
        ...

    async def complete(
        self,
        *,
        system: str,
        prompt: str,
        model: str | None = None,
        max_tokens: int | None = None,
        tool: Mapping[str, Any] | None = None,
    ) -> Completion:
        """One plain model call; failures are returned as a Completion with ``error`` set."""
        ...


@runtime_checkable
class BatchRouter(KeyedRouter, Protocol):
    """A router that can also route through a batch API (submit, poll, read results)."""

    async def submit_batch(self, requests: list[tuple[str, RouteRequest]]) -> str:
        """Submit (custom_id, request) pairs as one batch; return its id."""
        ...

    async def batch_status(self, batch_id: str) -> tuple[str, int, int]:
        """(processing status, requests finished, requests in the batch)."""
        ...

    def batch_results(self, batch_id: str) -> AsyncIterator[tuple[str, Any, str | None]]:
        """Yield (custom_id, message or None, error or None) for every entry."""
        ...

    def decide(self, message: Any, view: CatalogView, *, batch: bool = False) -> Decision:
        """Turn one answered message into a Decision."""
        ...


@runtime_checkable
class PricedRouter(KeyedRouter, Protocol):
    """A router whose requests can be rendered, counted and priced before a run."""

    model: str
    table: ModelTable

    def params(self, request: RouteRequest) -> dict[str, Any]:
        """The full API parameters for one request."""
        ...

    async def count_tokens(self, request: RouteRequest) -> int:
        """Input tokens of one request."""
        ...


ROUTERS: dict[str, str] = {
    "lexical": "agenteval.routing.lexical:LexicalRouter",
    "anthropic": "agenteval.routing.anthropic:AnthropicRouter",
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
    router: Router = factory.from_options(options)
    return router
