"""`agenteval improve`: propose description changes for the worst confusions and prove them.

1. Route every case once with the chosen router (the current catalog).
2. Split the cases: a stable 60 % the proposer may see (training), 40 % it never sees (held out).
3. For the worst confused pairs and most-missed agents of the training decisions, ask the model
   for new prose (up to `attempts` times), screen each proposal on the training cases of the
   agents involved, and verify the best on every held-out case of the catalog.
4. Accept a change only when it is a significant gain (the regression gate's one-sided paired
   test), leaks no held-out request, steals no other agent's cases, and Claude Code reads the
   rewritten file exactly as proposed. Accepted changes stack: the next target is worked on
   against the catalog with the earlier ones in.
Every call goes through one Executor: one budget, one cache (a rerun is answered from it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agenteval.cases import Case
from agenteval.catalog import Agent, Catalog
from agenteval.execution.executor import Executor
from agenteval.improve.ask import ask_json
from agenteval.improve.patch import FileChange, rewrite_file
from agenteval.improve.propose import (
    SYSTEM,
    Target,
    hide_cases,
    misroutes_between,
    proposal_prompt,
    read_proposal,
    with_prose,
    worst_targets,
)
from agenteval.improve.verify import Routed, Verdict, judge, leaked, route, variant
from agenteval.models.client import ModelClient
from agenteval.routing import Router
from agenteval.views import Holdout

HELD_OUT_SHARE = 0.4
PROPOSAL_TOKENS = 2048


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One proposal and what became of it."""

    target: Target
    attempt: int
    descriptions: Mapping[str, str] = field(default_factory=dict)  # the whole new descriptions
    prose: Mapping[str, str] = field(default_factory=dict)
    why: str = ""
    screen_before: int = 0  # training cases right before / after, among the target's
    screen_after: int = 0
    screen_cases: int = 0
    verdict: Verdict | None = None
    changes: tuple[FileChange, ...] = ()
    accepted: bool = False
    reason: str = ""  # why it was rejected, or what it proved
    calls: int = 0  # model calls for this target (proposals) ...
    routed: int = 0  # ... and cases routed to screen and verify it


@dataclass(frozen=True, kw_only=True)
class Improvement:
    """An improve session: every attempt, and what it cost."""

    router: str
    model: str
    cases: int
    training: int
    held_out: int
    accuracy_before: float | None  # on the held-out cases, before any change
    accuracy_after: float | None  # with every accepted change in
    attempts: tuple[Attempt, ...]
    targets: tuple[Target, ...]
    cost_usd: float
    calls: int
    routed: int
    stop: str | None = None  # why the session stopped early (the budget), if it did
    malformed: int = 0

    @property
    def accepted(self) -> tuple[Attempt, ...]:
        return tuple(a for a in self.attempts if a.accepted)


def held_out(case: Case) -> bool:
    """Is the case in the part the proposer never sees (a stable 40 % by case id)?"""
    digest = int(hashlib.sha256(case.id.encode()).hexdigest()[:8], 16)
    return digest % 100 < HELD_OUT_SHARE * 100


