"""The model seam: one Messages-shaped request in, one completion out.

A `ModelClient` is what a prompt router, an agent run and a judge all talk to. The Anthropic SDK
client (`models/anthropic.py`) is the product path; `models/mock.py` answers from a function for
tests. Clients never raise for one failed request: the failure comes back as a `Completion` with
``error`` set. Only failures every later request would hit too raise `FatalModelError`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agenteval.errors import AgentEvalError

if TYPE_CHECKING:  # an annotation only: reading a saved run loads no price table
    from agenteval.models.pricing import ModelTable


class FatalModelError(AgentEvalError):
    """A failure that every later request would hit too (bad key, spend limit, unknown model).

    The executor stops starting calls and the run is saved as incomplete, to resume once fixed.
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
class ChatRequest:
    """One Messages API request with the model id resolved.

    ``body`` holds the other request fields (``thinking``, ``metadata``, ...) as the API takes
    them; ``headers`` the ones that change behaviour (``anthropic-beta``). Never an API key.
    """

    model: str
    max_tokens: int
    messages: tuple[Mapping[str, Any], ...]
    system: str | tuple[Mapping[str, Any], ...] = ""
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: Mapping[str, Any] | None = None
    body: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """The request as Messages API keyword arguments (headers apart)."""
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [dict(m) for m in self.messages],
        }
        if self.system:
            params["system"] = (
                self.system if isinstance(self.system, str) else [dict(b) for b in self.system]
            )
        if self.tools:
            params["tools"] = [dict(t) for t in self.tools]
        if self.tool_choice is not None:
            params["tool_choice"] = dict(self.tool_choice)
        params.update(self.body)
        return params

    @property
    def cacheable(self) -> bool:
        """Does any block ask to be prompt-cached (so input may be billed at the write price)?"""
        return '"cache_control"' in json.dumps(self.params())


@dataclass(frozen=True, kw_only=True)
class ToolUse:
    """One tool call in a model's answer."""

    name: str
    input: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Completion:
    """A model's answer to one request (or why there is none: ``error``)."""

    model: str
    text: str = ""
    tool_uses: tuple[ToolUse, ...] = ()
    stop_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_s: float = 0.0
    cached: bool = False
    error: str | None = None
    # the request reached the API and failed after that (a dropped or cut-off answer, a body
    # that is not JSON): it may be billed, so the budget counts its worst case
    maybe_billed: bool = False

    def tool_input(self, name: str) -> Mapping[str, Any] | None:
        """The input of the first call of tool ``name``, if the model made one."""
        return next((t.input for t in self.tool_uses if t.name == name), None)


@dataclass(frozen=True, kw_only=True)
class BatchStatus:
    """Where a submitted batch stands."""

    status: str  # "in_progress" | "canceling" | "ended"
    done: int
    total: int


@runtime_checkable
class ModelClient(Protocol):
    """A backend that answers Messages requests."""

    name: str
    table: ModelTable

    def resolve_model(self, model: str | None) -> str:
        """A model id for an alias, an id, or None / `inherit` (the client's default model)."""
        ...

    async def complete(self, request: ChatRequest) -> Completion:
        """One request; failures come back as a Completion with ``error`` set.

        Raises:
            FatalModelError: for failures every later request would hit too.
        """
        ...

    async def count_tokens(self, request: ChatRequest) -> int:
        """Input tokens of a request (free, but rate-limited on the real API)."""
        ...

    def on_overload(self, callback: Callable[[], None]) -> None:
        """Register a callback for every 429/529 response, retried ones included."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class BatchClient(ModelClient, Protocol):
    """A client that can also answer through a batch API (submit, poll, read results)."""

    async def submit_batch(self, items: Sequence[tuple[str, ChatRequest]]) -> str:
        """Submit (custom_id, request) pairs as one batch; return its id.

        Raises:
            FatalModelError: when nothing could be submitted.
        """
        ...

    async def batch_status(self, batch_id: str) -> BatchStatus:
        """Where the batch stands."""
        ...

    def batch_results(self, batch_id: str) -> AsyncIterator[tuple[str, Completion]]:
        """Yield (custom_id, completion) for every entry, errored ones with ``error`` set."""
        ...
