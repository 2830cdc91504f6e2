"""The scorecard: per-agent precision, recall and F1 with intervals, accuracy, confusion.

One scikit-learn call computes the per-label numbers; everything else derives from it. A metric
that is undefined (an agent nobody should route to has no recall) is None and shown as n/a, never
as 0 or 1. Errored trials are counted apart and never scored.

A case with several acceptable agents belongs to the first one as written in the file: its
support is that agent's, and an acceptable pick is a hit for it (so every off-diagonal cell of the
confusion matrix is a misroute). With several trials per case every interval is clustered by case
(`stats.clustered_wilson`; the averages by a case-level bootstrap), pass^k counts the cases with k
scored trials, and consistency is the share of trials that gave their case's modal label.

A trial labelled `unlisted` (its expected agent is one Claude Code never lists) is a failure of
its agent, shown in an `unlisted` column of the confusion matrix and counted in `unlisted`, but
never among the top confusions: it says what the catalog hides, not what the router confused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from agenteval.cases import INVALID_LABEL, NONE_LABEL, UNLISTED_LABEL
from agenteval.execution.trials import Trial
from agenteval.scoring.outcomes import CaseOutcome, case_outcomes
from agenteval.stats import Rate, clustered_wilson
from agenteval.stats.bootstrap import bootstrap_averages, label_averages

__all__ = ["AgentScore", "CaseOutcome", "Confusion", "Scorecard", "case_outcomes", "score"]

Interval = tuple[float, float]
Cell = tuple[int, int, int]  # (row in labels, column in columns, trials), count > 0


@dataclass(frozen=True, kw_only=True)
class AgentScore:
    """How one label (an agent, or `none`) scored; rates clustered by case.

    ``support`` counts the scored trials of the cases this label owns (it is their first
    acceptable agent); ``predicted`` the trials routed to it, where an acceptable pick on a case
    owned by another agent counts for the owner, as a hit.
    """

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
    """Everything a report shows about routing quality, as plain data.

    Interval fields (``*_ci``, and ``low``/``high`` of every `Rate`) are 95% (low, high) or None
    when undefined. Rates (accuracy, error rate, per-agent precision and recall) use Wilson's
    interval, on an effective sample size when cases were run several times (``design_effect``
    > 1 for accuracy); the averages' intervals come from a case-level BCa bootstrap, widened for
    macro recall and precision to hold a stratified Wilson interval (`stats.bootstrap`). The fields
    from ``consistency`` on are about repeated trials and are None or empty with one trial a case:
    The confusion matrix is sparse: ``confusion_cells`` holds its non-zero cells as (row,
    column, trials), rows indexing ``labels`` (expected) and columns ``columns`` (got), sorted
    row-major; a dense matrix of 10,000 agents is 10^8 cells, almost all zero.
    ``consistency`` (with ``consistency_ci``) is the share of scored trials that gave their case's
    modal label; ``pass_k`` is the share of cases right on all k = ``trials_per_case`` trials,
    over the cases with k scored trials (``pass_k_excluded`` cases had an errored trial).
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
    confusion_cells: tuple[Cell, ...]
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
    consistency_ci: Interval | None = None
    pass_k_excluded: int = 0
    unlisted: int = 0  # scored trials whose expected agent Claude Code never lists

    def agent(self, name: str) -> AgentScore | None:
        return next((a for a in self.agents if a.name == name), None)

    def confusion_count(self, expected: str, got: str) -> int:
        """How many scored trials of cases owned by ``expected`` were counted as ``got``."""
        i, j = self.labels.index(expected), self.columns.index(got)
        return next((c for r, k, c in self.confusion_cells if (r, k) == (i, j)), 0)

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

        values = {k: v for k, v in data.items() if k != "confusion"}
        values.update(
            accuracy=Rate(**data["accuracy"]),
            error_rate=Rate(**data["error_rate"]),
            agents=tuple(agent(a) for a in data["agents"]),
            labels=tuple(data["labels"]),
            columns=tuple(data["columns"]),
            confusion_cells=_cells_of(data),
            top_confusions=tuple(Confusion(**c) for c in data["top_confusions"]),
            flaky=tuple(CaseOutcome.from_dict(c) for c in data.get("flaky") or ()),
        )
        if values.get("pass_k") is not None:
            values["pass_k"] = Rate(**values["pass_k"])
        for f in fields(cls):
            if f.name.endswith("_ci") and values.get(f.name) is not None:
                values[f.name] = tuple(values[f.name])
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


