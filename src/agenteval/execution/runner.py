"""Run every (case, trial) through a router, concurrently, without losing any.

The runner is handed a router (it never builds one) and reports each finished trial to a callback
the moment it is done, so the caller can append it to `results.jsonl` and update progress. A
router failure on one trial becomes an error on that trial; the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from agenteval.cases import INVALID_LABEL, NONE_LABEL, Case
from agenteval.execution.cache import ResponseCache, cache_key
from agenteval.routing import (
    Decision,
    FatalRouterError,
    KeyedRouter,
    OverloadWatcher,
    Router,
    RouteRequest,
)
from agenteval.views import Views


@dataclass(frozen=True, kw_only=True)
class Trial:
    """One (case, trial index) with the router's decision and the label it is scored as.

    ``label`` is an agent name, ``none`` or ``invalid``; it is None when the trial errored, and
    such a trial is counted apart, never as a misroute.
    """

    case_id: str
    trial: int
    expected: tuple[str, ...]
    label: str | None
    decision: Decision

    @property
    def error(self) -> str | None:
        return self.decision.error

    @property
    def correct(self) -> bool:
        return self.label is not None and self.label in self.expected


@dataclass(frozen=True, kw_only=True)
class ResultRow:
    """One line of results.jsonl: a trial and the case it ran."""

    case: Case
    trial: Trial


def label_of(decision: Decision, names: Collection[str]) -> str | None:
    """The scored label of a decision: a catalog name, ``none``, ``invalid``, or None on error."""
    if decision.error is not None:
        return None
    if decision.agent is None:
        return NONE_LABEL
    return decision.agent if decision.agent in names else INVALID_LABEL


@dataclass(kw_only=True)
class AdaptiveLimit:
    """A concurrency limit that halves on overload (429/529) and grows back by one on success."""

    limit: int
    ceiling: int
    floor: int = 1
    in_flight: int = 0
    _cond: asyncio.Condition = field(default_factory=asyncio.Condition)
    _wakers: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> AdaptiveLimit:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        async with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def overloaded(self) -> None:
        self.limit = max(self.floor, self.limit // 2)

    def succeeded(self) -> None:
        if self.limit < self.ceiling:
            self.limit += 1
            with contextlib.suppress(RuntimeError):  # no running loop: nobody is waiting
                task = asyncio.get_running_loop().create_task(self._wake())  # wake one now
                self._wakers.add(task)
                task.add_done_callback(self._wakers.discard)

    async def _wake(self) -> None:
        async with self._cond:
            self._cond.notify(1)


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
    """Counters the runner keeps while it works; read by progress displays."""

    total: int
    done: int = 0
    correct: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True
    paid: int = 0  # requests answered by the API (not the cache) without error
    unit_cost: float | None = None  # recent cost of one request (cache reads after the warm-up)
    phase: str = "routing"
    in_flight: int = 0
    started: float = field(default_factory=time.monotonic)
    stopped_reason: str | None = None

    def note_cost(self, cost: float | None) -> None:
        """Track what one request costs now: the warm-up's cache writes fade out quickly."""
        if cost is not None:
            self.unit_cost = cost if self.unit_cost is None else 0.5 * self.unit_cost + 0.5 * cost

    @property
    def accuracy(self) -> float | None:
        scored = self.done - self.errors
        return self.correct / scored if scored else None


T = TypeVar("T")

OVERLOAD_MARKERS = ("429 ", "529 ", "rate_limit", "overloaded")


