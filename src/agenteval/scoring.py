"""The scorecard: per-agent precision, recall and F1 with intervals, accuracy, confusion.

One scikit-learn call computes the per-label numbers; everything else derives from it. A metric
that is undefined (an agent nobody should route to has no recall) is None and shown as n/a, never
as 0 or 1. Errored trials are counted apart and never scored.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from agenteval.cases import INVALID_LABEL, NONE_LABEL
from agenteval.runner import Trial

Z95 = 1.959963984540054


@dataclass(frozen=True, kw_only=True)
class Rate:
    """k successes out of n, with a 95% Wilson interval; value is None when n is 0."""

    k: int
    n: int
    value: float | None
    low: float | None
    high: float | None

    @classmethod
    def of(cls, k: int, n: int) -> Rate:
        if n == 0:
            return cls(k=k, n=n, value=None, low=None, high=None)
        low, high = wilson(k, n)
        return cls(k=k, n=n, value=k / n, low=low, high=high)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for k successes in n trials."""
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


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
class Scorecard:
    """Everything a report shows about routing quality, as plain data."""

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
        )
        return cls(**{f.name: values[f.name] for f in fields(cls)})


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
    y_pred = [t.label for t in ok]
    errors = len(trials) - len(ok)
    correct = sum(t.correct for t in ok)
    case_count = len({t.case_id for t in trials})

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

    def average(kind: str, metric: int) -> float | None:
        if not ok:
            return None
        values = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=kind, zero_division=np.nan
        )
        return _num(values[metric])

    return Scorecard(
        trials=len(trials),
        cases=case_count,
        scored=len(ok),
        errors=errors,
        correct=correct,
        accuracy=Rate.of(correct, len(ok)),
        error_rate=Rate.of(errors, len(trials)),
        macro_precision=_nanmean(p),
        macro_recall=_nanmean(r),
        macro_f1=_nanmean([a.f1 if a.f1 is not None else float("nan") for a in agents]),
        micro_f1=average("micro", 2),
        weighted_recall=average("weighted", 1),
        weighted_f1=average("weighted", 2),
        agents=tuple(agents),
        labels=tuple(labels),
        columns=tuple(columns),
        confusion=tuple(tuple(int(x) for x in row) for row in matrix[: len(labels)]),
        top_confusions=top,
    )


def _num(x: Any) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _nanmean(values: Sequence[float]) -> float | None:
    kept = [float(v) for v in values if not math.isnan(float(v))]
    return sum(kept) / len(kept) if kept else None
