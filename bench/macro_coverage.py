"""How often the scorecard's macro recall and macro precision intervals hold the population value.

Each replication routes ``cases`` cases (one trial each) drawn evenly over ``labels`` labels; a
case of label l is routed right with probability r_l, otherwise to one of the other labels at
random. The population macro recall is the mean of r_l; the population macro precision the mean,
over labels, of P(expected l | routed to l). The interval is the one the scorecard prints
(`stats.bootstrap.bootstrap_averages`, then widened to hold the estimate). Prints each setting's
coverage beside the nominal 0.95, with its Monte Carlo standard error.

Usage: python bench/macro_coverage.py [--replications 1000]
"""

from __future__ import annotations

import argparse

import numpy as np

from agenteval.stats.bootstrap import bootstrap_averages

# (name, per-label recall): mid-range, near 100% and near 0%, over 8 and over 20 labels
SETTINGS = (
    ("8 mid", tuple(np.linspace(0.7, 0.9, 8))),
    ("8 high", (0.93, 0.95, 0.97, 0.99, 1.0, 0.95, 0.97, 0.99)),
    ("8 low", (0.0, 0.02, 0.04, 0.06, 0.08, 0.02, 0.04, 0.06)),
    ("20 mid", tuple(np.linspace(0.6, 0.95, 20))),
    ("20 high", tuple(np.linspace(0.9, 1.0, 20))),
    ("20 low", tuple(np.linspace(0.0, 0.1, 20))),
)


def population(recall: np.ndarray) -> tuple[float, float]:
    """The population macro recall and macro precision (labels equally likely)."""
    labels = recall.size
    wrong_into = ((1 - recall).sum() - (1 - recall)) / (labels - 1)
    precision = np.where(recall + wrong_into > 0, recall / (recall + wrong_into), np.nan)
    return float(recall.mean()), float(np.nanmean(precision))


def coverage(rng: np.random.Generator, recall: np.ndarray, cases: int, replications: int) -> dict:
    """The share of replications whose macro recall / precision interval holds the truth."""
    labels = recall.size
    truth = dict(zip(("macro_recall", "macro_precision"), population(recall), strict=True))
    held = dict.fromkeys(truth, 0)
    defined = dict.fromkeys(truth, 0)
    for _ in range(replications):
        true = rng.integers(0, labels, cases)
        right = rng.random(cases) < recall[true]
        other = (true + rng.integers(1, labels, cases)) % labels
        pred = np.where(right, true, other)
        intervals = bootstrap_averages(np.arange(cases), true, pred, labels)
        for name, value in truth.items():
            ci = intervals[name]
            if ci is None:
                continue
            defined[name] += 1
            estimate = _estimate(name, true, pred, labels)
            low, high = min(ci[0], estimate), max(ci[1], estimate)
            held[name] += low <= value <= high
    return {name: float(held[name]) / max(defined[name], 1) for name in truth}


def _estimate(name: str, true: np.ndarray, pred: np.ndarray, labels: int) -> float:
    hit = np.bincount(true[true == pred], minlength=labels).astype(float)
    base = np.bincount(true if name == "macro_recall" else pred, minlength=labels)
    kept = base > 0
    return float((hit[kept] / base[kept]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    se = (0.95 * 0.05 / args.replications) ** 0.5
    print(f"{args.replications} replications a row; nominal 0.95, Monte Carlo s.e. {se:.3f}")
    print("setting     cases  macro recall  macro precision")
    for cases in (40, 100):
        for name, recall in SETTINGS:
            got = coverage(rng, np.asarray(recall), cases, args.replications)
            print(
                f"{name:10s} {cases:6d} {got['macro_recall']:13.3f} {got['macro_precision']:16.3f}"
            )


if __name__ == "__main__":
    main()