@dataclass
class _Session:
    router: Router
    client: ModelClient
    executor: Executor
    model: str | None
    holdout: Holdout
    version: str
    significance: float
    agents: Mapping[str, Agent]  # the recovered reading: bodies, files
    training: Sequence[Case]
    test: Sequence[Case]
    note: Callable[[str], Any]
    shown: Catalog  # the routed catalog, with accepted changes in
    current: dict[str, str] = field(default_factory=dict)  # name -> description now
    calls: int = 0
    routed: int = 0
    malformed: int = 0
    verified: Routed | None = None  # the held-out routing of the last accepted proposal

    async def routed_on(self, catalog: Catalog, cases: Sequence[Case]) -> Routed:
        self.routed += len(cases)
        return await route(self.router, catalog, cases, self.holdout, self.executor)

    async def first_answers(
        self, cases: Sequence[Case], router_name: str, start: Routed | None
    ) -> Routed:
        """The current catalog's answers on every case: routed now, or a saved run's
        (``start``)."""
        if start is None:
            self.note(f"routing {len(cases)} cases with {router_name} ({len(self.test)} held out)")
            return await self.routed_on(self.shown, cases)
        self.note(
            f"starting from {len(start.right)} answers of a saved run ({len(self.test)} held out)"
        )
        return start

    def improvement(
        self,
        router_name: str,
        cases: Sequence[Case],
        work: tuple[Target, ...],
        attempts: Sequence[Attempt],
        before: Routed,
        after: Routed,
    ) -> Improvement:
        """What the session did: every attempt, the held-out accuracy ``before`` and ``after``
        every accepted change, and what it cost."""
        return Improvement(
            router=router_name,
            model=self.client.resolve_model(self.model),
            cases=len(cases),
            training=len(self.training),
            held_out=len(self.test),
            accuracy_before=_accuracy(before),
            accuracy_after=_accuracy(after),
            attempts=tuple(attempts),
            targets=work,
            cost_usd=self.executor.money.spent,
            calls=self.calls,
            routed=self.routed,
            stop=self.executor.stop.message if self.executor.stop else None,
            malformed=self.malformed,
        )

    async def work_through(
        self,
        work: Sequence[Target],
        labels: Mapping[str, str],
        attempts: int,
        before: Routed,
    ) -> tuple[list[Attempt], Routed]:
        """Work on each target in turn; an accepted change stays in for the next one.

        Returns:
            Every attempt, and the held-out answers with every accepted change in.
        """
        done: list[Attempt] = []
        for target in work:
            if self.executor.stopped.is_set():
                break
            self.note(f"working on {target.why}")
            found = await self.work_on(target, labels, attempts, before)
            done.extend(found)
            winner = next((a for a in found if a.accepted), None)
            if winner is not None:
                self.current.update(winner.descriptions)
                self.shown = variant(self.shown, winner.descriptions)
                assert self.verified is not None  # set by the accepted attempt
                before = self.verified
        return done, before

    async def work_on(
        self, target: Target, labels: Mapping[str, str], attempts: int, before: Routed
    ) -> list[Attempt]:
        """Propose for one target until a proposal is accepted or the attempts run out."""
        done: list[Attempt] = []
        involved = set(target.agents)
        screen = [
            c for c in self.training if set(c.expected) & involved or labels.get(c.id) in involved
        ]
        misroutes = misroutes_between(target, labels, self.training)
        now = await self.routed_on(self.shown, screen)  # the screen's baseline, once a target
        for n in range(attempts):
            calls0, routed0 = self.calls, self.routed
            attempt = await self._attempt(target, n, misroutes, screen, before, now)
            attempt = _with_costs(attempt, self.calls - calls0, self.routed - routed0)
            done.append(attempt)
            if attempt.accepted or self.executor.stopped.is_set():
                break
        return done

    async def _attempt(
        self,
        target: Target,
        n: int,
        misroutes: Any,
        screen: Sequence[Case],
        before: Routed,
        now: Routed,
    ) -> Attempt:
        shown = {name: hide_cases(self.agents[name], self.test) for name in target.agents}
        asked = await ask_json(
            self.client,
            self.executor,
            purpose=f"propose:{n}",
            system=SYSTEM,
            prompt=proposal_prompt(target, self.agents, shown, misroutes, n),
            model=self.model,
            max_tokens=PROPOSAL_TOKENS,
        )
        if not asked.started:
            return Attempt(target=target, attempt=n, reason="not asked: the budget stopped it")
        self.calls += asked.completion is not None and not asked.completion.cached
        proposal = read_proposal(asked.data, target)
        if proposal.prose is None:
            self.malformed += 1
            return Attempt(target=target, attempt=n, reason=f"malformed: {proposal.problem}")
        prose = dict(proposal.prose)
        descriptions = {k: with_prose(self.current[k], v) for k, v in prose.items()}
        why = str((asked.data or {}).get("why") or "")[:500]
        base = Attempt(target=target, attempt=n, descriptions=descriptions, prose=prose, why=why)
        return await self._check(base, screen, before, now)

    async def _check(
        self, attempt: Attempt, screen: Sequence[Case], before: Routed, now: Routed
    ) -> Attempt:
        from dataclasses import replace

        leaks = leaked(attempt.prose, self.test)
        if leaks:
            return replace(attempt, reason=f"leakage: it repeats held-out case {leaks[0]}")
        changes = []
        for name, description in attempt.descriptions.items():
            change = rewrite_file(self.agents[name], description, version=self.version)
            if change.problem:
                return replace(attempt, reason=f"{name}: {change.problem}")
            changes.append(change)
        attempt = replace(attempt, changes=tuple(changes))
        candidate = variant(self.shown, attempt.descriptions)
        screened = await self.routed_on(candidate, screen)
        right_before = sum(now.right.get(c.id, False) for c in screen)
        right_after = sum(screened.right.get(c.id, False) for c in screen)
        attempt = replace(
            attempt, screen_before=right_before, screen_after=right_after, screen_cases=len(screen)
        )
        if right_after <= right_before:
            return replace(
                attempt,
                reason=(
                    f"screening: {right_after} of {len(screen)} training cases right, "
                    f"{right_before} before: no better"
                ),
            )
        after = await self.routed_on(candidate, self.test)
        verdict = judge(
            before, after, self.test, attempt.target.agents, significance=self.significance
        )
        attempt = replace(attempt, verdict=verdict)
        if verdict.stolen:
            return replace(
                attempt,
                reason=(
                    f"stealing: it breaks {len(verdict.stolen)} held-out cases of other agents "
                    f"({', '.join(verdict.stolen[:3])})"
                ),
            )
        if not verdict.significant:
            return replace(attempt, reason=verdict.sentence)
        self.verified = after  # the next target's baseline: no need to route it again
        return replace(attempt, accepted=True, reason=verdict.sentence)


