"""Nightly runs through the Message Batches API: half the price, results within hours.

Submit every pending (case, trial) that is not cached, save the batch id in the run folder
(through ``on_submit``), poll with progress, then map each result back to its trial. A run that
is interrupted resumes by polling the saved batch, never by submitting it again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agenteval.cases import Case
from agenteval.errors import RouterError
from agenteval.execution.cache import ResponseCache, cache_key
from agenteval.execution.runner import RunPlan, RunState, Trial, settle
from agenteval.routing import BatchRouter, Decision, Router, RouteRequest

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
    *,
    on_trial: Callable[[Trial], None],
    on_submit: Callable[[BatchTicket], None],
    ticket: BatchTicket | None = None,
    state: RunState | None = None,
    cache: ResponseCache | None = None,
    poll_s: float = 30.0,
    on_poll: Callable[[str, int, int], None] = lambda status, done, total: None,
) -> RunState:
    """Route the plan through Message Batches (or finish polling a saved ``ticket``).

    Raises:
        RouterError: when the router has no batch support.
    """
    if not isinstance(router, BatchRouter):
        raise RouterError(
            f"the {router.name} router has no batch mode",
            hint="use --batch with --router anthropic",
        )
    pending = plan.pending()
    state = state or RunState(total=len(pending))
    requests: dict[str, tuple[Case, RouteRequest]] = {}
    for case, trial in pending:
        request = RouteRequest(case=case, view=plan.views.for_case(case), trial=trial)
        requests[custom_id(case.id, trial)] = (case, request)

    def finish(case: Case, request: RouteRequest, decision: Decision) -> None:
        settle(state, case, request.trial, request.view.names, decision, on_trial)

    keys: dict[str, str] = {}
    if ticket is None:
        to_submit = []
        for cid, (case, request) in requests.items():
            key = cache_key(router.fingerprint, router.request_key(request), request.trial)
            hit = cache.get(key) if cache is not None else None
            if hit is not None:
                finish(case, request, hit)
            else:
                keys[cid] = key
                to_submit.append((cid, request))
        if not to_submit:
            return state
        ids = []
        for start in range(0, len(to_submit), MAX_BATCH):
            ids.append(await router.submit_batch(to_submit[start : start + MAX_BATCH]))
        ticket = BatchTicket(
            batch_ids=tuple(ids),
            custom_ids={cid: (requests[cid][0].id, requests[cid][1].trial) for cid, _ in to_submit},
        )
        on_submit(ticket)
    else:
        for cid, (_, request) in requests.items():
            keys[cid] = cache_key(router.fingerprint, router.request_key(request), request.trial)

    for batch_id in ticket.batch_ids:
        delay = min(1.0, poll_s)
        while True:
            status, done, total = await router.batch_status(batch_id)
            on_poll(status, done, total)
            if status == "ended":
                break
            await asyncio.sleep(delay)
            delay = min(poll_s, delay * 2)  # check soon for small batches, then every poll_s
        async for cid, message, error in router.batch_results(batch_id):
            if cid not in requests:
                continue  # already recorded before an interruption, or not this plan's
            case, request = requests.pop(cid)
            if error is not None:
                decision = Decision(agent=None, error=error)
            else:
                decision = router.decide(message, request.view, batch=True)
                if cache is not None and cid in keys:
                    cache.put(keys[cid], decision)
            finish(case, request, decision)
    return state
