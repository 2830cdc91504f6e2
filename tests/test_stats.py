"""stats: coverage of the clustered and paired intervals (seeded simulations), agreement of the
paired interval with its test on every small table, and the bootstrap's BCa with its fallback."""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agenteval.stats import Rate, bootstrap, clustered_wilson, wilson
from agenteval.stats.bootstrap import bca_interval, bootstrap_averages
from agenteval.stats.paired import GATE_CONTINUITY, paired_table, tango_score

SIMULATIONS = 400


def case_rates(rng, mean: float, icc: float, size: int):
    """Per-case success probabilities with the given mean and intra-case correlation."""
    a, b = mean * (1 - icc) / icc, (1 - mean) * (1 - icc) / icc
    return rng.beta(a, b, size)


@pytest.mark.parametrize(("icc", "mean"), [(0.5, 0.7), (0.5, 0.9), (0.8, 0.8)])
def test_clustered_intervals_cover_the_truth(icc, mean):
    # 200 cases x 3 trials, as in issue 11: plain Wilson on trials covered 84% (77% at 0.8)
    rng = np.random.default_rng(11)
    clustered = plain = 0
    for _ in range(SIMULATIONS):
        right = rng.binomial(3, case_rates(rng, mean, icc, 200))
        rate = Rate.of_clusters(right.tolist(), [3] * 200)
        clustered += rate.low <= mean <= rate.high
        low, high = wilson(int(right.sum()), 600)
        plain += low <= mean <= high
    assert clustered / SIMULATIONS >= 0.92
    assert plain / SIMULATIONS < 0.88  # the simulation can tell a bad interval from a good one


def test_clustered_wilson_is_wilson_with_one_trial_a_case():
    right = [1, 0, 1, 1, 0, 1, 1]
    assert clustered_wilson(right, [1] * 7) == (*wilson(5, 7), 1.0)
    assert Rate.of_clusters(right, [1] * 7) == Rate.of(5, 7)
    assert Rate.of_clusters([], []).value is None


def draw_pair(rng, size: int, icc: float):
    """Per-case probabilities in two runs: mostly the same difficulty, sometimes a new one."""
    first = case_rates(rng, 0.8, icc, size)
    keep = rng.random(size) < 0.7
    second = np.where(keep, np.clip(first * 0.9 / 0.8, 0, 1), case_rates(rng, 0.9, icc, size))
    return first, second


@pytest.mark.parametrize(("cases", "trials"), [(60, 1), (200, 1), (50, 3), (150, 5)])
def test_paired_interval_covers_the_population_change(cases, trials):
    rng = np.random.default_rng(7)
    first, second = draw_pair(rng, 400_000, 0.5)
    truth = float((second - first).mean())
    covered = 0
    for _ in range(300):
        pa, pb = draw_pair(rng, cases, 0.5)
        ra, rb = rng.binomial(trials, pa) / trials, rng.binomial(trials, pb) / trials
        low, high = paired_table(ra.tolist(), rb.tolist()).interval()
        covered += low <= truth <= high
    assert covered / 300 >= 0.92


def tables(most: int):
    for n in range(1, most + 1):
        for both, first, second in itertools.product(range(n + 1), repeat=3):
            neither = n - both - first - second
            if neither >= 0:
                yield both, first, second, neither


def as_rates(both: int, first: int, second: int, neither: int):
    a = [1.0] * both + [1.0] * first + [0.0] * second + [0.0] * neither
    b = [1.0] * both + [0.0] * first + [1.0] * second + [0.0] * neither
    return a, b


def test_interval_and_test_agree_on_every_small_table():
    checked = 0
    for table in tables(15):
        paired = paired_table(*as_rates(*table))
        low, high = paired.interval()
        p = paired.p_value()
        assert (low > 0 or high < 0) == (p < 0.05), table
        assert -1 <= low <= paired.delta <= high <= 1, table
        assert high > low, table  # never zero width
        if -1 < paired.delta < 1:
            assert low < paired.delta < high, table  # never ends at its own estimate
        checked += 1
    assert checked == 3875


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40),
    st.sampled_from([0.8, 0.9, 0.95]),
)
def test_interval_and_test_agree_with_repeats_at_any_level(counts, level):
    paired = paired_table([a / 3 for a, _ in counts], [b / 3 for _, b in counts])
    low, high = paired.interval(level)
    assert (low > 0 or high < 0) == (paired.p_value() < 1 - level)
    upper = paired.upper(level)
    assert paired.delta <= upper <= 1
    for margin in (0.0, 0.05, 0.2):
        rejected = paired.p_value(-margin, "less") < 1 - level
        assert rejected == (upper < -margin)


def test_tango_matches_a_brute_force_restricted_likelihood():
    from scipy.optimize import minimize_scalar

    def score(b, c, n, d0):
        # maximise the multinomial likelihood with p_fixed - p_broken = d0, numerically
        lo, hi = max(0.0, -d0), (1 - d0) / 2

        def nll(q):
            cells = [(c, q + d0), (b, q), (n - b - c, 1 - 2 * q - d0)]
            return -sum(k * math.log(max(p, 1e-300)) for k, p in cells if k)

        q = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}).x
        return ((c - b) / n - d0) / math.sqrt((2 * q + d0 - d0 * d0) / n)

    for both, first, second, neither in [(59, 6, 16, 80), (1, 1, 7, 12), (0, 3, 9, 20)]:
        paired = paired_table(*as_rates(both, first, second, neither))
        n = both + first + second + neither
        for d0 in (-0.3, -0.05, 0.1, 0.25):
            want = score(first, second, n, d0)
            assert math.isclose(paired.score(d0), want, rel_tol=1e-5, abs_tol=1e-6), d0


