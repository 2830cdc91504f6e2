"""Nightly runs through the Message Batches API: half the price, results within hours.

Submit every pending (case, trial) that is not cached, save the batch id in the run folder
(through ``on_submit``), poll with progress, then map each result back to its trial. A run that
is interrupted resumes by polling the saved batch, never by submitting it again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from agenteval.errors import RouterError
from agenteval.execution.cache import cache_key
from agenteval.execution.executor import Executor, StopReason
from agenteval.execution.runner import DECISIONS, RunPlan, RunState, settle
from agenteval.execution.trials import Trial
from agenteval.models.client import BatchClient
from agenteval.routing import Decision, ModelRouter, Router, RouteRequest

MAX_BATCH = 100_000


@dataclass(frozen=True, kw_only=True)
class BatchTicket:
    """What must survive an interruption: the batch ids and which trial each custom_id is."""

    batch_ids: tuple[str, ...]
    custom_ids: Mapping[str, tuple[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_ids": list(self.batch_ids),
            "custom_ids": {k: list(v) for k, v in self.custom_ids.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchTicket:
        return cls(
            batch_ids=tuple(data["batch_ids"]),
            custom_ids={k: (v[0], int(v[1])) for k, v in data["custom_ids"].items()},
        )


def custom_id(case_id: str, trial: int) -> str:
    """A batch custom_id (`^[a-zA-Z0-9_-]{1,64}$`) for a (case, trial)."""
    return f"t{trial}-{hashlib.sha256(case_id.encode()).hexdigest()[:40]}"


async def run_batch(
    router: Router,
    plan: RunPlan,
    executor: Executor,
    *,
    on_trial: Callable[[Trial], None],
    on_submit: Callable[[BatchTicket], None],
    ticket: BatchTicket | None = None,
    state: RunState | None = None,
    poll_s: float = 30.0,
    on_poll: Callable[[str, int, int], None] = lambda status, done, total: None,
    say: Callable[[str], None] = lambda message: None,
) -> RunState:
    """Route the plan through Message Batches: finish polling a saved ``ticket`` first (a
    resume), then submit whatever no batch holds yet (a first run: everything).

    The budget holds here too: each request's worst case is priced at batch rates before
    anything is submitted; when they do not all fit, only the ones that fit are submitted (the
    rest wait for a resume with a larger budget), and when none fits nothing is submitted.

    Raises:
        RouterError: when the router has no batch mode.
    """
    client = router.client if isinstance(router, ModelRouter) else None
    if not isinstance(router, ModelRouter) or not isinstance(client, BatchClient):
        raise RouterError(
            f"the {router.name} router has no batch mode",
            hint="use --batch with --router anthropic",
        )
    pending = plan.pending()
    state = state or RunState(total=len(pending))
    requests = {
        custom_id(case.id, trial): RouteRequest(
            case=case, view=plan.views.for_case(case), trial=trial
        )
        for case, trial in pending
    }
    batch = _Batches(
        router=router,
        client=client,
        executor=executor,
        state=state,
        on_trial=on_trial,
        requests=requests,
    )
    if ticket is not None:  # a resume: the saved batch first, never submitted again
        await batch.collect(ticket, poll_s, on_poll)
        for cid in ticket.custom_ids:
            requests.pop(cid, None)  # an entry the batch did not return is not resubmitted
    # what no batch holds yet: all of it on a first run, what the budget left on a resume
    submitted = await batch.submit(say)
    if submitted is not None:
        on_submit(submitted)
        await batch.collect(submitted, poll_s, on_poll)
    return state


class _BatchRouter(ModelRouter, Router, Protocol):
    """A router that asks a model, and so has a batch mode (with a `BatchClient`)."""


@dataclass
class _Batches:
    """One plan's way through Message Batches: the requests no result has answered yet (by
    custom_id), and the worst-case cost of each one submitted."""

    router: _BatchRouter
    client: BatchClient
    executor: Executor
    state: RunState
    on_trial: Callable[[Trial], None]
    requests: dict[str, RouteRequest]
    bounds: dict[str, float | None] = field(default_factory=dict)

    def finish(self, request: RouteRequest, decision: Decision) -> None:
        settle(self.state, request, decision, self.on_trial)
        self.state.cost_usd = self.executor.money.spent

    def key_of(self, request: RouteRequest) -> str:
        return cache_key(self.router.fingerprint, self.router.request_key(request), request.trial)

    async def collect(
        self, ticket: BatchTicket, poll_s: float, on_poll: Callable[[str, int, int], None]
    ) -> None:
        """Wait for each batch of ``ticket`` to end, then finish the trials its results answer."""
        for batch_id in ticket.batch_ids:
            delay = min(1.0, poll_s)
            while True:
                status = await self.client.batch_status(batch_id)
                on_poll(status.status, status.done, status.total)
                if status.status == "ended":
                    break
                await asyncio.sleep(delay)
                delay = min(poll_s, delay * 2)  # check soon for small batches, then every poll_s
            async for cid, completion in self.client.batch_results(batch_id):
                if cid not in self.requests:
                    continue  # already recorded before an interruption, or not this plan's
                request = self.requests.pop(cid)
                decision = self.router.decide(completion, request.view)
                self.executor.settle(self.bounds.get(cid), decision)
                self.executor.remember(self.key_of(request), decision, DECISIONS)
                self.finish(request, decision)

    async def submit(self, say: Callable[[str], None]) -> BatchTicket | None:
        """Answer what the cache holds, then submit the rest that fits the budget (None:
        nothing)."""
        executor = self.executor
        to_submit: list[tuple[str, RouteRequest]] = []
        for cid, request in self.requests.items():
            hit = executor.cached(self.key_of(request), DECISIONS)
            if hit is not None:
                self.finish(request, hit)
            else:
                to_submit.append((cid, request))
        if not to_submit:
            return None
        discount = self.client.table.batch_discount
        for cid, request in to_submit:
            bound = await self.router.cost_bound(request)
            self.bounds[cid] = None if bound is None else bound * discount
        fits = executor.fits([self.bounds[cid] for cid, _ in to_submit])
        if fits < len(to_submit):
            worst = sum(b or 0.0 for b in self.bounds.values())
            left = len(to_submit) - fits
            message = (
                f"budget of ${executor.max_cost_usd:.2f} covers the worst case of {fits} of "
                f"{len(to_submit)} batch requests (all: ${worst:.4f} at batch prices); "
                + (
                    "nothing was submitted; raise --max-cost"
                    if fits == 0
                    else f"submitting {fits}, the other {left} are left for --resume "
                    "with a larger --max-cost"
                )
            )
            say(message)
            executor.halt(StopReason.BUDGET, message)
            to_submit = to_submit[:fits]
            if not to_submit:
                return None
        for cid, _ in to_submit:
            executor.reserve(self.bounds[cid])
        ids = []
        for start in range(0, len(to_submit), MAX_BATCH):
            chunk = to_submit[start : start + MAX_BATCH]
            ids.append(
                await self.client.submit_batch(
                    [(cid, self.router.chat_request(r)) for cid, r in chunk]
                )
            )
        return BatchTicket(
            batch_ids=tuple(ids),
            custom_ids={cid: (r.case.id, r.trial) for cid, r in to_submit},
        )
