"""The paired change between two runs on shared cases: an estimate, an interval and a test that
cannot contradict each other, because the interval is the set of changes the test does not reject.

Each case gives a per-case rate in each run (right trials over scored trials; 0 or 1 with one
trial a case) and the change d = second - first. The test of "no change" is McNemar's score test,
(fixed - broken) / sqrt(fixed + broken); with several trials a case it is the clustered McNemar
test of Durkalski et al. (2003), sum(d) / sqrt(sum(d^2)). The interval inverts the score test at
every candidate change, with the variance under that change (Tango 1998), so it does not collapse
at 0 or 100% nor end at its own estimate. Fagerland, Lydersen & Laake (2013, 2014) recommend both
the asymptotic McNemar test (the exact conditional one is too conservative) and Tango's interval.

Several trials a case: the changes are fractional, e.g. 1/3 -> 2/3 is d = +1/3. They enter as a
fractional 2x2 table (fixed = sum of positive d, broken = sum of negative d) scaled by
s = sum|d| / sum(d^2), the effective number of paired trials per case, which makes the score test
exactly the clustered one. With yes/no outcomes s = 1 and this is Tango's interval and McNemar's
test. When no case changed at all, s = 1 (one pair a case), the conservative end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

_ITERATIONS = 60  # bisection steps: the bracket shrinks below 1e-17
# The regression gate's continuity correction, in pairs (Edwards': |fixed - broken| - 1): at
# its margin with sparse discordant pairs Tango's test failed up to 0.08 of true drops equal to
# the margin at 0.05; corrected it stays at or below the level (bench/gate_size.py).
GATE_CONTINUITY = 1.0


@dataclass(frozen=True, kw_only=True)
class PairedTable:
    """The (effective) paired table of two runs over ``cases`` shared cases.

    ``fixed`` and ``broken`` are the discordant counts (right only in the second run, right only
    in the first), scaled by ``scale`` like the number of pairs ``pairs``; with yes/no outcomes
    they are plain counts and ``scale`` is 1.
    """

    cases: int
    fixed: float
    broken: float
    pairs: float
    scale: float

    @property
    def delta(self) -> float:
        """The change, second minus first: the mean of the per-case changes."""
        return (self.fixed - self.broken) / self.pairs

    def score(self, delta0: float, continuity: float = 0.0) -> float:
        """Tango's score statistic for "the change is delta0" (negative: the data say less).

        Args:
            delta0: The change under the null hypothesis.
            continuity: How far the estimate is moved toward delta0 first, in pairs (see
                `tango_score`); 0 is Tango's statistic.
        """
        return float(tango_score(self.fixed, self.broken, self.pairs, delta0, continuity))

    def p_value(
        self,
        delta0: float = 0.0,
        alternative: Literal["two-sided", "less", "greater"] = "two-sided",
        continuity: float = 0.0,
    ) -> float:
        """The score test's p-value for "the change is delta0".

        Args:
            delta0: The change under the null hypothesis (0: no change).
            alternative: ``two-sided``, ``less`` (the change is below delta0) or ``greater``.
            continuity: The continuity correction, in pairs (the gate's: `GATE_CONTINUITY`).
        """
        t = self.score(delta0, continuity)
        if alternative == "less":
            return 0.5 * math.erfc(-t / math.sqrt(2))
        if alternative == "greater":
            return 0.5 * math.erfc(t / math.sqrt(2))
        return math.erfc(abs(t) / math.sqrt(2))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The changes the two-sided test at 1 - level does not reject: a (low, high) interval.

        0 is inside exactly when ``p_value() >= 1 - level``.
        """
        z = NormalDist().inv_cdf(1 - (1 - level) / 2)
        return self._bound(-z, upper=False), self._bound(z, upper=True)

    def upper(self, level: float = 0.95, continuity: float = 0.0) -> float:
        """The one-sided upper confidence bound: the change is below it with this confidence.

        A change d is below it exactly when ``p_value(d, "less", continuity) < 1 - level``.
        """
        return self._bound(NormalDist().inv_cdf(level), upper=True, continuity=continuity)

    def _bound(self, z: float, *, upper: bool, continuity: float = 0.0) -> float:
        """Where the score statistic crosses -z (upper) or +z (lower), by bisection.

        0 is one end of the first bracket when it lies between the estimate and the edge, so the
        bound is on the same side of 0 as the test says: interval and test always agree.
        """
        est, edge = self.delta, (1.0 if upper else -1.0)
        if est == edge:
            return edge

        def accepted(d: float) -> bool:
            t = self.score(d, continuity)
            return t >= -z if upper else t <= -z

        near, far = est, edge
        if (est < 0 < edge) or (edge < 0 < est):
            if accepted(0.0):
                near = 0.0
            else:
                far = 0.0
        if accepted(far):
            return far
        for _ in range(_ITERATIONS):
            mid = (near + far) / 2
            if accepted(mid):
                near = mid
            else:
                far = mid
        return near


def tango_score(fixed: Any, broken: Any, pairs: Any, delta0: float, continuity: float = 0.0) -> Any:
    """Tango's score statistic for "the change is delta0", elementwise over arrays of tables.

    ``continuity`` moves the estimate that many pairs (``continuity / pairs``) toward delta0,
    never past it, before the variance under delta0 divides it: 1 is Edwards' correction of
    McNemar's test, (|fixed - broken| - 1) / sqrt(fixed + broken) at delta0 = 0.
    """
    import numpy as np

    n, b, c = (np.asarray(x, dtype=float) for x in (pairs, broken, fixed))
    gap = (c - b) / n - delta0
    gap = np.sign(gap) * np.maximum(np.abs(gap) - continuity / n, 0.0)
    # the restricted maximum-likelihood share of "broken" pairs given the change delta0
    linear = c * (1 + delta0) + b * (1 - delta0) - 2 * n * delta0
    root = np.sqrt(np.maximum(0.0, linear * linear + 8 * n * b * delta0 * (1 - delta0)))
    q = np.maximum(np.maximum(0.0, (linear + root) / (4 * n)), -delta0)
    var = (2 * q + delta0 - delta0 * delta0) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        t = gap / np.sqrt(np.where(var > 1e-300, var, 1.0))
    return np.where(var > 1e-300, t, np.where(gap == 0, 0.0, np.copysign(np.inf, gap)))


def paired_table(first: Sequence[float], second: Sequence[float]) -> PairedTable:
    """The paired table of per-case rates (each in 0..1), one pair a case, in the same order.

    Raises:
        ValueError: when there are no cases or the sequences differ in length.
    """
    if not first or len(first) != len(second):
        raise ValueError("paired_table needs the same, non-zero number of rates in each run")
    diffs = [b - a for a, b in zip(first, second, strict=True)]
    absolute = sum(abs(d) for d in diffs)
    squares = sum(d * d for d in diffs)
    scale = absolute / squares if squares > 0 else 1.0
    return PairedTable(
        cases=len(diffs),
        fixed=scale * sum(d for d in diffs if d > 0),
        broken=scale * -sum(d for d in diffs if d < 0),
        pairs=scale * len(diffs),
        scale=scale,
    )