def test_paired_table_needs_pairs():
    with pytest.raises(ValueError):
        paired_table([], [])
    with pytest.raises(ValueError):
        paired_table([1.0], [1.0, 0.0])


def test_bca_matches_scipy_on_a_skewed_mean():
    from scipy.stats import bootstrap

    rng = np.random.default_rng(3)
    data = rng.beta(0.5, 4.0, 80)
    estimate = float(data.mean())
    draws = rng.integers(0, data.size, size=(20_000, data.size))
    replicates = data[draws].mean(axis=1)
    jackknife = (data.sum() - data) / (data.size - 1)
    low, high = bca_interval(estimate, replicates, jackknife, data.size)
    want = bootstrap((data,), np.mean, method="BCa", n_resamples=20_000, random_state=4)
    assert math.isclose(low, want.confidence_interval.low, abs_tol=0.004)
    assert math.isclose(high, want.confidence_interval.high, abs_tol=0.004)


def test_bca_falls_back_to_wilson_where_it_cannot_serve():
    # every resample at 100%: Wilson on the number of cases, never (1.0, 1.0)
    assert bca_interval(1.0, np.ones(100), np.ones(10), 10) == wilson(10, 10)
    # every resample below an interior estimate: no BCa; Wilson around the estimate instead
    low, high = bca_interval(0.4, np.full(100, 0.3), np.full(10, 0.35), 10)
    assert low < 0.4 < high


def test_bootstrap_intervals_do_not_depend_on_how_the_resamples_are_chunked(monkeypatch):
    """Resamples are drawn in chunks to bound memory; the chunk size changes no bit."""
    rng = np.random.default_rng(3)
    n = 700
    true = rng.integers(0, 30, n)
    pred = np.where(rng.random(n) < 0.7, true, rng.integers(0, 32, n))
    args = (np.arange(n), true, pred, 30)
    results = []
    for elements in (10_000_000, 250_000, 7_001):
        monkeypatch.setattr(bootstrap, "_CHUNK_ELEMENTS", elements)
        results.append(bootstrap_averages(*args))
    assert results[0] == results[1] == results[2]
    assert all(v is not None for v in results[0].values())


def gate_fails_at_the_margin(rng, *, cases, trials, icc, margin, alpha, replications):
    """The share of seeded replications where the gate fails a true drop of exactly ``margin``:
    baseline accuracy 95%, the candidate's cases the baseline's scaled down by the margin."""
    total = (1 - icc) / icc
    first = rng.beta(0.95 * total, 0.05 * total, (replications, cases))
    second = first * (0.95 - margin) / 0.95
    d = (rng.binomial(trials, second) - rng.binomial(trials, first)) / trials
    squares = (d * d).sum(1)
    scale = np.where(squares > 0, np.abs(d).sum(1) / np.maximum(squares, 1e-12), 1.0)
    fixed, broken = scale * np.clip(d, 0, None).sum(1), scale * np.clip(-d, 0, None).sum(1)
    t = tango_score(fixed, broken, scale * cases, -margin, GATE_CONTINUITY)
    return float((t < NormalDist().inv_cdf(alpha)).mean())


@pytest.mark.parametrize(
    ("cases", "trials", "icc", "alpha"),
    [(50, 3, 0.8, 0.05), (100, 1, 0.8, 0.05), (100, 1, 0.5, 0.05), (100, 3, 0.8, 0.01)],
)
def test_gate_size_at_the_margin_with_sparse_discordant_pairs(cases, trials, icc, alpha):
    # issue 20 D2: Tango's test without a continuity correction failed these 0.066 to 0.083
    # of the time at 0.05 and 0.021 at 0.01 (bench/gate_size.py); tolerance: 2 Monte Carlo s.e.
    replications = 4000
    rate = gate_fails_at_the_margin(
        np.random.default_rng(2020),
        cases=cases,
        trials=trials,
        icc=icc,
        margin=0.02,
        alpha=alpha,
        replications=replications,
    )
    assert rate <= alpha + 2 * math.sqrt(alpha * (1 - alpha) / replications)


def macro_coverage(rng, recall, cases: int, replications: int) -> dict[str, float]:
    """The share of seeded replications whose macro recall / precision interval holds the
    population value (labels equally likely; a miss goes to another label at random)."""
    labels = recall.size
    into = ((1 - recall).sum() - (1 - recall)) / (labels - 1)
    truth = {"macro_recall": recall.mean(), "macro_precision": (recall / (recall + into)).mean()}
    held = dict.fromkeys(truth, 0)
    for _ in range(replications):
        true = rng.integers(0, labels, cases)
        other = (true + rng.integers(1, labels, cases)) % labels
        pred = np.where(rng.random(cases) < recall[true], true, other)
        intervals = bootstrap_averages(np.arange(cases), true, pred, labels)
        for name, value in truth.items():
            low, high = intervals[name]
            held[name] += low <= value <= high
    return {name: held[name] / replications for name in truth}


def test_macro_intervals_hold_with_few_cases_a_label():
    # issue 20 D3: 40 cases over 20 labels, BCa alone held macro recall about 0.86 of the time;
    # the bar is 0.93 (bench/macro_coverage.py), less 2 Monte Carlo s.e. of this many runs
    replications = 400
    got = macro_coverage(np.random.default_rng(9), np.linspace(0.6, 0.95, 20), 40, replications)
    floor = 0.93 - 2 * math.sqrt(0.93 * 0.07 / replications)
    assert got["macro_recall"] >= floor and got["macro_precision"] >= floor