def _cells_of(data: Mapping[str, Any]) -> tuple[Cell, ...]:
    """The sparse cells, from a record that stores them or from an older one's dense rows."""
    if "confusion_cells" in data:
        return tuple((int(i), int(j), int(c)) for i, j, c in data["confusion_cells"])
    rows = data.get("confusion") or ()
    return tuple((i, j, int(c)) for i, row in enumerate(rows) for j, c in enumerate(row) if c)


def true_label(trial: Trial) -> str:
    """The label a trial is scored against: the case's first acceptable agent, as written."""
    return trial.expected[0]


def scored_label(trial: Trial) -> str | None:
    """The column a trial is counted in: an acceptable pick is a hit for the first agent."""
    return trial.expected[0] if trial.correct else trial.label


def score(trials: Sequence[Trial], agent_names: Sequence[str]) -> Scorecard:
    """Score a run.

    Args:
        trials: Every trial of the run, errored ones included (they are counted, not scored).
        agent_names: The catalog's agents, in display order; `none` is added as a label.
    """
    import numpy as np

    from agenteval.stats.labels import precision_recall_fscore_support

    labels = [*agent_names, NONE_LABEL]
    ok = [t for t in trials if t.label is not None]
    unlisted = sum(t.label == UNLISTED_LABEL for t in ok)
    columns = [*labels, INVALID_LABEL, *([UNLISTED_LABEL] if unlisted else [])]
    y_true = [true_label(t) for t in ok]
    y_pred = [y for t in ok if (y := scored_label(t)) is not None]  # all of ok; narrows the type
    outcomes = case_outcomes(trials)
    per_case = max((o.scored + o.errors for o in outcomes), default=1)

    if ok:
        p, r, f, support = precision_recall_fscore_support(y_true, y_pred, labels=labels)
    else:
        p = r = f = np.full(len(labels), np.nan)
        support = np.zeros(len(labels), dtype=int)
    cells, predicted, hits = _confusion(y_true, y_pred, labels, columns)
    recall_rates, precision_rates = _clustered_rates(ok, y_true, y_pred)
    agents = _agent_scores(labels, support, predicted, f, recall_rates, precision_rates)
    point = _averages(p, r, agents, hits, np.asarray(support), predicted[: len(labels)])
    intervals = _label_intervals(outcomes, ok, y_true, y_pred, labels)
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
        error_rate=Rate.of_clusters(
            [o.errors for o in outcomes], [o.errors + o.scored for o in outcomes]
        ),
        agents=tuple(agents),
        labels=tuple(labels),
        columns=tuple(columns),
        confusion_cells=cells,
        top_confusions=_top_confusions(cells, labels, columns),
        trials_per_case=per_case,
        design_effect=deff,
        unlisted=unlisted,
        **averages,
        **_repeats(outcomes, per_case),
    )


def _agent_scores(
    labels: Sequence[str],
    support: Any,
    predicted: Any,
    f1: Any,
    recall_rates: Mapping[str, Rate],
    precision_rates: Mapping[str, Rate],
) -> list[AgentScore]:
    """Each label's score: its counts, its clustered recall and precision, and its F1 (None
    when the label was neither expected nor predicted)."""
    return [
        AgentScore(
            name=name,
            support=int(support[i]),
            predicted=int(predicted[i]),
            precision=precision_rates.get(name, Rate.of(0, 0)),
            recall=recall_rates.get(name, Rate.of(0, 0)),
            f1=_num(f1[i]) if support[i] or predicted[i] else None,
        )
        for i, name in enumerate(labels)
    ]


def _top_confusions(
    cells: Sequence[Cell], labels: Sequence[str], columns: Sequence[str]
) -> tuple[Confusion, ...]:
    """The 20 largest off-diagonal cells (unlisted picks left out), largest first."""
    off = sorted(
        (
            (-c, labels[i], columns[j])
            for i, j, c in cells
            if i != j and columns[j] != UNLISTED_LABEL
        )
    )[:20]
    return tuple(Confusion(expected=e, got=g, count=-c) for c, e, g in off)


