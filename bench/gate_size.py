"""How often the regression gate fails a change whose true drop is exactly the drop it allows.

That rate is the gate's size: it should be at most `gates.significance`. The hard place is sparse
discordant pairs: accuracy near 95%, cases whose trials agree (intra-case correlation 0.5 or
more), one or three trials a case. Each replication draws per-case probabilities with that mean
and correlation for the baseline, the candidate's as the same cases scaled down by the margin (so
the population drop is the margin exactly), trials from those, and applies the gate's test.
Prints the rejection rate beside the nominal level, with its Monte Carlo standard error.

Usage: python bench/gate_size.py [--replications 20000] [--continuity 0.5]
"""

from __future__ import annotations

import argparse
import itertools
from statistics import NormalDist

import numpy as np

from agenteval.stats.paired import GATE_CONTINUITY, tango_score


def rejection_rate(
    rng: np.random.Generator,
    *,
    cases: int,
    trials: int,
    icc: float,
    margin: float,
    significance: float,
    replications: int,
    accuracy: float = 0.95,
    continuity: float = GATE_CONTINUITY,
) -> float:
    """The share of replications where the gate fails a true drop of exactly ``margin``."""
    shape = (replications, cases)
    total = (1 - icc) / icc
    first = rng.beta(accuracy * total, (1 - accuracy) * total, shape)
    second = first * (accuracy - margin) / accuracy
    d = (rng.binomial(trials, second) - rng.binomial(trials, first)) / trials
    absolute, squares = np.abs(d).sum(1), (d * d).sum(1)
    scale = np.where(squares > 0, absolute / np.where(squares > 0, squares, 1.0), 1.0)
    fixed = scale * np.where(d > 0, d, 0).sum(1)
    broken = scale * np.where(d < 0, -d, 0).sum(1)
    t = tango_score(fixed, broken, scale * cases, -margin, continuity)
    return float((t < NormalDist().inv_cdf(significance)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=20_000)
    parser.add_argument("--continuity", type=float, default=GATE_CONTINUITY)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"continuity {args.continuity}, {args.replications} replications a row")
    print("cases trials  icc margin  nominal  rejected  (MC s.e.)")
    grid = itertools.product((50, 100, 200, 400), (1, 3), (0.5, 0.8), (0.02, 0.05), (0.05, 0.01))
    for cases, trials, icc, margin, alpha in grid:
        rate = rejection_rate(
            rng,
            cases=cases,
            trials=trials,
            icc=icc,
            margin=margin,
            significance=alpha,
            replications=args.replications,
            continuity=args.continuity,
        )
        se = (alpha * (1 - alpha) / args.replications) ** 0.5
        flag = "  <- over" if rate > alpha + 2 * se else ""
        print(
            f"{cases:5d} {trials:6d} {icc:4.1f} {margin:6.2f} {alpha:8.2f} {rate:9.4f}"
            f"  ({se:.4f}){flag}"
        )


if __name__ == "__main__":
    main()