async def run_plan(
    router: Router,
    plan: RunPlan,
    *,
    concurrency: int = 16,
    on_trial: Callable[[Trial], None] = lambda t: None,
    max_cost_usd: float | None = None,
    state: RunState | None = None,
    cache: ResponseCache | None = None,
) -> RunState:
    """Route every pending (case, trial), calling ``on_trial`` as each one finishes.

    Cached answers are replayed first. For a router with a prompt cache, one request per catalog
    view goes alone first so that the burst after it reads the prompt cache instead of writing it.

    Args:
        router: The router to ask.
        plan: The cases, views, trial count and what is already done (for resume).
        concurrency: The most requests in flight at once (halved on overload, then regrown).
        on_trial: Called once per finished trial, in completion order.
        max_cost_usd: Stop starting requests once the spend so far, plus the average cost of a
            request for each request in flight and the next one, would pass this budget.
        state: Counters to update (pass one in to watch progress from elsewhere).
        cache: The response cache, for routers that have ``request_key``.

    Returns:
        The final counters; ``stopped_reason`` says why the run stopped early, if it did.
    """
    pending = plan.pending()
    state = state or RunState(total=len(pending))
    limit = AdaptiveLimit(limit=concurrency, ceiling=concurrency)
    keyed = router if isinstance(router, KeyedRouter) else None
    caching = keyed is not None
    watched = isinstance(router, OverloadWatcher)
    if isinstance(router, OverloadWatcher):
        router.on_overload(limit.overloaded)
    stop = asyncio.Event()

    def finish(case: Case, trial: int, view_names: frozenset[str], decision: Decision) -> None:
        settle(state, case, trial, view_names, decision, on_trial)

    # 1. answers already in the cache
    fresh: list[tuple[Case, int, RouteRequest, str | None]] = []
    for case, trial in pending:
        request = RouteRequest(case=case, view=plan.views.for_case(case), trial=trial)
        key = None
        if keyed is not None and cache is not None:
            key = cache_key(keyed.fingerprint, keyed.request_key(request), trial)
            hit = cache.get(key)
            if hit is not None:
                finish(case, trial, request.view.names, hit)
                continue
        fresh.append((case, trial, request, key))

    async def one(item: tuple[Case, int, RouteRequest, str | None]) -> None:
        case, trial, request, key = item
        async with limit:
            if stop.is_set():
                return
            if max_cost_usd is not None and over_budget(state, max_cost_usd):
                state.stopped_reason = state.stopped_reason or (
                    f"budget of ${max_cost_usd:.2f} reached (spent ${state.cost_usd:.4f})"
                )
                stop.set()
                return
            state.in_flight += 1
            try:
                decision = await _route_safely(router, request)
            except FatalRouterError as exc:
                state.stopped_reason = state.stopped_reason or f"stopped: {exc}"
                stop.set()
                return
            finally:
                state.in_flight -= 1
        if decision.error and any(m in decision.error for m in OVERLOAD_MARKERS) and not watched:
            limit.overloaded()  # a router that reports every 429/529 itself already did this
        elif not decision.error:
            limit.succeeded()
        if key is not None and cache is not None:
            cache.put(key, decision)
        finish(case, trial, request.view.names, decision)

    # 2. one request per prompt prefix, so the prefix is cached before the burst
    warm: list[tuple[Case, int, RouteRequest, str | None]] = []
    if caching:
        seen: set[str] = set()
        for item in fresh:
            if item[2].view.fingerprint not in seen:
                seen.add(item[2].view.fingerprint)
                warm.append(item)
        if max_cost_usd is None:
            await asyncio.gather(*(one(item) for item in warm))
        else:  # one at a time: the first answer tells what a request costs before more start
            for item in warm:
                await one(item)
    warmed = {id(item) for item in warm}
    # 3. the rest, with at most `limit` in flight
    await drain(
        [item for item in fresh if id(item) not in warmed], one, workers=concurrency, stop=stop
    )
    return state


async def drain(
    items: Sequence[T], one: Callable[[T], Awaitable[None]], *, workers: int, stop: asyncio.Event
) -> None:
    """Run ``one(item)`` for every item on at most ``workers`` tasks, until ``stop`` is set.

    The concurrency limit itself is ``one``'s business (an `AdaptiveLimit`); workers only
    bound how many items are taken from the queue at once.
    """
    queue = iter(items)

    async def worker() -> None:
        for item in queue:
            if stop.is_set():
                return
            await one(item)

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, min(workers, len(items))))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()


def settle(
    state: RunState,
    case: Case,
    trial: int,
    view_names: frozenset[str],
    decision: Decision,
    on_trial: Callable[[Trial], None],
) -> Trial:
    """Label a decision, count it in the state, and hand the trial to ``on_trial``."""
    result = Trial(
        case_id=case.id,
        trial=trial,
        expected=tuple(sorted(case.expected)),
        label=label_of(decision, view_names),
        decision=decision,
    )
    state.done += 1
    state.correct += result.correct
    state.errors += result.error is not None
    if not decision.cached:
        if decision.cost_usd is None and not decision.error:  # billed, but no known price
            state.cost_known = False
        state.cost_usd += decision.cost_usd or 0.0
        state.paid += decision.error is None
        state.note_cost(decision.cost_usd)
    on_trial(result)
    return result


def over_budget(state: RunState, budget: float) -> bool:
    """Would one more request, with those in flight, pass the budget? Each is priced at what a
    request costs lately (so the warm-up's cache writes do not make the guess 10x too high)."""
    average = state.cost_usd / state.paid if state.paid else 0.0
    unit = state.unit_cost if state.unit_cost is not None else average
    return state.cost_usd + (state.in_flight + 1) * unit > budget


async def _route_safely(router: Router, request: RouteRequest) -> Decision:
    start = time.perf_counter()
    try:
        return await router.route(request)
    except (asyncio.CancelledError, FatalRouterError):
        raise
    except Exception as exc:  # one case's failure is data, never the end of the run
        return Decision(
            agent=None, error=f"{type(exc).__name__}: {exc}", latency_s=time.perf_counter() - start
        )
