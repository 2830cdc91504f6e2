"""The statistics behind scorecards and comparisons: intervals and tests, numbers in and out.

Nothing here knows about agents, cases or runs; `scoring` and `compare` turn records into the
plain counts these functions take. This module holds the proportions (Wilson, clustered Wilson,
`Rate`); `stats.paired` the paired change between two runs with its matching test;
`stats.bootstrap` the case-level bootstrap of the label averages. numpy is imported inside
the functions that need it, so importing this package stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


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
    correct: Sequence[float], scored: Sequence[float], z: float = Z95
) -> tuple[float, float, float]:
    """A Wilson interval for a proportion whose trials come in clusters (repeats of one case).

    Repeated trials of one case are not independent: a router that always misroutes a case
    misroutes all its trials. The cluster-robust (ratio-estimator) variance gives the design
    effect, the factor by which clustering inflates the variance; the interval is Wilson's on the
    effective sample size n / design effect. Wilson rather than a normal or bootstrap interval,
    because at 0% or 100% those collapse to a zero-width interval while Wilson's stays honest.
    The design effect is clipped to [1, sum(m^2) / n]: never narrower than independent trials,
    never wider than perfectly correlated ones. At 0% or 100% no variation within a case can be
    seen, so the conservative end is used. With one trial a cluster this is Wilson's interval.

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


@dataclass(frozen=True, kw_only=True)
class Rate:
    """k successes out of n, with a 95% interval; value is None when n is 0.

    `Rate.of` is Wilson's interval for independent trials; `Rate.of_clusters` is clustered by
    case (`clustered_wilson`) and equals `Rate.of` when every case ran once.
    """

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

    @classmethod
    def of_clusters(cls, correct: Sequence[int], scored: Sequence[int]) -> Rate:
        """Successes over trials, the interval clustered by case.

        Args:
            correct: Successes per case.
            scored: Trials per case (cases with none are ignored).
        """
        k, n = sum(correct), sum(scored)
        if n == 0:
            return cls(k=k, n=n, value=None, low=None, high=None)
        low, high, _ = clustered_wilson(correct, scored)
        return cls(k=k, n=n, value=k / n, low=low, high=high)
