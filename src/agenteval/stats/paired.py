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
from typing import Literal

_ITERATIONS = 60  # bisection steps: the bracket shrinks below 1e-17


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

    def score(self, delta0: float) -> float:
        """Tango's score statistic for "the change is delta0" (negative: the data say less)."""
        n, b, c = self.pairs, self.broken, self.fixed
        est = self.delta
        # the restricted maximum-likelihood share of "broken" pairs given the change delta0
        linear = c * (1 + delta0) + b * (1 - delta0) - 2 * n * delta0
        root = math.sqrt(max(0.0, linear * linear + 8 * n * b * delta0 * (1 - delta0)))
        q = max(0.0, (linear + root) / (4 * n), -delta0)
        var = (2 * q + delta0 - delta0 * delta0) / n
        if var <= 1e-300:
            return 0.0 if est == delta0 else math.copysign(math.inf, est - delta0)
        return (est - delta0) / math.sqrt(var)

    def p_value(
        self, delta0: float = 0.0, alternative: Literal["two-sided", "less"] = "two-sided"
    ) -> float:
        """The score test's p-value for "the change is delta0".

        Args:
            delta0: The change under the null hypothesis (0: no change).
            alternative: ``two-sided``, or ``less``: the change is below delta0 (one-sided).
        """
        t = self.score(delta0)
        if alternative == "less":
            return 0.5 * math.erfc(-t / math.sqrt(2))
        return math.erfc(abs(t) / math.sqrt(2))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The changes the two-sided test at 1 - level does not reject: a (low, high) interval.

        0 is inside exactly when ``p_value() >= 1 - level``.
        """
        z = NormalDist().inv_cdf(1 - (1 - level) / 2)
        return self._bound(-z, upper=False), self._bound(z, upper=True)

    def upper(self, level: float = 0.95) -> float:
        """The one-sided upper confidence bound: the change is below it with this confidence."""
        return self._bound(NormalDist().inv_cdf(level), upper=True)

    def _bound(self, z: float, *, upper: bool) -> float:
        """Where the score statistic crosses -z (upper) or +z (lower), by bisection.

        0 is one end of the first bracket when it lies between the estimate and the edge, so the
        bound is on the same side of 0 as the test says: interval and test always agree.
        """
        est, edge = self.delta, (1.0 if upper else -1.0)
        if est == edge:
            return edge

        def accepted(d: float) -> bool:
            t = self.score(d)
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
