"""The output scorecard: how often agents' outputs meet the bar their cases set.

Per agent and per check: pass rate with a Wilson interval. The judge's 1-5 scores: mean with a
95% interval. With several trials: output consistency (cases whose outputs agree on pass/fail).
And the link between the two halves of the harness: how outputs scored when the request had been
misrouted, next to when it was routed right. Outputs that could not be graded are counted apart.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from agenteval.outputs.produce import OutputResult
from agenteval.stats import Rate


@dataclass(frozen=True, kw_only=True)
class CheckScore:
    """One check (by name) or one agent: pass rate over graded outputs."""

    name: str
    kind: str
    rate: Rate
    errors: int


@dataclass(frozen=True, kw_only=True)
class AgentOutputScore:
    """The outputs of one agent."""

    agent: str
    outputs: int
    rate: Rate  # outputs whose every check passed, over graded outputs
    errors: int
    judge_mean: float | None
    checks: tuple[CheckScore, ...]


@dataclass(frozen=True, kw_only=True)
class OutputScorecard:
    """Everything the Outputs section of a report shows, as plain data."""

    results: int
    graded: int
    not_run: int
    errors: int
    rate: Rate  # outputs whose every check passed
    check_rate: Rate  # individual checks passed
    agents: tuple[AgentOutputScore, ...]
    checks: tuple[CheckScore, ...]
    judge_mean: float | None
    judge_ci: tuple[float, float] | None
    judge_n: int
    consistency: float | None
    routed_right: Rate
    misrouted: Rate

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutputScorecard:
        def check(d: Mapping[str, Any]) -> CheckScore:
            return CheckScore(**{**d, "rate": Rate(**d["rate"])})

        values = dict(data)
        values.update(
            rate=Rate(**data["rate"]),
            check_rate=Rate(**data["check_rate"]),
            routed_right=Rate(**data["routed_right"]),
            misrouted=Rate(**data["misrouted"]),
            checks=tuple(check(c) for c in data["checks"]),
            agents=tuple(
                AgentOutputScore(
                    **{
                        **a,
                        "rate": Rate(**a["rate"]),
                        "checks": tuple(check(c) for c in a["checks"]),
                    }
                )
                for a in data["agents"]
            ),
            judge_ci=tuple(data["judge_ci"]) if data.get("judge_ci") else None,
        )
        return cls(**{f.name: values[f.name] for f in fields(cls)})


def score_outputs(results: Sequence[OutputResult]) -> OutputScorecard:
    """Score every graded output; ungradable ones are counted, never passed or failed."""
    graded = [r for r in results if r.passed is not None]
    live = [r for r in graded if r.source == "live" and not r.oracle]
    by_agent: dict[str, list[OutputResult]] = defaultdict(list)
    for r in results:
        if r.agent is not None and r.source != "not-run":
            by_agent[r.agent].append(r)
    scores = [c.score for r in results for c in r.checks if c.score is not None]
    judge_mean, judge_ci = _mean_ci(scores)
    return OutputScorecard(
        results=len(results),
        graded=len(graded),
        not_run=sum(r.source == "not-run" for r in results),
        errors=sum(r.error is not None or any(c.passed is None for c in r.checks) for r in results),
        rate=Rate.of(sum(r.passed is True for r in graded), len(graded)),
        check_rate=_check_rate(results),
        agents=tuple(
            AgentOutputScore(
                agent=name,
                outputs=len(rs),
                rate=Rate.of(
                    sum(r.passed is True for r in rs), sum(r.passed is not None for r in rs)
                ),
                errors=sum(r.error is not None for r in rs),
                judge_mean=_mean_ci([c.score for r in rs for c in r.checks if c.score is not None])[
                    0
                ],
                checks=_by_check(rs),
            )
            for name, rs in sorted(by_agent.items())
        ),
        checks=_by_check(results),
        judge_mean=judge_mean,
        judge_ci=judge_ci,
        judge_n=len(scores),
        consistency=_consistency(results),
        # the link between routing and outputs exists only when routing chose the agent that ran
        routed_right=_rate_of([r for r in live if not r.misrouted]),
        misrouted=_rate_of([r for r in live if r.misrouted]),
    )


def _rate_of(rs: Sequence[OutputResult]) -> Rate:
    return Rate.of(sum(r.passed is True for r in rs), len(rs))


def _check_rate(results: Sequence[OutputResult]) -> Rate:
    done = [c for r in results for c in r.checks if c.passed is not None]
    return Rate.of(sum(c.passed is True for c in done), len(done))


def _by_check(results: Sequence[OutputResult]) -> tuple[CheckScore, ...]:
    groups: dict[tuple[str, str], list[bool | None]] = defaultdict(list)
    for r in results:
        for c in r.checks:
            groups[(c.name, c.kind)].append(c.passed)
    return tuple(
        CheckScore(
            name=name,
            kind=kind,
            rate=Rate.of(sum(v is True for v in vs), sum(v is not None for v in vs)),
            errors=sum(v is None for v in vs),
        )
        for (name, kind), vs in sorted(groups.items())
    )


def _consistency(results: Sequence[OutputResult]) -> float | None:
    """Share of cases (with 2+ graded trials) whose outputs all pass or all fail."""
    by_case: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        if r.passed is not None:
            by_case[r.case_id].append(r.passed)
    repeated = [v for v in by_case.values() if len(v) > 1]
    if not repeated:
        return None
    return sum(len(set(v)) == 1 for v in repeated) / len(repeated)


def _mean_ci(values: Sequence[float]) -> tuple[float | None, tuple[float, float] | None]:
    """Mean and a 95% t-free normal interval, clipped to the 1-5 scale (None below 2 values)."""
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    half = 1.959963984540054 * sd / math.sqrt(len(values))
    return mean, (max(1.0, mean - half), min(5.0, mean + half))
