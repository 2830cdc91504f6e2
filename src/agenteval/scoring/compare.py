"""Compare two runs case by case: what got fixed, what broke, and whether the change is real.

Only cases both runs scored are paired. Each case counts once, by its majority outcome (see
`scoring.CaseOutcome`), so repeated trials do not pass for independent evidence. Runs over
different catalogs or datasets are compared on the case ids they share; the rest is listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from agenteval.cases import NONE_LABEL
from agenteval.execution.runner import ResultRow
from agenteval.scoring.scorecard import CaseOutcome, case_outcomes
from agenteval.stats import Rate, mcnemar_exact, paired_difference

_NAME_LISTS = ("added", "removed", "unscored", "relabelled", "agents_added", "agents_removed")


@dataclass(frozen=True, kw_only=True)
class CaseChange:
    """A shared case whose outcome differs between the runs, with each run's majority label."""

    case_id: str
    expected: tuple[str, ...]
    label_a: str | None
    label_b: str | None


@dataclass(frozen=True, kw_only=True)
class AgentDelta:
    """Recall of one expected label in each run, on the shared cases that expect it."""

    name: str
    support: int
    recall_a: float | None
    recall_b: float | None

    @property
    def delta(self) -> float | None:
        if self.recall_a is None or self.recall_b is None:
            return None
        return self.recall_b - self.recall_a


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """Run B against run A on the cases both scored.

    The 2x2 table is ``both_right``, ``len(broken)`` (right in A only), ``len(fixed)`` (right in
    B only) and ``both_wrong``. ``p_value`` is McNemar's exact test on the discordant pairs;
    ``delta`` is B's accuracy minus A's, with Newcombe's paired 95% interval in ``delta_ci``.
    """

    shared: int
    both_right: int
    both_wrong: int
    fixed: tuple[CaseChange, ...]
    broken: tuple[CaseChange, ...]
    accuracy_a: Rate
    accuracy_b: Rate
    delta: float | None
    delta_ci: tuple[float, float] | None
    p_value: float | None
    agents: tuple[AgentDelta, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    unscored: tuple[str, ...]
    relabelled: tuple[str, ...]
    agents_added: tuple[str, ...]
    agents_removed: tuple[str, ...]

    def agent(self, name: str) -> AgentDelta | None:
        return next((a for a in self.agents if a.name == name), None)

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether McNemar's test rejects "no difference" at level alpha."""
        return self.p_value is not None and self.p_value < alpha

    def summary_sentence(self, a: str = "A", b: str = "B", alpha: float = 0.05) -> str:
        """The comparison in one plain sentence, e.g. for a CLI line or a PR comment.

        Args:
            a: What to call the baseline run (e.g. its run id).
            b: What to call the candidate run.
            alpha: The significance level.
        """
        if self.delta is None or self.p_value is None:
            return f"{a} and {b} share no scored cases, so they cannot be compared."
        p = "p < 0.001" if self.p_value < 0.001 else f"p = {self.p_value:.3f}"
        moved = f"{len(self.fixed)} fixed, {len(self.broken)} broken"
        cases = _count(self.shared, "shared case")
        if not self.fixed and not self.broken:
            sentence = f"{b} and {a} get the same cases right on {cases}: no change."
        elif self.delta == 0:
            sentence = f"{b} scores the same as {a} on {cases} ({moved}; {p}): no net change."
        else:
            points = f"{abs(self.delta) * 100:.1f} points"
            direction, change = ("better", "gain") if self.delta > 0 else ("worse", "drop")
            verdict = (
                f"a significant {change}"
                if self.significant(alpha)
                else "not significant (could be chance)"
            )
            sentence = f"{b} is {points} {direction} than {a} on {cases} ({moved}; {p}): {verdict}."
        if self.added or self.removed:
            sentence += (
                f" {_count(len(self.added), 'case')} only in {b}, {len(self.removed)} only in {a}."
            )
        return sentence

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        def change(d: Mapping[str, Any]) -> CaseChange:
            return CaseChange(**{**d, "expected": tuple(d["expected"])})

        values = {f.name: data[f.name] for f in fields(cls)}
        values.update(
            fixed=tuple(change(c) for c in data["fixed"]),
            broken=tuple(change(c) for c in data["broken"]),
            accuracy_a=Rate(**data["accuracy_a"]),
            accuracy_b=Rate(**data["accuracy_b"]),
            delta_ci=tuple(data["delta_ci"]) if data["delta_ci"] is not None else None,
            agents=tuple(AgentDelta(**a) for a in data["agents"]),
        )
        values.update({name: tuple(data[name]) for name in _NAME_LISTS})
        return cls(**values)


def compare(
    a_rows: Sequence[ResultRow],
    b_rows: Sequence[ResultRow],
    agent_names_a: Sequence[str],
    agent_names_b: Sequence[str],
) -> Comparison:
    """Compare run B against run A (the baseline) on the cases both scored.

    Args:
        a_rows: The baseline run's results.jsonl rows.
        b_rows: The candidate run's rows.
        agent_names_a: The baseline run's catalog, in display order.
        agent_names_b: The candidate run's catalog, in display order.

    Returns:
        Paired outcomes, the McNemar p-value, the accuracy delta with its interval, per-agent
        recall deltas, the fixed and broken cases, and which cases and agents came or went.
    """
    a = {o.case_id: o for o in case_outcomes([r.trial for r in a_rows])}
    b = {o.case_id: o for o in case_outcomes([r.trial for r in b_rows])}
    common = sorted(a.keys() & b.keys())
    pairs = [(a[c], b[c]) for c in common if a[c].scored and b[c].scored]
    # both sides scored, so neither majority_correct is None
    right = [(bool(x.majority_correct), bool(y.majority_correct)) for x, y in pairs]
    fixed = tuple(_change(x, y) for x, y in pairs if not x.majority_correct and y.majority_correct)
    broken = tuple(_change(x, y) for x, y in pairs if x.majority_correct and not y.majority_correct)
    n = len(pairs)
    both_right = sum(1 for x, y in right if x and y)
    both_wrong = n - both_right - len(fixed) - len(broken)
    old, new = set(agent_names_a), set(agent_names_b)
    return Comparison(
        shared=n,
        both_right=both_right,
        both_wrong=both_wrong,
        fixed=fixed,
        broken=broken,
        accuracy_a=Rate.of(sum(x for x, _ in right), n),
        accuracy_b=Rate.of(sum(y for _, y in right), n),
        delta=(len(fixed) - len(broken)) / n if n else None,
        delta_ci=paired_difference(both_right, len(broken), len(fixed), both_wrong) if n else None,
        p_value=mcnemar_exact(len(broken), len(fixed)) if n else None,
        agents=_agent_deltas(pairs, [*agent_names_a, *agent_names_b, NONE_LABEL]),
        added=tuple(sorted(b.keys() - a.keys())),
        removed=tuple(sorted(a.keys() - b.keys())),
        unscored=tuple(c for c in common if not (a[c].scored and b[c].scored)),
        relabelled=tuple(c for c in common if set(a[c].expected) != set(b[c].expected)),
        agents_added=tuple(x for x in agent_names_b if x not in old),
        agents_removed=tuple(x for x in agent_names_a if x not in new),
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _change(a: CaseOutcome, b: CaseOutcome) -> CaseChange:
    return CaseChange(
        case_id=a.case_id, expected=b.expected, label_a=a.majority, label_b=b.majority
    )


def _agent_deltas(
    pairs: Sequence[tuple[CaseOutcome, CaseOutcome]], names: Sequence[str]
) -> tuple[AgentDelta, ...]:
    """Each run's share right of the shared cases expecting each label, every label listed once.

    A case counts for its first acceptable agent in run B (as scoring counts a miss), so both runs
    are measured on the same cases.
    """
    order = list(dict.fromkeys([*names, *(y.expected[0] for _, y in pairs)]))
    tally: dict[str, list[int]] = {name: [0, 0, 0] for name in order}
    for x, y in pairs:
        counts = tally[y.expected[0]]
        counts[0] += 1
        counts[1] += bool(x.majority_correct)
        counts[2] += bool(y.majority_correct)
    return tuple(
        AgentDelta(
            name=name,
            support=n,
            recall_a=ra / n if n else None,
            recall_b=rb / n if n else None,
        )
        for name, (n, ra, rb) in tally.items()
    )


def regression_gate(
    comparison: Comparison,
    *,
    baseline: str,
    significance: float = 0.05,
    max_regression: float | None = None,
) -> dict[str, Any]:
    """The release gate against a baseline run: fails only on a significant drop.

    A drop fails when McNemar's p is below ``significance`` and, if ``max_regression`` is set,
    the accuracy fell by more than that. A drop that could be chance passes, and says so.
    """
    delta, p = comparison.delta, comparison.p_value
    words = comparison.summary_sentence(a=f"baseline {baseline}", b="this run", alpha=significance)
    words = words[:1].upper() + words[1:]
    if delta is None or p is None:
        return {
            "name": "regression",
            "metric": "accuracy_delta",
            "threshold": max_regression,
            "value": None,
            "passed": False,
            "message": words,
        }
    too_big = max_regression is None or -delta > max_regression
    failed = delta < 0 and p < significance and too_big
    return {
        "name": "regression",
        "metric": "accuracy_delta",
        "threshold": max_regression,
        "value": delta,
        "p_value": p,
        "passed": not failed,
        "message": words,
    }
