"""Run every (case, trial) through a router, concurrently, without losing any.

The runner is handed a router (it never builds one) and an `Executor` (the one engine: limit,
budget, cache), and reports each finished trial to a callback the moment it is done, so the
caller can append it to `results.jsonl` and update progress. A router failure on one trial
becomes an error on that trial; the run goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from agenteval.cases import Case
from agenteval.execution.cache import cache_key
from agenteval.execution.executor import Executor
from agenteval.execution.trials import Trial, label_of
from agenteval.models.client import FatalModelError, Usage
from agenteval.routing import (
    CostedRouter,
    Decision,
    KeyedRouter,
    ModelRouter,
    Router,
    RouteRequest,
)
from agenteval.views import Views

OVERLOAD_MARKERS = ("429 ", "529 ", "rate_limit", "overloaded")
WARMUP_WAIT_S = 30.0  # the burst waits at most this long for the warm-up answers


@dataclass(frozen=True, kw_only=True)
class RunPlan:
    """What to run: every case, `trials` times, skipping the (case, trial) pairs already done."""

    cases: tuple[Case, ...]
    views: Views
    trials: int = 1
    done: frozenset[tuple[str, int]] = frozenset()

    def pending(self) -> list[tuple[Case, int]]:
        return [
            (c, t) for t in range(self.trials) for c in self.cases if (c.id, t) not in self.done
        ]


@dataclass(kw_only=True)
class RunState:
    """Counters kept while a phase works; read by progress displays."""

    total: int
    done: int = 0
    correct: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True  # False once a billed answer had no known price
    costs_nothing: bool = False  # an offline router's phase (its declared pricing is "none")
    phase: str = "routing"
    in_flight: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def accuracy(self) -> float | None:
        scored = self.done - self.errors
        return self.correct / scored if scored else None


class DecisionCodec:
    """Decisions in the response cache (errors are never stored)."""

    @staticmethod
    def encode(value: Decision) -> dict[str, Any]:
        return {**asdict(value), "cached": False}

    @staticmethod
    def decode(data: Mapping[str, Any]) -> Decision:
        """A stored decision; ValueError when the entry is not one (a cache is read as a miss)."""
        values = dict(data)
        agent = values.get("agent", ...)
        if agent is ... or not (agent is None or isinstance(agent, str)):
            raise ValueError("a cached decision needs an agent name or null")
        try:
            values["usage"] = Usage(**values.get("usage") or {})
            known = Decision.__dataclass_fields__
            return Decision(**{k: v for k, v in values.items() if k in known} | {"cached": True})
        except TypeError as exc:
            raise ValueError(f"not a cached decision: {exc}") from exc


DECISIONS = DecisionCodec()


def _replayed(data: Mapping[str, Any]) -> Decision | None:
    """A cached decision, or None for an entry of another shape (a miss: routed again, and
    its answer stored over the entry)."""
    try:
        return DECISIONS.decode(data)
    except ValueError:
        return None


def is_overload(outcome: Decision) -> bool:
    return any(m in (outcome.error or "") for m in OVERLOAD_MARKERS)


async def run_plan(
    router: Router,
    plan: RunPlan,
    executor: Executor,
    *,
    on_trial: Callable[[Trial], None] = lambda t: None,
    state: RunState | None = None,
    warmup_wait_s: float = WARMUP_WAIT_S,
) -> RunState:
    """Route every pending (case, trial), calling ``on_trial`` as each one finishes.

    Cached answers are replayed first. For a router that asks a model, one request per catalog
    view goes first so that the burst after it reads the prompt cache instead of writing it; the
    burst waits for those at most ``warmup_wait_s`` (a stalled warm-up never holds up the rest
    past that, and each request has its own deadline in the client).

    Returns:
        The final counters; ``executor.stop`` says why the run stopped early, if it did.
    """
    pending = plan.pending()
    state = state or RunState(total=len(pending))
    costed = router if isinstance(router, CostedRouter) else None
    if isinstance(router, ModelRouter):
        router.client.on_overload(executor.limit.overloaded)

    def finish(request: RouteRequest, decision: Decision) -> None:
        settle(state, request, decision, on_trial)
        state.cost_usd, state.cost_known = executor.money.spent, executor.money.unknown == 0
        state.in_flight = executor.in_flight

    # 1. answers already in the cache, read in one query
    requests = [
        RouteRequest(case=case, view=plan.views.for_case(case), trial=trial)
        for case, trial in pending
    ]
    fresh = _replay_cached(router, requests, executor, finish)

    async def one(item: tuple[RouteRequest, str | None]) -> None:
        request, key = item
        decision = await executor.call(
            lambda: route_safely(router, request),
            bound=(lambda: costed.cost_bound(request)) if costed is not None else None,
            key=key,
            codec=DECISIONS if key is not None else None,
            overload=is_overload,
            replay=False,  # looked up above
        )
        if decision is not None:  # None: not started (the run stopped); left for --resume
            finish(request, decision)

    # 2. one request per prompt prefix, then 3. the burst
    await _warm_then_burst(router, fresh, one, executor, warmup_wait_s)
    return state


def _replay_cached(
    router: Router,
    requests: Sequence[RouteRequest],
    executor: Executor,
    finish: Callable[[RouteRequest, Decision], None],
) -> list[tuple[RouteRequest, str | None]]:
    """Finish the requests whose answers the cache holds (read in one query); the rest, each
    with its cache key (None: not cached), are left to route."""
    keyed = router if isinstance(router, KeyedRouter) else None
    keys: list[str | None] = [None] * len(requests)
    stored: dict[str, dict[str, Any]] = {}
    if keyed is not None and executor.cache is not None:
        keys = [cache_key(router.fingerprint, keyed.request_key(r), r.trial) for r in requests]
        stored = executor.cache.get_many([k for k in keys if k is not None])
    fresh: list[tuple[RouteRequest, str | None]] = []
    for request, key in zip(requests, keys, strict=True):
        hit = _replayed(stored[key]) if key is not None and key in stored else None
        if hit is not None:
            finish(request, hit)
            continue
        fresh.append((request, key))
    return fresh


async def _warm_then_burst(
    router: Router,
    fresh: Sequence[tuple[RouteRequest, str | None]],
    one: Callable[[tuple[RouteRequest, str | None]], Coroutine[Any, Any, None]],
    executor: Executor,
    warmup_wait_s: float,
) -> None:
    """Route ``fresh`` with ``one``: one request per prompt prefix first, so the prefix is cached
    before the burst (waited for at most ``warmup_wait_s``), then the rest, with at most the
    executor's limit in flight."""
    warm = _one_per_prefix(router, fresh)
    warm_tasks = [asyncio.create_task(one(item)) for item in warm]
    if warm_tasks:
        await asyncio.wait(warm_tasks, timeout=warmup_wait_s)
    warmed = {id(item) for item in warm}
    try:
        await executor.drain([item for item in fresh if id(item) not in warmed], one)
        if warm_tasks:
            await asyncio.gather(*warm_tasks)
    finally:
        for task in warm_tasks:
            task.cancel()


