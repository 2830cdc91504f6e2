"""The statistics behind scorecards and comparisons: intervals and exact tests, numbers in and out.

Nothing here knows about agents, cases or runs; `scoring` and `compare` turn records into the
plain counts these functions take. numpy and scipy are imported inside the functions that need
them, so importing this module stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 1000
# A fixed seed makes a scorecard a pure function of its trials: the same run always prints the
# same intervals, and `score(trials) == score(shuffled trials)` holds exactly.
BOOTSTRAP_SEED = 20240917
AVERAGES = (
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "micro_f1",
    "weighted_recall",
    "weighted_f1",
)


def wilson(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for k successes in n trials (n may be an effective size)."""
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(0.0, p * (1 - p) / n + z * z / (4 * n * n))) / denom
    # at 0 and 100% one end is exactly 0 or 1; say so rather than 0.9999999999999999
    low = 0.0 if p <= 0 else max(0.0, centre - half)
    high = 1.0 if p >= 1 else min(1.0, centre + half)
    return low, high


def clustered_wilson(
    correct: Sequence[int], scored: Sequence[int], z: float = Z95
) -> tuple[float, float, float]:
    """A Wilson interval for a proportion whose trials come in clusters (repeats of one case).

    Repeated trials of one case are not independent: a router that always misroutes a case
    misroutes all its trials. The cluster-robust (ratio-estimator) variance gives the design
    effect, the factor by which clustering inflates the variance; the interval is Wilson's on the
    effective sample size n / design effect. Wilson rather than a normal or bootstrap interval,
    because at 0% or 100% those collapse to a zero-width interval while Wilson's stays honest.
    The design effect is clipped to [1, sum(m^2) / n]: never narrower than independent trials,
    never wider than perfectly correlated ones. At 0% or 100% no variation within a case can be
    seen, so the conservative end is used.

    Args:
        correct: Successes per cluster, in a fixed order.
        scored: Trials per cluster (clusters with none are ignored).

    Returns:
        (low, high, design effect).
    """
    pairs = [(k, m) for k, m in zip(correct, scored, strict=True) if m > 0]
    n = sum(m for _, m in pairs)
    k = sum(c for c, _ in pairs)
    p = k / n
    most = sum(m * m for _, m in pairs) / n
    if len(pairs) < 2 or k in (0, n):
        deff = most
    else:
        spread = sum((c - p * m) ** 2 for c, m in pairs)
        var = len(pairs) / (len(pairs) - 1) * spread / (n * n)
        deff = min(max(var / (p * (1 - p) / n), 1.0), most)
    if deff == 1.0:
        return (*wilson(k, n, z), 1.0)
    n_eff = n / deff
    return (*wilson(p * n_eff, n_eff, z), deff)


def mcnemar_exact(b: int, c: int) -> float:
    """McNemar's exact test: the two-sided binomial p-value of b against c discordant pairs.

    Computed with exact integers (up to 20,000 pairs), so small p-values are not lost to rounding.
    """
    n = b + c
    if n == 0:
        return 1.0
    if n > 20_000:  # exact integers get slow; scipy's binomial tail is accurate to ~1e-15 here
        from scipy.stats import binom

        return min(1.0, 2 * float(binom.cdf(min(b, c), n, 0.5)))
    term = tail = 1
    for i in range(min(b, c)):
        term = term * (n - i) // (i + 1)
        tail += term
    outcomes: int = 2**n  # typeshed types int ** int as Any (a negative power is a float)
    return min(1.0, 2 * tail / outcomes)


def paired_difference(
    both: int, first_only: int, second_only: int, neither: int, z: float = Z95
) -> tuple[float, float]:
    """A 95% interval for p(second) - p(first) on paired yes/no outcomes.

    Newcombe's hybrid score method (1998, method 10): Wilson intervals for the two proportions
    combined with the correlation between them. It keeps good coverage near 0 and 1 and with few
    discordant pairs, where a Wald interval on the differences is far too narrow.
    """
    n = both + first_only + second_only + neither
    k1, k2 = both + first_only, both + second_only
    p1, p2 = k1 / n, k2 / n
    l1, u1 = wilson(k1, n, z)
    l2, u2 = wilson(k2, n, z)
    margins = k1 * (n - k1) * k2 * (n - k2)
    det = both * neither - first_only * second_only
    if margins == 0 or 0 <= det <= n / 2:
        phi = 0.0
    else:
        phi = (det - n / 2 if det > 0 else det) / math.sqrt(margins)
    theta = p1 - p2
    down = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    up = math.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
    return max(-1.0, -(theta + up)), min(1.0, -(theta - down))


