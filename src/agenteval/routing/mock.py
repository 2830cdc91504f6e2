"""A router that answers from a plain function: the test double, registered like the others.

From Python, ``MockRouter(handler)`` calls ``handler(request)`` (returning an agent name, None
for `none`, or a whole `Decision`) and records every request. From a config or the command line
(``--router mock``), ``router.answer`` picks a stock handler: ``expected`` (the case's first
acceptable agent: a perfect router), ``none`` (never delegates) or ``first`` (the view's first
agent). It costs nothing and is never cached.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from agenteval.cases import NONE_LABEL
from agenteval.routing import OFFLINE, Decision, RouteRequest, validate_options

Handler = Callable[[RouteRequest], "str | None | Decision"]


class MockOptions(BaseModel):
    """The `router:` keys of the mock router."""

    model_config = ConfigDict(extra="forbid")

    answer: Literal["expected", "none", "first"] = "expected"


def _expected(request: RouteRequest) -> str | None:
    first = next(iter(request.case.expected), NONE_LABEL)  # the first as written
    return None if first == NONE_LABEL else first


def _first(request: RouteRequest) -> str | None:
    return request.view.agents[0].name if request.view.agents else None


STOCK: dict[str, Handler] = {"expected": _expected, "none": lambda r: None, "first": _first}


class MockRouter:
    """Routes every request with ``handler``; ``requests`` keeps what it was asked."""

    name = "mock"
    Options = MockOptions
    capabilities = OFFLINE

    def __init__(self, handler: Handler = _expected, *, label: str = "custom") -> None:
        self.handler = handler
        self.label = label
        self.requests: list[RouteRequest] = []

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> MockRouter:
        opts = validate_options(MockOptions, options, "mock")
        return cls(STOCK[opts.answer], label=opts.answer)

    @property
    def fingerprint(self) -> str:
        spec = json.dumps({"backend": self.name, "answer": self.label})
        return hashlib.sha256(spec.encode()).hexdigest()[:16]

    def describe(self) -> Mapping[str, Any]:
        return {"backend": self.name, "model": f"mock:{self.label}"}

    async def route(self, request: RouteRequest) -> Decision:
        self.requests.append(request)
        answer = self.handler(request)
        if isinstance(answer, Decision):
            return answer
        return Decision(agent=answer, raw=answer or "", cost_usd=0.0)

    async def aclose(self) -> None:
        return None