def _with_costs(attempt: Attempt, calls: int, routed: int) -> Attempt:
    from dataclasses import replace

    return replace(attempt, calls=calls, routed=routed)


async def improve_catalog(
    *,
    catalog: Catalog,
    shown: Catalog,
    cases: Sequence[Case],
    router: Router,
    router_name: str,
    client: ModelClient,
    executor: Executor,
    model: str | None,
    holdout: Holdout,
    version: str,
    significance: float = 0.05,
    targets: int = 3,
    attempts: int = 2,
    note: Callable[[str], Any] = lambda s: None,
    start: Routed | None = None,
) -> Improvement:
    """Run the loop (module docstring) and return every attempt.

    Args:
        catalog: The recovered reading (bodies, files); `shown`: the catalog the router sees.
        cases: Every case of the run.
        router: The router that verifies (lexical offline, the API router, claude-cli).
        client: The proposer's model client; `model` its model (alias or id).
        holdout: The run's holdout, so each case is routed as a run would route it.
        version: The Claude Code version whose reading a rewritten file must pass.
        significance: The one-sided level of the paired test (the regression gate's).
        targets: How many pairs or agents to work on; `attempts` proposals at most each.
        start: The answers of a saved run of this catalog with this router (None: route).
    """
    training = [c for c in cases if not held_out(c)]
    test = [c for c in cases if held_out(c)]
    session = _Session(
        router=router,
        client=client,
        executor=executor,
        model=model,
        holdout=holdout,
        version=version,
        significance=significance,
        agents={a.name: a for a in catalog.agents},
        training=training,
        test=test,
        note=note,
        shown=shown,
        current={a.name: a.description for a in catalog.agents},
    )
    first = await session.first_answers(cases, router_name, start)
    labels = {c.id: first.labels[c.id] for c in training if c.id in first.labels}
    work = worst_targets(labels, training, [a.name for a in shown.agents], targets)
    before_all = Routed(
        labels={k: v for k, v in first.labels.items()},
        right={c.id: first.right[c.id] for c in test if c.id in first.right},
    )
    attempts_done, after = await session.work_through(work, labels, attempts, before_all)
    return session.improvement(router_name, cases, work, attempts_done, before_all, after)


def _accuracy(routed: Routed) -> float | None:
    values = list(routed.right.values())
    return sum(values) / len(values) if values else None


def changed_files(improvement: Improvement) -> tuple[FileChange, ...]:
    """The accepted changes' files, one change per file (the last description of each agent)."""
    latest: dict[Path, FileChange] = {}
    for attempt in improvement.accepted:
        for change in attempt.changes:
            latest[change.path] = change
    return tuple(latest.values())