def _one_per_prefix(
    router: Router, fresh: Sequence[tuple[RouteRequest, str | None]]
) -> list[tuple[RouteRequest, str | None]]:
    """For a router that asks a model, the first request of each catalog view (each prompt
    prefix); none for other routers."""
    warm: list[tuple[RouteRequest, str | None]] = []
    if isinstance(router, ModelRouter):
        seen: set[str] = set()
        for item in fresh:
            if item[0].view.fingerprint not in seen:
                seen.add(item[0].view.fingerprint)
                warm.append(item)
    return warm


def settle(
    state: RunState,
    request: RouteRequest,
    decision: Decision,
    on_trial: Callable[[Trial], None],
) -> Trial:
    """Label a decision, count it in the state, and hand the trial to ``on_trial``."""
    case = request.case
    result = Trial(
        case_id=case.id,
        trial=request.trial,
        expected=case.expected,  # as written: the first acceptable agent owns it
        label=label_of(decision, request.view.names, case.expected),
        decision=decision,
    )
    state.done += 1
    state.correct += result.correct
    state.errors += result.error is not None
    on_trial(result)
    return result


async def route_safely(router: Router, request: RouteRequest) -> Decision:
    """Route one request; any exception but a fatal one becomes an error on this trial."""
    start = time.perf_counter()
    try:
        return await router.route(request)
    except (asyncio.CancelledError, FatalModelError):
        raise
    except Exception as exc:  # one case's failure is data, never the end of the run
        return Decision(
            agent=None, error=f"{type(exc).__name__}: {exc}", latency_s=time.perf_counter() - start
        )
