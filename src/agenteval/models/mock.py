"""A model client that answers from a plain function: the test double, registered like the rest.

``MockClient(handler)`` calls ``handler(request)`` for every request and records the requests it
saw. The handler may return a `Completion`, a string (a text answer), a `ToolUse` (a tool call),
or raise `FatalModelError`. Usage is counted as characters / 4 so that budgets and costs can be
exercised; the price comes from the table (a mock model gets one, so costs are known).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace

from agenteval.models.client import ChatRequest, Completion, ToolUse, Usage
from agenteval.models.pricing import ModelTable, Price, model_table

MOCK_MODEL = "mock-model"
MOCK_PRICE = Price(input=1.0, output=5.0)

Answer = Completion | str | ToolUse | None
Handler = Callable[[ChatRequest], Answer]


class MockClient:
    """Answers every request with ``handler(request)``; keeps ``requests`` for assertions."""

    name = "mock"

    def __init__(
        self,
        handler: Handler = lambda request: "ok",
        *,
        model: str = MOCK_MODEL,
        latency_s: float = 0.0,
        output_tokens: int | None = None,
        table: ModelTable | None = None,
    ) -> None:
        base = table or model_table()
        self.table = replace(base, prices={**base.prices, MOCK_MODEL: MOCK_PRICE})
        self.model = self.table.resolve(model)
        self.handler = handler
        self.latency_s = latency_s
        self.output_tokens = output_tokens
        self.requests: list[ChatRequest] = []
        self._overload: list[Callable[[], None]] = []

    def resolve_model(self, model: str | None) -> str:
        if model is None or model.strip().lower() in ("", "inherit"):
            return self.model
        return self.table.resolve(model)

    def on_overload(self, callback: Callable[[], None]) -> None:
        self._overload.append(callback)

    async def complete(self, request: ChatRequest) -> Completion:
        self.requests.append(request)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        answer = self.handler(request)
        if isinstance(answer, Completion):
            return answer
        uses = (answer,) if isinstance(answer, ToolUse) else ()
        text = answer if isinstance(answer, str) else ""
        out = self.output_tokens if self.output_tokens is not None else max(1, len(text) // 4)
        usage = Usage(input_tokens=_tokens(request), output_tokens=out)
        return Completion(
            model=request.model,
            text=text,
            tool_uses=uses,
            stop_reason="tool_use" if uses else "end_turn",
            usage=usage,
            cost_usd=self.table.cost(
                request.model, input_tokens=usage.input_tokens, output_tokens=out
            ),
        )

    async def count_tokens(self, request: ChatRequest) -> int:
        return _tokens(request)

    async def aclose(self) -> None:
        return None


def _tokens(request: ChatRequest) -> int:
    return max(1, len(json.dumps(request.params(), ensure_ascii=False)) // 4)