def _label_intervals(
    outcomes: Sequence[CaseOutcome],
    ok: Sequence[Trial],
    y_true: Sequence[str],
    y_pred: Sequence[str],
    labels: Sequence[str],
) -> dict[str, tuple[float, float] | None]:
    """The label averages' bootstrap intervals (`bootstrap_averages`), resampling cases."""
    # cases by sorted id, so the resamples do not depend on the order of the trials
    case_index = {o.case_id: i for i, o in enumerate(o for o in outcomes if o.scored)}
    label_index = {name: i for i, name in enumerate(labels)}
    return bootstrap_averages(
        [case_index[t.case_id] for t in ok],
        [label_index.get(y, -1) for y in y_true],
        [label_index.get(y, len(labels)) for y in y_pred],
        len(labels),
    )


def _confusion(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str], columns: Sequence[str]
) -> tuple[tuple[Cell, ...], Any, Any]:
    """The confusion matrix as its non-zero cells, with each column's total and the diagonal.

    Counted sparse with numpy (pairs encoded as row * width + column): sklearn's
    `confusion_matrix` builds the dense matrix, 800 MB for 10,000 agents.

    Returns:
        (cells sorted row-major, trials counted in each column, hits of each label).
    """
    import numpy as np

    width = len(columns)
    index = {name: i for i, name in enumerate(columns)}
    if not y_true:
        empty = np.zeros(width, dtype=np.int64)
        return (), empty, empty[: len(labels)]
    true = np.fromiter((index.get(y, -1) for y in y_true), dtype=np.int64, count=len(y_true))
    pred = np.fromiter((index.get(y, -1) for y in y_pred), dtype=np.int64, count=len(y_pred))
    known = (true >= 0) & (pred >= 0)  # as sklearn does, a label outside the columns is left out
    true, pred = true[known], pred[known]
    keys, counts = np.unique(true * width + pred, return_counts=True)
    cells = tuple(
        (int(k // width), int(k % width), int(c))
        for k, c in zip(keys.tolist(), counts.tolist(), strict=True)
    )
    predicted = np.bincount(pred, minlength=width)
    hits = np.bincount(true[true == pred], minlength=width)[: len(labels)]
    return cells, predicted, hits


def _clustered_rates(
    ok: Sequence[Trial], y_true: Sequence[str], y_pred: Sequence[str]
) -> tuple[dict[str, Rate], dict[str, Rate]]:
    """Per-label recall and precision, each clustered by case: the trials of a case move together.

    Returns:
        (recall by label, precision by label); a label absent from a dict has no trials there.
    """
    import numpy as np

    if not ok:
        return {}, {}
    # group (label, case) pairs with numpy
    case_ids, case = np.unique([t.case_id for t in ok], return_inverse=True)
    names, codes = np.unique([*y_true, *y_pred], return_inverse=True)
    true, pred = codes[: len(ok)], codes[len(ok) :]
    hit = (true == pred).astype(np.int64)
    rates: list[dict[str, Rate]] = []
    for label in (true, pred):
        key = label * len(case_ids) + case
        pairs, where = np.unique(key, return_inverse=True)
        k = np.bincount(where, weights=hit, minlength=pairs.size).astype(np.int64)
        m = np.bincount(where, minlength=pairs.size)
        owner = pairs // len(case_ids)
        bounds = np.flatnonzero(np.diff(owner)) + 1  # pairs are sorted by label, then case
        rates.append(
            {
                str(names[int(o[0])]): Rate.of_clusters(kk.tolist(), mm.tolist())
                for o, kk, mm in zip(
                    np.split(owner, bounds), np.split(k, bounds), np.split(m, bounds), strict=True
                )
            }
        )
    return rates[0], rates[1]


def _averages(
    p: Any, r: Any, agents: Sequence[AgentScore], hits: Any, support: Any, predicted: Any
) -> dict[str, float | None]:
    """Macro averages from sklearn's per-label numbers; micro and weighted from the counts."""
    derived = label_averages(hits, support, predicted)
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
    repeated = [o for o in scored if o.scored > 1]
    consistency = Rate.of_clusters([o.modal for o in repeated], [o.scored for o in repeated])
    # pass^k means k right trials in a row: a case with an errored trial has fewer than k
    full = [o for o in scored if o.scored == per_case]
    flaky = sorted((o for o in scored if o.flaky), key=lambda o: (o.agreement, o.case_id))
    return {
        "consistency": consistency.value,
        "consistency_ci": _interval(consistency),
        "pass_k": Rate.of(sum(o.correct == o.scored for o in full), len(full)),
        "pass_k_excluded": len(scored) - len(full),
        "flaky": tuple(flaky),
    }


def _interval(rate: Rate) -> Interval | None:
    return None if rate.low is None or rate.high is None else (rate.low, rate.high)


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
