"""What a run will cost before it spends anything: requests, tokens and dollars.

A router is priced as it declares (`Capabilities`). A model router's requests are rendered: with
an API key the prompt of each catalog view is measured with the free count-tokens endpoint, else
tokens are approximated as characters / 4, and the output says so. A router that cannot render
its requests ahead (claude-cli) is priced at the sum of its worst cases; an offline router costs
nothing; an undeclared one is unknown, with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from agenteval.execution.cache import ResponseCache, cache_key
from agenteval.execution.runner import RunPlan
from agenteval.routing import (
    CostedRouter,
    KeyedRouter,
    ModelRouter,
    Pricing,
    Router,
    RouteRequest,
    capabilities_of,
)

ASSUMED_OUTPUT_TOKENS = 150  # a tool call plus a sentence; thinking, when on, adds to this
CHARS_PER_TOKEN = 4


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """The expected size and price of a run."""

    method: str  # "count_tokens", "approximation (characters / 4)", "worst case ...", ...
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
    placement: str | None = None  # where a captured profile puts the agent list
    prompt_source: str = ""  # "Claude Code 2.1.332 profile" or why it is approximate
    placements: tuple[Estimate, ...] = ()  # the same run with each placement (profiles only)
    pricing: Pricing = "per-token"  # as the router declares it; "none": an offline router
    unknown_reason: str = ""  # why cost_usd is None
    tokens_counted: bool = True  # False: the router's requests are not rendered ahead


def estimate_run(
    router: Router,
    plan: RunPlan,
    *,
    cache: ResponseCache | None = None,
    online: bool = False,
    batch: bool = False,
) -> Estimate:
    """Estimate a run as its router declares itself priced (`Capabilities`): rendered and
    counted, the sum of its worst cases, nothing (offline), or unknown with the reason."""
    caps = capabilities_of(router)
    if caps.estimate == "tokens" and caps.pricing == "per-token":
        return _token_estimate(router, plan, cache=cache, online=online, batch=batch)
    requests, cached = _to_send(router, plan, cache)
    model = str(router.describe().get("model"))
    cost: float | None = None
    reason = caps.reason
    if caps.pricing == "none":
        cost, method = 0.0, "none (offline router: it sends nothing)"
    elif caps.estimate == "worst-case":
        cost = asyncio.run(_worst_cases(cast(CostedRouter, router), requests))
        method = "worst case per request (the router's own bound), not a prediction"
        reason = _no_price(model)
    else:
        method = "none (the router declares no way to price a run ahead)"
    return Estimate(
        method=method,
        model=model,
        requests=len(requests),
        cached=cached,
        prefixes=0,
        prefix_tokens=0,
        request_tokens=0,
        input_tokens=0,
        cache_write_tokens=0,
        cache_read_tokens=0,
        output_tokens=0,
        cost_usd=cost,
        batch=batch,
        pricing=caps.pricing,
        unknown_reason="" if cost is not None else reason,
        tokens_counted=False,
    )


def _to_send(
    router: Router, plan: RunPlan, cache: ResponseCache | None
) -> tuple[list[RouteRequest], int]:
    """The requests a run would send, and how many the cache already answers."""
    requests, cached = [], 0
    for case, trial in plan.pending():
        request = RouteRequest(case=case, view=plan.views.for_case(case), trial=trial)
        if cache is not None and isinstance(router, KeyedRouter):
            key = cache_key(router.fingerprint, router.request_key(request), trial)
            if cache.get_json(key) is not None:
                cached += 1
                continue
        requests.append(request)
    return requests, cached


async def _worst_cases(router: CostedRouter, requests: list[RouteRequest]) -> float | None:
    bounds = [await router.cost_bound(r) for r in requests]
    return None if None in bounds else sum(b or 0.0 for b in bounds)


def _token_estimate(
    router: Router,
    plan: RunPlan,
    *,
    cache: ResponseCache | None,
    online: bool,
    batch: bool,
) -> Estimate:
    """One cache write per prompt prefix, cache reads for the rest."""
    requests, cached = _to_send(router, plan, cache)
    rendered = cast(ModelRouter, router)  # it declared estimate="tokens"
    first_by_view: dict[str, RouteRequest] = {}
    for request in requests:
        first_by_view.setdefault(request.view.fingerprint, request)
    prefix = {fp: _prefix_chars(rendered, r) for fp, r in first_by_view.items()}
    # what follows the case's words (a listing placed after the request) is sent fresh each time
    suffix = {fp: _suffix_chars(rendered, r) for fp, r in first_by_view.items()}
    rate = _token_rate(rendered, first_by_view, prefix, suffix, online=online)
    prefix_tokens = {fp: round(chars * rate.per_char) for fp, chars in prefix.items()}
    write = sum(prefix_tokens.values())
    read = sum(prefix_tokens[r.view.fingerprint] for r in requests) - write
    fresh = sum(
        round((len(r.case.prompt) + suffix[r.view.fingerprint]) * rate.per_char) + 8
        for r in requests
    )
    output = ASSUMED_OUTPUT_TOKENS * len(requests)
    model = rendered.model
    described = router.describe()
    cost = rendered.client.table.cost(
        model,
        input_tokens=fresh,
        output_tokens=output,
        cache_write_tokens=write,
        cache_read_tokens=max(0, read),
        batch=batch,
    )
    return Estimate(
        method=rate.method,
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
        placement=described.get("placement"),
        prompt_source=_prompt_source(described),
        unknown_reason=_no_price(model) if cost is None else "",
    )


@dataclass(frozen=True, kw_only=True)
class _TokenRate:
    """Tokens a character of a request, and how that was found."""

    per_char: float
    method: str


def _token_rate(
    rendered: ModelRouter,
    first_by_view: Mapping[str, RouteRequest],
    prefix: Mapping[str, int],
    suffix: Mapping[str, int],
    *,
    online: bool,
) -> _TokenRate:
    """Online, measured with count_tokens on the first request of each view (``prefix`` and
    ``suffix``: its characters before and after the case's words); else approximated."""
    if online:
        measured = asyncio.run(_count(rendered, list(first_by_view.values())))
        per_char = sum(measured.values()) / max(
            1,
            sum(prefix[fp] + suffix[fp] + len(r.case.prompt) for fp, r in first_by_view.items()),
        )
        return _TokenRate(per_char=per_char, method="count_tokens")
    return _TokenRate(
        per_char=1 / CHARS_PER_TOKEN,
        method=f"approximation (characters / {CHARS_PER_TOKEN}); set ANTHROPIC_API_KEY to count",
    )


def _no_price(model: str) -> str:
    return f"no price for {model} in the price table; add it under router.prices"


def _prompt_source(described: Mapping[str, Any]) -> str:
    if described.get("prompt") == "claude-code":
        return f"Claude Code {described.get('profile')} profile, replayed"
    if described.get("prompt") == "approximate":
        why = described.get("approximate_reason")
        return "approximate (agenteval's paraphrase of Claude Code)" + (f": {why}" if why else "")
    return str(described.get("prompt") or "")


def _prefix_chars(router: ModelRouter, request: RouteRequest) -> int:
    """Characters the model reads before the case's words (tools, system, earlier blocks)."""
    return _split_at_request(router, request)[0]


def _suffix_chars(router: ModelRouter, request: RouteRequest) -> int:
    """Characters the model reads after the case's words (not a shareable cache prefix)."""
    return _split_at_request(router, request)[1]


def _split_at_request(router: ModelRouter, request: RouteRequest) -> tuple[int, int]:
    params = router.chat_request(request).params()
    before, after, seen = 0, 0, False
    texts: list[str] = [
        str(t.get("description", "")) + str(t.get("input_schema", ""))
        for t in params.get("tools", [])
    ]
    system = params.get("system", [])
    texts += [system] if isinstance(system, str) else [str(b.get("text", "")) for b in system]
    for message in params["messages"]:
        content = message["content"]
        blocks = [{"text": content}] if isinstance(content, str) else content
        texts += [str(b.get("text", "")) for b in blocks if isinstance(b, dict)]
    prompt = request.case.prompt
    for text in texts:
        if not seen and prompt and prompt in text:
            seen = True
            head, _, tail = text.partition(prompt)
            before, after = before + len(head), len(tail)
        elif seen:
            after += len(text)
        else:
            before += len(text)
    return before, after


async def _count(router: ModelRouter, requests: list[RouteRequest]) -> dict[str, int]:
    try:
        counts = await asyncio.gather(
            *(router.client.count_tokens(router.chat_request(r)) for r in requests)
        )
    finally:
        await router.client.aclose()
    return {r.view.fingerprint: n for r, n in zip(requests, counts, strict=True)}
