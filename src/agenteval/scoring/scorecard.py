"""The scorecard: per-agent precision, recall and F1 with intervals, accuracy, confusion.

One scikit-learn call computes the per-label numbers; everything else derives from it. A metric
that is undefined (an agent nobody should route to has no recall) is None and shown as n/a, never
as 0 or 1. Errored trials are counted apart and never scored. With several trials per case, the
intervals are clustered by case and each case gets a majority label (see `case_outcomes`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from agenteval.cases import INVALID_LABEL, NONE_LABEL
from agenteval.execution.runner import Trial
from agenteval.stats import Rate, bootstrap_averages, clustered_wilson, label_averages

Interval = tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class AgentScore:
    """How one label (an agent, or `none`) scored."""

    name: str
    support: int
    predicted: int
    precision: Rate
    recall: Rate
    f1: float | None


@dataclass(frozen=True, kw_only=True)
class Confusion:
    """A pair (expected, got) that the router confused, and how often."""

    expected: str
    got: str
    count: int


@dataclass(frozen=True, kw_only=True)
class CaseOutcome:
    """How every trial of one case went.

    ``counts`` holds (label, trials), most frequent first. ``majority`` is the case's label: the
    most frequent label on the side (right or wrong) that has a strict majority of the scored
    trials; a tie between right and wrong goes to wrong, so a tie never flatters the router.
    """

    case_id: str
    expected: tuple[str, ...]
    counts: tuple[tuple[str, int], ...]
    correct: int
    errors: int
    majority: str | None

    @property
    def scored(self) -> int:
        return sum(n for _, n in self.counts)

    @property
    def majority_correct(self) -> bool | None:
        return None if not self.scored else 2 * self.correct > self.scored

    @property
    def agreement(self) -> float | None:
        """The share of scored trials that gave the majority label."""
        if not self.scored:
            return None
        assert self.majority is not None  # a case with scored trials always has a majority
        return dict(self.counts)[self.majority] / self.scored

    @property
    def flaky(self) -> bool:
        return len(self.counts) > 1

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CaseOutcome:
        counts = tuple((label, n) for label, n in d["counts"])
        return cls(**{**d, "expected": tuple(d["expected"]), "counts": counts})


def case_outcomes(trials: Sequence[Trial]) -> tuple[CaseOutcome, ...]:
    """Group trials by case: label counts, correct trials and the majority label, by case id."""
    by_case: dict[str, list[Trial]] = defaultdict(list)
    for t in trials:
        by_case[t.case_id].append(t)
    outcomes = []
    for case_id in sorted(by_case):
        group = by_case[case_id]
        counts = Counter(t.label for t in group if t.label is not None)
        correct = sum(t.correct for t in group)
        expected = min(group, key=lambda t: t.trial).expected
        right_wins = 2 * correct > sum(counts.values())
        side = [(n, label) for label, n in counts.items() if (label in expected) == right_wins]
        majority = min(side, key=lambda x: (-x[0], x[1]))[1] if side else None
        outcomes.append(
            CaseOutcome(
                case_id=case_id,
                expected=expected,
                counts=tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                correct=correct,
                errors=len(group) - sum(counts.values()),
                majority=majority,
            )
        )
    return tuple(outcomes)


@dataclass(frozen=True, kw_only=True)
class Scorecard:
    """Everything a report shows about routing quality, as plain data.

    Interval fields (``*_ci``) are 95% (low, high) or None when undefined. ``accuracy`` is a
    Wilson interval, on an effective sample size when cases were run several times
    (``design_effect`` > 1); the averages' intervals come from a case-level bootstrap. The fields
    from ``consistency`` on are about repeated trials and are None or empty with one trial a case.
    """

    trials: int
    cases: int
    scored: int
    errors: int
    correct: int
    accuracy: Rate
    error_rate: Rate
    macro_precision: float | None
    macro_recall: float | None
    macro_f1: float | None
    micro_f1: float | None
    weighted_recall: float | None
    weighted_f1: float | None
    agents: tuple[AgentScore, ...]
    labels: tuple[str, ...]
    columns: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    top_confusions: tuple[Confusion, ...]
    trials_per_case: int = 1
    design_effect: float = 1.0
    macro_precision_ci: Interval | None = None
    macro_recall_ci: Interval | None = None
    macro_f1_ci: Interval | None = None
    micro_f1_ci: Interval | None = None
    weighted_recall_ci: Interval | None = None
    weighted_f1_ci: Interval | None = None
    consistency: float | None = None
    pass_k: Rate | None = None
    flaky: tuple[CaseOutcome, ...] = ()

    def agent(self, name: str) -> AgentScore | None:
        return next((a for a in self.agents if a.name == name), None)

    def worst_agents(self, n: int = 5) -> tuple[AgentScore, ...]:
        """Agents with cases, lowest recall first (ties: most support first)."""
        scored = [a for a in self.agents if a.recall.value is not None and a.name != NONE_LABEL]
        return tuple(sorted(scored, key=lambda a: (a.recall.value, -a.support, a.name))[:n])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scorecard:
        """Rebuild a scorecard; fields missing from older records take their defaults."""

        def agent(d: Mapping[str, Any]) -> AgentScore:
            return AgentScore(
                **{**d, "precision": Rate(**d["precision"]), "recall": Rate(**d["recall"])}
            )

        values = dict(data)
        values.update(
            accuracy=Rate(**data["accuracy"]),
            error_rate=Rate(**data["error_rate"]),
            agents=tuple(agent(a) for a in data["agents"]),
            labels=tuple(data["labels"]),
            columns=tuple(data["columns"]),
            confusion=tuple(tuple(r) for r in data["confusion"]),
            top_confusions=tuple(Confusion(**c) for c in data["top_confusions"]),
            flaky=tuple(CaseOutcome.from_dict(c) for c in data.get("flaky") or ()),
        )
        if values.get("pass_k") is not None:
            values["pass_k"] = Rate(**values["pass_k"])
        for f in fields(cls):
            if f.name.endswith("_ci") and values.get(f.name) is not None:
                values[f.name] = tuple(values[f.name])
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


def true_label(trial: Trial) -> str:
    """The label a trial is scored against: the prediction if acceptable, else the first."""
    if trial.label in trial.expected:
        return trial.label
    return trial.expected[0]


def score(trials: Sequence[Trial], agent_names: Sequence[str]) -> Scorecard:
    """Score a run.

    Args:
        trials: Every trial of the run, errored ones included (they are counted, not scored).
        agent_names: The catalog's agents, in display order; `none` is added as a label.
    """
    import numpy as np
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = [*agent_names, NONE_LABEL]
    columns = [*labels, INVALID_LABEL]
    ok = [t for t in trials if t.label is not None]
    y_true = [true_label(t) for t in ok]
    y_pred = [t.label for t in ok if t.label is not None]  # keeps all of ok; narrows the type
    outcomes = case_outcomes(trials)
    per_case = max((o.scored + o.errors for o in outcomes), default=1)

    if ok:
        p, r, f, support = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division=np.nan
        )
        matrix = confusion_matrix(y_true, y_pred, labels=columns)
    else:
        p = r = f = np.full(len(labels), np.nan)
        support = np.zeros(len(labels), dtype=int)
        matrix = np.zeros((len(columns), len(columns)), dtype=int)
    predicted = matrix.sum(axis=0)
    agents = []
    for i, name in enumerate(labels):
        tp = int(matrix[i, i])
        agents.append(
            AgentScore(
                name=name,
                support=int(support[i]),
                predicted=int(predicted[i]),
                precision=Rate.of(tp, int(predicted[i])),
                recall=Rate.of(tp, int(support[i])),
                f1=_num(f[i]) if support[i] or predicted[i] else None,
            )
        )
    rows = matrix[: len(labels)]
    pairs = Counter(
        {
            (labels[i], columns[j]): int(rows[i, j])
            for i, j in zip(*np.nonzero(rows), strict=True)
            if i != j
        }
    )
    top = tuple(
        Confusion(expected=e, got=g, count=c)
        for (e, g), c in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    )
    point = _averages(p, r, agents, rows, predicted[: len(labels)])
    # cases by sorted id, so the resamples do not depend on the order of the trials
    case_index = {o.case_id: i for i, o in enumerate(o for o in outcomes if o.scored)}
    label_index = {name: i for i, name in enumerate(labels)}
    intervals = bootstrap_averages(
        [case_index[t.case_id] for t in ok],
        [label_index.get(y, -1) for y in y_true],
        [label_index.get(y, len(labels)) for y in y_pred],
        len(labels),
    )
    accuracy, deff = _accuracy(outcomes)
    averages: dict[str, Any] = {**point}
    averages.update({f"{k}_ci": _around(intervals[k], v) for k, v in point.items()})
    return Scorecard(
        trials=len(trials),
        cases=len(outcomes),
        scored=len(ok),
        errors=len(trials) - len(ok),
        correct=sum(t.correct for t in ok),
        accuracy=accuracy,
        error_rate=Rate.of(len(trials) - len(ok), len(trials)),
        agents=tuple(agents),
        labels=tuple(labels),
        columns=tuple(columns),
        confusion=tuple(tuple(int(x) for x in row) for row in rows),
        top_confusions=top,
        trials_per_case=per_case,
        design_effect=deff,
        **averages,
        **_repeats(outcomes, per_case),
    )


def _averages(
    p: Any, r: Any, agents: Sequence[AgentScore], rows: Any, predicted: Any
) -> dict[str, float | None]:
    """Macro averages from sklearn's per-label numbers; micro and weighted from the counts."""
    import numpy as np

    support = rows.sum(axis=1)
    derived = label_averages(np.diag(rows), support, predicted)
    return {
        "macro_precision": _nanmean(p),
        "macro_recall": _nanmean(r),
        "macro_f1": _nanmean([a.f1 if a.f1 is not None else float("nan") for a in agents]),
        **{k: _num(derived[k]) for k in ("micro_f1", "weighted_recall", "weighted_f1")},
    }


