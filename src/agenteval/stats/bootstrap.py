"""Case-level bootstrap intervals for the label averages (macro, micro and weighted F1, ...).

The method is BCa (bias-corrected and accelerated; Efron 1987): percentiles of the bootstrap
distribution moved by the bias (the share of resamples below the estimate) and the acceleration
(the skewness of the jackknife), so a skewed or biased statistic such as a macro F1 whose labels
drop out of resamples does not get an interval that ends at its estimate. Where BCa is not
defined or would still touch the estimate (every resample equal, every resample on one side, the
estimate at 0 or 100%), the interval is Wilson's on the bootstrap's effective sample size
p(1 - p) / variance, or on the number of cases when that is 0/0: it never collapses to zero width.

Macro recall and macro precision with few cases a label (40 cases over 20 labels) or near 0 or
100% are where BCa alone covered 0.86 to 0.92: their interval is the union of BCa's and a
stratified Wilson interval (`stratified_wilson`), which holds 0.93 or more there
(bench/macro_coverage.py). Union, because each fails where the other holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from agenteval.stats import Z95, wilson

BOOTSTRAP_RESAMPLES = 1000
# A fixed seed makes a scorecard a pure function of its trials: the same run always prints the
# same intervals, and `score(trials) == score(shuffled trials)` holds exactly.
BOOTSTRAP_SEED = 20240917
# The jackknife behind the acceleration leaves out one case, or one of this many groups of cases
# on large runs (the grouped jackknife estimates the same skewness at a fixed cost).
JACKKNIFE_GROUPS = 200
AVERAGES = (
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "micro_f1",
    "weighted_recall",
    "weighted_f1",
)
# Resamples are drawn this many case weights at a time: each chunk's arrays (the draws, the
# weights and their gather by count) stay near 10 MB however large the run. A resample's
# averages do not depend on the chunk it is in, to the bit.
_CHUNK_ELEMENTS = 250_000


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


def bca_interval(
    estimate: float, replicates: Any, jackknife: Any, clusters: int, z: float = Z95
) -> tuple[float, float]:
    """A BCa interval for a statistic in [0, 1], with a Wilson fallback where BCa cannot serve.

    Args:
        estimate: The statistic on the data.
        replicates: The statistic on each bootstrap resample (NaN: undefined there, dropped).
        jackknife: The statistic with each case (or group of cases) left out (NaN dropped).
        clusters: How many cases the data hold (the Wilson fallback's size at 0 or 100%).
        z: The normal quantile of the two-sided level (1.96 for 95%).

    Returns:
        (low, high), with low < estimate < high whenever 0 < estimate < 1.
    """
    import numpy as np

    values = np.asarray(replicates, dtype=float)
    values = values[~np.isnan(values)]
    if 0.0 < estimate < 1.0 and values.size:
        normal = NormalDist()
        below = np.count_nonzero(values < estimate) + 0.5 * np.count_nonzero(values == estimate)
        share = below / values.size
        if 0.0 < share < 1.0:
            z0 = normal.inv_cdf(share)
            jack = np.asarray(jackknife, dtype=float)
            jack = jack[~np.isnan(jack)]
            spread = jack.mean() - jack if jack.size > 1 else np.zeros(1)
            denom = 6.0 * float((spread**2).sum()) ** 1.5
            accel = float((spread**3).sum()) / denom if denom > 0 else 0.0
            ends = []
            for zq in (-z, z):
                shifted = z0 + zq
                tilt = 1.0 - accel * shifted
                ends.append(normal.cdf(z0 + shifted / tilt) if tilt > 0 else float("nan"))
            if not any(np.isnan(ends)):
                low, high = (float(q) for q in np.quantile(values, ends))
                if low < estimate < high:
                    return low, high
    variance = float(values.var()) if values.size > 1 else 0.0
    p = min(max(estimate, 0.0), 1.0)
    n_eff = p * (1 - p) / variance if variance > 0 and 0 < p < 1 else float(clusters)
    n_eff = max(n_eff, 1.0)
    return wilson(p * n_eff, n_eff, z)


def stratified_wilson(hits: Any, totals: Any, z: float = Z95) -> tuple[float, float]:
    """Wilson's interval for a mean of per-label proportions hits / totals (labels with totals).

    Each label's variance is p(1 - p) / (n + 1) at its Agresti-Coull proportion
    p = (k + z^2/2) / (n + z^2), so a label at 0 or 100%, or with one case, still adds some
    (k/n's own p(1 - p) / n is 0 there, and halved on average at n = 2). The mean m's variance
    V gives the effective size m(1 - m) / V (at 0 or 100%, at the mean of the Agresti-Coull
    proportions instead), and the interval is Wilson's on that size.
    """
    import numpy as np

    hits, totals = np.asarray(hits, dtype=float), np.asarray(totals, dtype=float)
    kept = totals > 0
    k, n = hits[kept], totals[kept]
    mean = float((k / n).mean())
    shrunk = (k + z * z / 2) / (n + z * z)
    variance = float((shrunk * (1 - shrunk) / (n + 1)).sum()) / kept.sum() ** 2
    spread = mean * (1 - mean) if 0 < mean < 1 else float(shrunk.mean() * (1 - shrunk.mean()))
    n_eff = max(spread / variance, 1.0)
    return wilson(mean * n_eff, n_eff, z)


def bootstrap_averages(
    case: Any,
    true: Any,
    pred: Any,
    n_labels: int,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, tuple[float, float] | None]:
    """BCa intervals (95%) for the label averages, resampling whole cases (see the module).

    Resampling cases, not trials, keeps the repeats of a case together, so the intervals are
    clustered by case when trials > 1 (and are the ordinary bootstrap when trials == 1). Each
    resample is a vector of case weights; the per-label counts of all resamples come from one
    segmented sum, so 10,000 trials over hundreds of labels take a fraction of a second.

    Args:
        case: Per scored trial, its case's index (0..C-1, in a fixed order such as sorted ids).
        true: Per scored trial, the index of the label it is scored against (-1: not a label).
        pred: Per scored trial, the index of its predicted column (n_labels or more: invalid).
        n_labels: How many labels there are.
        resamples: How many bootstrap resamples.
        seed: The random seed (fixed, so results are reproducible).

    Returns:
        For each name in AVERAGES, (low, high), or None when it is undefined on the data.
    """
    import numpy as np

    case, true, pred = (np.asarray(x, dtype=np.int64) for x in (case, true, pred))
    if case.size == 0:
        return dict.fromkeys(AVERAGES)
    n_cases, width = int(case.max()) + 1, n_labels
    counts = _CaseCounts.of(case, true, pred, width)
    point = counts.averages(np.ones((n_cases, 1)))
    drawn = _resampled_averages(counts, n_cases, resamples, seed)
    jackknife = _jackknife_averages(counts, n_cases, seed)
    result: dict[str, tuple[float, float] | None] = {}
    for name in AVERAGES:
        estimate = float(point[name][0])
        if np.isnan(estimate):
            result[name] = None
            continue
        result[name] = bca_interval(estimate, np.concatenate(drawn[name]), jackknife[name], n_cases)
    return _with_stratified(result, case, true, pred, width)


@dataclass(frozen=True)
class _CaseCounts:
    """Each scored trial's (count, case) entries, sorted by count: the columns are the hits of
    each label, then its support, then its predictions (3 x width counts a case)."""

    rows: Any
    cols: Any
    starts: Any  # where each count's run of entries starts
    width: int

    @classmethod
    def of(cls, case: Any, true: Any, pred: Any, width: int) -> _CaseCounts:
        import numpy as np

        hit = (true >= 0) & (true == pred)
        has_true, has_pred = true >= 0, pred < width
        rows = np.concatenate([case[hit], case[has_true], case[has_pred]])
        cols = np.concatenate([true[hit], width + true[has_true], 2 * width + pred[has_pred]])
        # The counts are sums of whole numbers, exact in any order: a gather and a segmented sum
        # over the (count, case) entries gives scipy's sparse product to the bit, without scipy.
        order = np.argsort(cols, kind="stable")
        rows, cols = rows[order], cols[order]
        starts = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]]) if cols.size else cols
        return cls(rows=rows, cols=cols, starts=starts, width=width)

    def averages(self, weights: Any) -> dict[str, Any]:
        """The averages for each column of case weights (cases x draws)."""
        import numpy as np

        rows, cols, starts, width = self.rows, self.cols, self.starts, self.width
        by_count = np.zeros((3 * width, weights.shape[1]))  # laid out as scipy's product was:
        if cols.size:  # the averages' float sums depend on the layout, to the last bit
            by_count[cols[starts]] = np.add.reduceat(weights[rows], starts, axis=0)
        counts = by_count.T
        return label_averages(
            counts[:, :width], counts[:, width : 2 * width], counts[:, 2 * width :]
        )


def _resampled_averages(
    counts: _CaseCounts, n_cases: int, resamples: int, seed: int
) -> dict[str, list[Any]]:
    """The averages on each bootstrap resample of the cases, drawn in chunks
    (`_CHUNK_ELEMENTS`)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ELEMENTS // n_cases)
    parts: dict[str, list[Any]] = {name: [] for name in AVERAGES}
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        drawn = rng.integers(0, n_cases, size=(size, n_cases))
        flat = (np.arange(size)[:, None] * n_cases + drawn).ravel()
        weights = np.bincount(flat, minlength=size * n_cases).reshape(size, n_cases)
        drawn_averages = counts.averages(np.ascontiguousarray(weights.T, dtype=float))
        for name in AVERAGES:
            parts[name].append(drawn_averages[name])
    return parts


def _jackknife_averages(counts: _CaseCounts, n_cases: int, seed: int) -> dict[str, Any]:
    """The averages with one group of cases left out at a time (one case a group on runs up to
    JACKKNIFE_GROUPS cases)."""
    import numpy as np

    groups = min(n_cases, JACKKNIFE_GROUPS)
    member = np.random.default_rng(seed + 1).permutation(n_cases) % groups
    kept = np.ones((n_cases, groups))
    kept[np.arange(n_cases), member] = 0.0
    return counts.averages(kept)


def _with_stratified(
    intervals: dict[str, tuple[float, float] | None], case: Any, true: Any, pred: Any, width: int
) -> dict[str, tuple[float, float] | None]:
    """Macro recall's and precision's intervals widened to hold the stratified Wilson interval,
    each case counted once (its trials weigh 1 / its trials: repeats are not new evidence)."""
    import numpy as np

    weight = 1.0 / np.bincount(case)[case]
    hit, has_true, has_pred = (true >= 0) & (true == pred), true >= 0, pred < width
    hits = np.bincount(true[hit], weight[hit], minlength=width)
    bases = {
        "macro_recall": np.bincount(true[has_true], weight[has_true], minlength=width),
        "macro_precision": np.bincount(pred[has_pred], weight[has_pred], minlength=width),
    }
    widened = dict(intervals)
    for name, totals in bases.items():
        ci, kept = intervals[name], totals > 0
        # at 0 or 100% the interval stays Wilson's over the cases, as for any rate there
        if ci is not None and 0 < (hits[kept] / totals[kept]).mean() < 1:
            low, high = stratified_wilson(hits, totals)
            widened[name] = (min(ci[0], low), max(ci[1], high))
    return widened
