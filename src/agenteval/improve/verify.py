"""Proving a proposed description: route the cases again, test the change, check for leakage,
stealing, and that Claude Code reads the new file as proposed.

The test is the regression gate's: the paired score test (McNemar's, Tango's interval) on the
held-out cases, one-sided, at the gate's significance. A change is accepted only when it is a
significant gain on cases the proposer never saw and costs no other agent's cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from agenteval.cases import Case
from agenteval.catalog import Catalog
from agenteval.catalog.claude_code import read_file
from agenteval.catalog.files import AgentFile
from agenteval.execution.executor import Executor
from agenteval.execution.runner import RunPlan, run_plan
from agenteval.execution.trials import Trial
from agenteval.improve.leakage import repeats
from agenteval.improve.propose import first_expected
from agenteval.routing import Router
from agenteval.stats.paired import GATE_CONTINUITY, paired_table
from agenteval.views import Holdout, build_views


@dataclass(frozen=True, kw_only=True)
class Routed:
    """Each case's first-trial label and whether it was right (errored trials left out)."""

    labels: Mapping[str, str]
    right: Mapping[str, bool]
    errors: int = 0


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """A proposal against the current catalog on the held-out cases."""

    cases: int
    accuracy_before: float | None
    accuracy_after: float | None
    fixed: tuple[str, ...]  # case ids
    broken: tuple[str, ...]
    delta: float | None
    interval: tuple[float, float] | None  # two-sided 95%
    p_value: float | None  # one-sided, "no gain"
    lower: float | None  # the one-sided lower bound of the gain at the level
    stolen: tuple[str, ...]  # broken cases of agents outside the proposal, net of fixed ones
    significance: float
    sentence: str

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < self.significance


def variant(shown: Catalog, descriptions: Mapping[str, str]) -> Catalog:
    """The routed catalog with some descriptions replaced."""
    return replace(
        shown,
        agents=tuple(
            replace(a, description=descriptions[a.name]) if a.name in descriptions else a
            for a in shown.agents
        ),
    )


async def route(
    router: Router,
    catalog: Catalog,
    cases: Sequence[Case],
    holdout: Holdout,
    executor: Executor,
) -> Routed:
    """Route each case once against `catalog` (as a run would, holdout included)."""
    trials: list[Trial] = []
    if cases:
        views = build_views(catalog, holdout, cases)
        await run_plan(
            router, RunPlan(cases=tuple(cases), views=views), executor, on_trial=trials.append
        )
    scored = [t for t in trials if t.error is None and t.label is not None]
    return Routed(
        labels={t.case_id: t.label for t in scored if t.label is not None},
        right={t.case_id: t.correct for t in scored},
        errors=len(trials) - len(scored),
    )


def judge(
    before: Routed,
    after: Routed,
    cases: Sequence[Case],
    involved: Sequence[str],
    *,
    significance: float,
) -> Verdict:
    """Test `after` against `before` on the cases both scored."""
    shared = [c for c in cases if c.id in before.right and c.id in after.right]
    fixed = tuple(c.id for c in shared if after.right[c.id] and not before.right[c.id])
    broken = tuple(c.id for c in shared if before.right[c.id] and not after.right[c.id])
    owner = {c.id: first_expected(c) for c in shared}
    others_broken = [i for i in broken if owner[i] not in involved]
    others_fixed = [i for i in fixed if owner[i] not in involved]
    stolen = tuple(others_broken) if len(others_broken) > len(others_fixed) else ()
    if not shared:
        return Verdict(
            cases=0,
            accuracy_before=None,
            accuracy_after=None,
            fixed=(),
            broken=(),
            delta=None,
            interval=None,
            p_value=None,
            lower=None,
            stolen=(),
            significance=significance,
            sentence="No held-out case was scored both ways, so nothing can be said.",
        )
    a = [float(before.right[c.id]) for c in shared]
    b = [float(after.right[c.id]) for c in shared]
    table = paired_table(a, b)
    reverse = paired_table(b, a)  # "after is better" is "before minus after is below 0"
    # the regression gate's test: one-sided, with its continuity correction
    p = reverse.p_value(0.0, "less", continuity=GATE_CONTINUITY)
    lower = -reverse.upper(1 - significance, continuity=GATE_CONTINUITY)
    verdict = Verdict(
        cases=len(shared),
        accuracy_before=sum(a) / len(a),
        accuracy_after=sum(b) / len(b),
        fixed=fixed,
        broken=broken,
        delta=table.delta,
        interval=table.interval(),
        p_value=p,
        lower=lower,
        stolen=stolen,
        significance=significance,
        sentence="",
    )
    return replace(verdict, sentence=_sentence(verdict))


def _sentence(v: Verdict) -> str:
    assert v.delta is not None and v.p_value is not None and v.lower is not None
    shown_p = "p < 0.001" if v.p_value < 0.001 else f"p = {v.p_value:.3f}"
    moved = f"{len(v.fixed)} fixed, {len(v.broken)} broken"
    cases = f"{v.cases} held-out case{'s' if v.cases != 1 else ''}"
    if v.delta <= 0:
        how = "no better" if v.delta == 0 else f"{-v.delta * 100:.1f} points worse"
        return f"No gain: the change is {how} on {cases} ({moved}; one-sided {shown_p})."
    head = f"the change is {v.delta * 100:.1f} points better on {cases} ({moved})"
    if v.p_value < v.significance:
        return (
            f"Gain: {head}: a significant gain (one-sided {shown_p}; with "
            f"{(1 - v.significance) * 100:g}% confidence the gain is at least "
            f"{v.lower * 100:.1f} points)."
        )
    return f"Not a significant gain: {head} (one-sided {shown_p}): it could be chance."


def leaked(descriptions: Mapping[str, str], held_out: Sequence[Case]) -> tuple[str, ...]:
    """Held-out cases whose request a proposed text repeats (verbatim or near-verbatim)."""
    return tuple(
        c.id for c in held_out if any(repeats(c.prompt, text) for text in descriptions.values())
    )


def claude_code_reads(
    path: str, text: str, name: str, description: str, *, version: str
) -> str | None:
    """None when Claude Code's reading of `text` lists `name` with exactly `description`;
    else what it does instead."""
    from pathlib import Path

    shown = read_file(AgentFile(path=Path(path), relative=Path(path).name), text, version=version)
    if shown.status != "listed":
        return f"Claude Code would not list it ({shown.reason or shown.status})"
    if shown.name != name:
        return f"Claude Code would list it as {shown.name!r}"
    if shown.description != description:
        return "Claude Code would show a different description than proposed"
    return None