def _repeats(outcomes: Sequence[CaseOutcome], per_case: int) -> dict[str, Any]:
    """Consistency, pass^k and flaky cases; None and empty when each case ran once."""
    if per_case < 2:
        return {"consistency": None, "pass_k": None, "flaky": ()}
    scored = [o for o in outcomes if o.scored]
    agreeing = [a for o in scored if o.scored > 1 and (a := o.agreement) is not None]
    flaky = sorted((o for o in scored if o.flaky), key=lambda o: (o.agreement, o.case_id))
    return {
        "consistency": sum(agreeing) / len(agreeing) if agreeing else None,
        "pass_k": Rate.of(sum(o.correct == o.scored for o in scored), len(scored)),
        "flaky": tuple(flaky),
    }


def _accuracy(outcomes: Sequence[CaseOutcome]) -> tuple[Rate, float]:
    """Accuracy, its interval clustered by case, and the design effect.

    Exactly Wilson's interval when each case ran once (see `stats.clustered_wilson`).
    """
    correct, scored = [o.correct for o in outcomes], [o.scored for o in outcomes]
    if not sum(scored):
        return Rate.of(0, 0), 1.0
    low, high, deff = clustered_wilson(correct, scored)
    k, n = sum(correct), sum(scored)
    return Rate(k=k, n=n, value=k / n, low=low, high=high), deff


def _around(ci: Interval | None, point: float | None) -> Interval | None:
    """Widen a percentile interval to hold its point estimate (a skewed bootstrap can miss it)."""
    if ci is None or point is None:
        return None
    return (min(ci[0], point), max(ci[1], point))


def _num(x: Any) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _nanmean(values: Sequence[float]) -> float | None:
    kept = [float(v) for v in values if not math.isnan(float(v))]
    return sum(kept) / len(kept) if kept else None
