"""What a run will cost before it spends anything: requests, tokens and dollars.

With an API key the prompt of each catalog view is measured with the free count-tokens endpoint;
offline, tokens are approximated as characters / 4, and the output says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agenteval.execution.cache import ResponseCache, cache_key
from agenteval.execution.runner import RunPlan
from agenteval.routing import ModelRouter, Router, RouteRequest

ASSUMED_OUTPUT_TOKENS = 150  # a tool call plus a sentence; thinking, when on, adds to this
CHARS_PER_TOKEN = 4


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """The expected size and price of a run."""

    method: str  # "count_tokens" or "approximation (characters / 4)"
    model: str
    requests: int
    cached: int
    prefixes: int
    prefix_tokens: int  # mean tokens of the shared (cached) part of one request
    request_tokens: int  # mean tokens of the per-case part
    input_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    output_tokens: int
    cost_usd: float | None
    batch: bool

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.cache_write_tokens
            + self.cache_read_tokens
            + self.output_tokens
        )


def estimate_run(
    router: Router,
    plan: RunPlan,
    *,
    cache: ResponseCache | None = None,
    online: bool = False,
    batch: bool = False,
) -> Estimate:
    """Estimate a run: one cache write per prompt prefix, cache reads for the rest."""
    if not isinstance(router, ModelRouter):
        return Estimate(
            method="free (offline router)",
            model=str(router.describe().get("model")),
            requests=0,
            cached=0,
            prefixes=0,
            prefix_tokens=0,
            request_tokens=0,
            input_tokens=0,
            cache_write_tokens=0,
            cache_read_tokens=0,
            output_tokens=0,
            cost_usd=0.0,
            batch=batch,
        )
    requests, cached = [], 0
    for case, trial in plan.pending():
        request = RouteRequest(case=case, view=plan.views.for_case(case), trial=trial)
        if cache is not None:
            key = cache_key(router.fingerprint, router.request_key(request), trial)
            if cache.get_json(key) is not None:
                cached += 1
                continue
        requests.append(request)
    first_by_view: dict[str, RouteRequest] = {}
    for request in requests:
        first_by_view.setdefault(request.view.fingerprint, request)
    prefix = {fp: _prefix_chars(router, r) for fp, r in first_by_view.items()}
    if online:
        measured = asyncio.run(_count(router, list(first_by_view.values())))
        per_char = sum(measured.values()) / max(
            1, sum(prefix[fp] + len(r.case.prompt) for fp, r in first_by_view.items())
        )
        method = "count_tokens"
    else:
        per_char = 1 / CHARS_PER_TOKEN
        method = f"approximation (characters / {CHARS_PER_TOKEN}); set ANTHROPIC_API_KEY to count"
    prefix_tokens = {fp: round(chars * per_char) for fp, chars in prefix.items()}
    write = sum(prefix_tokens.values())
    read = sum(prefix_tokens[r.view.fingerprint] for r in requests) - write
    fresh = sum(round(len(r.case.prompt) * per_char) + 8 for r in requests)
    output = ASSUMED_OUTPUT_TOKENS * len(requests)
    model = router.model
    cost = router.client.table.cost(
        model,
        input_tokens=fresh,
        output_tokens=output,
        cache_write_tokens=write,
        cache_read_tokens=max(0, read),
        batch=batch,
    )
    return Estimate(
        method=method,
        model=model,
        requests=len(requests),
        cached=cached,
        prefixes=len(prefix_tokens),
        prefix_tokens=round(write / len(prefix_tokens)) if prefix_tokens else 0,
        request_tokens=round(fresh / len(requests)) if requests else 0,
        input_tokens=fresh,
        cache_write_tokens=write,
        cache_read_tokens=max(0, read),
        output_tokens=output,
        cost_usd=cost,
        batch=batch,
    )


def _prefix_chars(router: ModelRouter, request: RouteRequest) -> int:
    params = router.chat_request(request).params()
    blocks = params["messages"][-1]["content"][:-1]
    text = "".join(b["text"] for b in params.get("system", []))
    text += "".join(
        t.get("description", "") + str(t.get("input_schema", "")) for t in params.get("tools", [])
    )
    return len(text) + sum(len(b["text"]) for b in blocks)


async def _count(router: ModelRouter, requests: list[RouteRequest]) -> dict[str, int]:
    try:
        counts = await asyncio.gather(
            *(router.client.count_tokens(router.chat_request(r)) for r in requests)
        )
    finally:
        await router.client.aclose()
    return {r.view.fingerprint: n for r, n in zip(requests, counts, strict=True)}