def label_averages(tp: Any, support: Any, predicted: Any) -> dict[str, Any]:
    """The averaged metrics from per-label counts; arrays of shape (..., labels) -> (...).

    Labels with nothing to average over (no support for recall, no predictions for precision,
    neither for F1) are left out of macro averages, as sklearn does with zero_division=nan.
    """
    import numpy as np

    tp, support, predicted = (np.asarray(x, dtype=float) for x in (tp, support, predicted))
    both = support + predicted
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, np.nan)
        recall = np.where(support > 0, tp / support, np.nan)
        f1 = np.where(both > 0, 2 * tp / both, np.nan)
        total = support.sum(-1)
        return {
            "macro_precision": _nanmean(precision),
            "macro_recall": _nanmean(recall),
            "macro_f1": _nanmean(f1),
            "micro_f1": 2 * tp.sum(-1) / both.sum(-1),
            "weighted_recall": tp.sum(-1) / total,
            "weighted_f1": (support * np.nan_to_num(f1)).sum(-1) / total,
        }


def _nanmean(x: Any) -> Any:
    import numpy as np

    kept = ~np.isnan(x)
    return np.where(kept, x, 0.0).sum(-1) / kept.sum(-1)


def bootstrap_averages(
    case: Any,
    true: Any,
    pred: Any,
    n_labels: int,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, tuple[float, float] | None]:
    """Percentile intervals (95%) for the label averages, resampling whole cases.

    Resampling cases, not trials, keeps the repeats of a case together, so the intervals are
    clustered by case when trials > 1 (and are the ordinary bootstrap when trials == 1). Each
    resample is a vector of case weights; the per-label counts of all resamples come from one
    sparse product, so 10,000 trials over hundreds of labels take a fraction of a second.

    Args:
        case: Per scored trial, its case's index (0..C-1, in a fixed order such as sorted ids).
        true: Per scored trial, the index of the label it is scored against (-1: not a label).
        pred: Per scored trial, the index of its predicted column (n_labels or more: invalid).
        n_labels: How many labels there are.
        resamples: How many bootstrap resamples.
        seed: The random seed (fixed, so results are reproducible).

    Returns:
        For each name in AVERAGES, (low, high), or None when it is undefined in every resample.
    """
    import numpy as np
    from scipy import sparse

    case, true, pred = (np.asarray(x, dtype=np.int64) for x in (case, true, pred))
    if case.size == 0:
        return dict.fromkeys(AVERAGES)
    n_cases, width = int(case.max()) + 1, n_labels
    hit = (true >= 0) & (true == pred)
    has_true, has_pred = true >= 0, pred < width
    rows = np.concatenate([case[hit], case[has_true], case[has_pred]])
    cols = np.concatenate([true[hit], width + true[has_true], 2 * width + pred[has_pred]])
    counts_by_case = sparse.csr_matrix(
        (np.ones(rows.size), (cols, rows)), shape=(3 * width, n_cases)
    )
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // n_cases)
    parts: dict[str, list[Any]] = {name: [] for name in AVERAGES}
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        drawn = rng.integers(0, n_cases, size=(size, n_cases))
        flat = (np.arange(size)[:, None] * n_cases + drawn).ravel()
        weights = np.bincount(flat, minlength=size * n_cases).reshape(size, n_cases)
        weights = np.ascontiguousarray(weights.T, dtype=float)
        counts = np.asarray(counts_by_case @ weights).T
        averages = label_averages(
            counts[:, :width], counts[:, width : 2 * width], counts[:, 2 * width :]
        )
        for name in AVERAGES:
            parts[name].append(averages[name])
    result: dict[str, tuple[float, float] | None] = {}
    for name in AVERAGES:
        values = np.concatenate(parts[name])
        values = values[~np.isnan(values)]
        if values.size == 0:
            result[name] = None
        else:
            low, high = np.quantile(values, [0.025, 0.975])
            result[name] = (float(low), float(high))
    return result


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
