"""One model call whose answer is a JSON object, through the run's engine (budget and cache)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from agenteval.execution.cache import cache_key
from agenteval.execution.executor import Executor
from agenteval.execution.runner import OVERLOAD_MARKERS
from agenteval.models.client import Completion, ModelClient
from agenteval.outputs.produce import COMPLETIONS, bytes_bound, chat

_FENCED = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.S)


@dataclass(frozen=True, kw_only=True)
class Asked:
    """A model's answer read as JSON: `data`, or why there is none (`problem`)."""

    data: dict[str, Any] | None
    completion: Completion | None  # None: the call was not started (the budget stopped it)
    problem: str | None = None

    @property
    def started(self) -> bool:
        return self.completion is not None


async def ask_json(
    client: ModelClient,
    executor: Executor,
    *,
    purpose: str,
    system: str,
    prompt: str,
    model: str | None,
    max_tokens: int,
) -> Asked:
    """Ask once (or answer from the cache) and read the first JSON object of the answer.

    Args:
        purpose: What the call is for (`generate`, `propose`): part of its cache key.
    """
    request = chat(client, system=system, prompt=prompt, model=model, max_tokens=max_tokens)
    digest = hashlib.sha256(
        json.dumps(request.params(), sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()

    async def bound() -> float | None:
        return bytes_bound(client, request)

    done = await executor.call(
        lambda: client.complete(request),
        bound=bound,
        key=cache_key(f"improve:{purpose}", digest, 0),
        codec=COMPLETIONS,
        overload=lambda c: any(m in (c.error or "") for m in OVERLOAD_MARKERS),
    )
    if done is None:
        return Asked(data=None, completion=None, problem="not asked: the run stopped")
    if done.error is not None:
        return Asked(data=None, completion=done, problem=done.error)
    data = parse_json_object(done.text)
    if data is None:
        return Asked(data=None, completion=done, problem="the answer holds no JSON object")
    return Asked(data=data, completion=done)


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in a model's answer: the whole text, a fenced block, or the span from the
    first `{` to the last `}`. None when there is none."""
    candidates = [text.strip()]
    fenced = _FENCED.search(text)
    if fenced:
        candidates.append(fenced.group(1))
    if "{" in text and "}" in text:
        candidates.append(text[text.index("{") : text.rindex("}") + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None
