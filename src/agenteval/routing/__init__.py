"""Routers: given a request and the catalog as it may see it, name the agent that should take it.

A router is one async method behind a small Protocol. Backends come from a registry: the
built-ins below plus any installed package's entry points in the group ``agenteval.routers``
(``pip install agenteval-foo`` adds a router with no edit here). Each backend declares its typed
options (a pydantic model named ``Options``); the config's ``router:`` section is validated
against them. What a router costs, how it is priced and what it needs (a key, the CLI) it
declares in a `Capabilities` record on its factory: callers ask it, never test the class. Optional
methods (a cache key, a worst-case cost, a model client) are small runtime-checkable Protocols.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from agenteval.errors import RouterError
from agenteval.models.client import ChatRequest, Completion, ModelClient, Usage

if TYPE_CHECKING:  # annotations only: the CLI imports this package for `--help`, which loads
    # no catalog and validates nothing, so those modules wait until a command needs them
    from pydantic import BaseModel

    from agenteval.cases import Case
    from agenteval.claude_code_install import ClaudeCode
    from agenteval.views import CatalogView

ENTRY_POINT_GROUP = "agenteval.routers"
Pricing = Literal["none", "per-token", "plan", "unknown"]
Estimating = Literal["tokens", "worst-case", "none"]


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What a router declares about itself, as a `capabilities` attribute of its factory.

    ``pricing`` is "none" (it costs nothing), "per-token" (its model's prices), "plan" (it draws
    on the user's subscription plan: its costs are API-equivalent figures) or "unknown".
    ``estimate`` is how `agenteval estimate` prices a run ahead: "tokens" (its requests are
    rendered and counted: a `ModelRouter`), "worst-case" (the sum of its `cost_bound`) or "none".
    A router that ``needs_api_key`` builds without one from ``from_options(options,
    offline=True)``, to price requests only. ``unknown_reason`` says why a cost is unknown.
    """

    offline: bool = False
    pricing: Pricing = "unknown"
    estimate: Estimating = "none"
    needs_api_key: bool = False
    needs_claude_cli: bool = False
    unknown_reason: str = ""

    @property
    def reason(self) -> str:
        """Why a run of this router has no price, for "cost: unknown (...)"."""
        return self.unknown_reason or "the router does not declare how it is priced"


OFFLINE = Capabilities(offline=True, pricing="none")
UNDECLARED = Capabilities(
    unknown_reason="the router declares no pricing (a `capabilities` attribute on its class)"
)


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What a router answered for one request.

    ``agent`` is a name, or None when the model handled the request itself. ``error`` is set when
    no answer could be had; such a decision is never scored as a misroute. ``task_prompt`` is what
    the main model asked the agent to do (its `prompt` argument), when it delegated.
    """

    agent: str | None
    raw: str = ""
    rationale: str = ""
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_s: float = 0.0
    cached: bool = False
    error: str | None = None
    task_prompt: str | None = None
    maybe_billed: bool = False  # failed after reaching the API (see `Completion.maybe_billed`)


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
        """Release connections and processes."""
        ...


@runtime_checkable
class KeyedRouter(Protocol):
    """A router whose answers cost money or time and are worth caching."""

    def request_key(self, request: RouteRequest) -> str:
        """A digest of everything in the rendered request that can change the answer."""
        ...


@runtime_checkable
class CostedRouter(Protocol):
    """A router whose requests cost money: the executor reserves their worst case."""

    async def cost_bound(self, request: RouteRequest) -> float | None:
        """The most this request can cost in USD (None when the price is unknown)."""
        ...


@runtime_checkable
class PreparedRouter(Protocol):
    """A router that must run something before routing (ask the CLI its version, capture its
    request layout): a named step the pipeline calls once, never the constructor."""

    @property
    def claude_code(self) -> ClaudeCode | None:
        """The Claude Code it runs or replays, once prepared (None: none, or not yet)."""
        ...

    def prepare(self, say: Callable[[str], object]) -> None:
        """Get ready to route, telling ``say`` what is being run; a second call does nothing.

        Raises:
            RouterError: when what it needs cannot be had (with how to fix it).
        """
        ...


@runtime_checkable
class ModelRouter(KeyedRouter, CostedRouter, Protocol):
    """A router that asks a model client: its requests can be rendered, counted, batched."""

    client: ModelClient
    model: str

    def chat_request(self, request: RouteRequest) -> ChatRequest:
        """The full model request for one case."""
        ...

    def decide(self, completion: Completion, view: CatalogView) -> Decision:
        """Turn one answer into a Decision."""
        ...


# name -> "module:factory". A factory has `from_options(options) -> Router` and may declare a
# pydantic `Options` model for its `router:` keys.
BUILTIN_ROUTERS: dict[str, str] = {
    "lexical": "agenteval.routing.lexical:LexicalRouter",
    "anthropic": "agenteval.routing.api:PromptRouter",
    "mock": "agenteval.routing.mock:MockRouter",
    "claude-cli": "agenteval.routing.claude_cli:ClaudeCliRouter",
}


@dataclass(frozen=True, kw_only=True)
class RouterEntry:
    """One registered backend."""

    name: str
    target: str
    builtin: bool


@cache
def registry() -> Mapping[str, RouterEntry]:
    """Every router: the built-ins, then installed entry points (a built-in name wins)."""
    from importlib.metadata import entry_points

    found = {
        name: RouterEntry(name=name, target=target, builtin=True)
        for name, target in BUILTIN_ROUTERS.items()
    }
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, RouterEntry(name=ep.name, target=ep.value, builtin=False))
    return found


def router_entry(backend: str) -> RouterEntry | None:
    """The registered backend of that name, if any."""
    return registry().get(backend)


def router_factory(backend: str) -> Any:
    """The factory class of a backend, imported only now.

    Raises:
        RouterError: for an unknown backend, or one whose package fails to import.
    """
    entry = router_entry(backend)
    if entry is None:
        raise RouterError(
            f"unknown router {backend!r}", hint=f"use one of: {', '.join(sorted(registry()))}"
        )
    module, _, attr = entry.target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise RouterError(
            f"router {backend!r} ({entry.target}) cannot be loaded: {exc}",
            hint="reinstall the package that provides it",
        ) from exc


def router_capabilities(backend: str) -> Capabilities:
    """What a backend declares, read from its factory without building a router.

    Raises:
        RouterError: for an unknown backend, or one whose package fails to import.
    """
    return capabilities_of(router_factory(backend))


def capabilities_of(router: object) -> Capabilities:
    """What a router (or its factory) declares; `UNDECLARED` when it declares nothing."""
    declared = getattr(router, "capabilities", None)
    return declared if isinstance(declared, Capabilities) else UNDECLARED


def make_router(backend: str, options: Mapping[str, Any]) -> Router:
    """Build a router from the registry with validated options.

    Raises:
        RouterError: for an unknown backend or options it refuses.
    """
    router: Router = router_factory(backend).from_options(options)
    return router


def validate_options(model: type[BaseModel], options: Mapping[str, Any], backend: str) -> Any:
    """Options checked against a router's `Options` model.

    Raises:
        RouterError: naming the key and, for an unknown key, the router's options.
    """
    from pydantic import ValidationError

    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(x) for x in err["loc"])
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(model.model_fields)
            raise RouterError(
                f"router.{key} is not an option of the {backend} router",
                hint=f"its options are: {allowed}",
            ) from exc
        raise RouterError(f"router.{key}: {err['msg']}", hint="fix the value") from exc
