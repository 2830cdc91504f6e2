"""The output scorecard: how often agents' outputs meet the bar their cases set.

Per agent and per check: pass rate with a Wilson interval. The judge's 1-5 scores: mean with a
95% interval. With several trials: output consistency (cases whose outputs agree on pass/fail).
And the link between the two halves of the harness: how outputs scored when the request had been
misrouted, next to when it was routed right. Outputs that could not be graded are counted apart.
With several trials a case, every interval is clustered by case (the outputs of one request move
together); with one trial a case the rates' intervals are plain Wilson.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from agenteval.outputs.results import OutputResult
from agenteval.stats import Rate, clustered_wilson


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
    judge_ci: tuple[float, float] | None = None


@dataclass(frozen=True, kw_only=True)
class OutputScorecard:
    """Everything the Outputs section of a report shows, as plain data.

    Every `Rate` carries its 95% interval; ``consistency`` (the share of cases with 2+ graded
    trials whose outputs all pass or all fail) has ``consistency_ci``.
    """

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
    consistency_ci: tuple[float, float] | None = None

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
                        "judge_ci": tuple(a["judge_ci"]) if a.get("judge_ci") else None,
                    }
                )
                for a in data["agents"]
            ),
            judge_ci=tuple(data["judge_ci"]) if data.get("judge_ci") else None,
            consistency_ci=tuple(data["consistency_ci"]) if data.get("consistency_ci") else None,
        )
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


def score_outputs(results: Sequence[OutputResult]) -> OutputScorecard:
    """Score every graded output; ungradable ones are counted, never passed or failed."""
    graded = [r for r in results if r.passed is not None]
    live = [r for r in graded if r.source == "live" and not r.oracle]
    by_agent: dict[str, list[OutputResult]] = defaultdict(list)
    for r in results:
        if r.agent is not None and r.source != "not-run":
            by_agent[r.agent].append(r)
    judge_mean, judge_ci = _mean_ci(_judge_scores(results))
    consistency = _consistency(results)
    return OutputScorecard(
        results=len(results),
        graded=len(graded),
        not_run=sum(r.source == "not-run" for r in results),
        errors=sum(r.error is not None or any(c.passed is None for c in r.checks) for r in results),
        rate=_rate_of(graded),
        check_rate=_clustered([(r.case_id, c.passed) for r in results for c in r.checks]),
        agents=tuple(
            AgentOutputScore(
                agent=name,
                outputs=len(rs),
                rate=_rate_of(rs),
                errors=sum(r.error is not None for r in rs),
                judge_mean=(agent_judge := _mean_ci(_judge_scores(rs)))[0],
                judge_ci=agent_judge[1],
                checks=_by_check(rs),
            )
            for name, rs in sorted(by_agent.items())
        ),
        checks=_by_check(results),
        judge_mean=judge_mean,
        judge_ci=judge_ci,
        judge_n=sum(len(v) for _, v in _judge_scores(results)),
        consistency=consistency.value,
        consistency_ci=_interval(consistency),
        # the link between routing and outputs exists only when routing chose the agent that ran
        routed_right=_rate_of([r for r in live if not r.misrouted]),
        misrouted=_rate_of([r for r in live if r.misrouted]),
    )


def _interval(rate: Rate) -> tuple[float, float] | None:
    return None if rate.low is None or rate.high is None else (rate.low, rate.high)


def _clustered(outcomes: Sequence[tuple[str, bool | None]]) -> Rate:
    """Passes over graded items (None: not graded), the interval clustered by case id."""
    by_case: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case_id, passed in outcomes:
        if passed is not None:
            by_case[case_id][0] += passed is True
            by_case[case_id][1] += 1
    cases = [by_case[c] for c in sorted(by_case)]
    return Rate.of_clusters([k for k, _ in cases], [m for _, m in cases])


def _rate_of(rs: Sequence[OutputResult]) -> Rate:
    return _clustered([(r.case_id, r.passed) for r in rs])


def _by_check(results: Sequence[OutputResult]) -> tuple[CheckScore, ...]:
    groups: dict[tuple[str, str], list[tuple[str, bool | None]]] = defaultdict(list)
    for r in results:
        for c in r.checks:
            groups[(c.name, c.kind)].append((r.case_id, c.passed))
    return tuple(
        CheckScore(
            name=name,
            kind=kind,
            rate=_clustered(vs),
            errors=sum(v is None for _, v in vs),
        )
        for (name, kind), vs in sorted(groups.items())
    )


def _consistency(results: Sequence[OutputResult]) -> Rate:
    """Cases (with 2+ graded trials) whose outputs all pass or all fail, over such cases.

    One number a case, so the cases are the independent units and Wilson's interval fits.
    """
    by_case: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        if r.passed is not None:
            by_case[r.case_id].append(r.passed)
    repeated = [v for v in by_case.values() if len(v) > 1]
    return Rate.of(sum(len(set(v)) == 1 for v in repeated), len(repeated))


def _judge_scores(results: Sequence[OutputResult]) -> list[tuple[str, list[float]]]:
    """The judge's scores grouped by case, in case order."""
    by_case: dict[str, list[float]] = defaultdict(list)
    for r in results:
        for c in r.checks:
            if c.score is not None:
                by_case[r.case_id].append(c.score)
    return sorted(by_case.items())


def _mean_ci(
    by_case: Sequence[tuple[str, Sequence[float]]],
) -> tuple[float | None, tuple[float, float] | None]:
    """The judge's mean (1-5) and a 95% interval clustered by case.

    Scores map onto 0..1 ((score - 1) / 4) and get `stats.clustered_wilson`, mapped back: an
    interval that stays inside the scale and keeps its width when every score is 5 (or 1), where
    a normal interval would shrink to nothing. Treating a score as a share of a success is
    conservative: a 1-5 score varies less than a yes/no outcome with the same mean.
    """
    sums = [(sum(v), len(v)) for _, v in by_case if v]
    n = sum(m for _, m in sums)
    if not n:
        return None, None
    mean = sum(s for s, _ in sums) / n
    low, high, _ = clustered_wilson([(s - m) / 4 for s, m in sums], [m for _, m in sums])
    return mean, (1 + 4 * low, 1 + 4 * high)
