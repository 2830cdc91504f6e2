"""compare(a, b): paired per-case outcomes, McNemar's exact test, deltas, fixed and broken."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agenteval.cases import Case
from agenteval.execution.runner import ResultRow, Trial
from agenteval.routing import Decision
from agenteval.scoring.compare import Comparison, compare
from agenteval.stats import mcnemar_exact, paired_difference

AGENTS = ["alpha", "beta", "gamma"]


def row(case: str, expected, label, n: int = 0, error: str | None = None) -> ResultRow:
    exp = (expected,) if isinstance(expected, str) else tuple(sorted(expected))
    return ResultRow(
        case=Case(id=case, prompt="p", expected=frozenset(exp), origin="dataset", source="d:1"),
        trial=Trial(
            case_id=case,
            trial=n,
            expected=exp,
            label=None if error else label,
            decision=Decision(agent=label, error=error),
        ),
    )


def runs(outcomes: list[tuple[bool, bool]]) -> tuple[list[ResultRow], list[ResultRow]]:
    """Two runs over the same cases, right or wrong per case as given."""
    a = [row(f"c{i:03d}", "alpha", "alpha" if x else "beta") for i, (x, _) in enumerate(outcomes)]
    b = [row(f"c{i:03d}", "alpha", "alpha" if y else "gamma") for i, (_, y) in enumerate(outcomes)]
    return a, b


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [(10, 2, 0.0386), (2, 10, 0.0386), (0, 0, 1.0), (5, 5, 1.0), (0, 6, 0.03125), (1, 9, 0.0215)],
)
def test_mcnemar_exact_known_values(b, c, p):
    assert math.isclose(mcnemar_exact(b, c), p, abs_tol=5e-5)


def test_mcnemar_matches_scipy_for_small_and_large_counts():
    from scipy.stats import binomtest

    for b, c in [(3, 17), (40, 61), (400, 480), (12000, 12500)]:
        want = binomtest(min(b, c), b + c, 0.5).pvalue
        assert math.isclose(mcnemar_exact(b, c), want, rel_tol=1e-9)


def test_paired_interval_matches_newcombe():
    # Fagerland, Lydersen & Laake (2017), ch. 8, Cavo et al.: -0.0621 (-0.1186 to -0.0046)
    # for first-minus-second; ours is second-minus-first, so the signs flip
    low, high = paired_difference(59, 6, 16, 80)
    assert math.isclose(low, 0.0046, abs_tol=5e-5) and math.isclose(high, 0.1186, abs_tol=5e-5)


def test_identical_runs():
    a, _ = runs([(True, True)] * 8 + [(False, False)] * 4)
    result = compare(a, a, AGENTS, AGENTS)
    assert result.shared == 12 and result.p_value == 1.0 and result.delta == 0.0
    assert result.fixed == () and result.broken == () and not result.significant()
    low, high = result.delta_ci
    assert low <= 0.0 <= high
    assert (result.both_right, result.both_wrong) == (8, 4)
    assert "no change" in result.summary_sentence()


def test_a_significant_drop():
    a, b = runs([(True, False)] * 10 + [(False, True)] * 2 + [(True, True)] * 30)
    result = compare(a, b, AGENTS, AGENTS)
    assert (len(result.broken), len(result.fixed), result.both_right) == (10, 2, 30)
    assert math.isclose(result.p_value, 0.0386, abs_tol=5e-5) and result.significant()
    assert not result.significant(alpha=0.01)
    assert result.accuracy_a.value == 40 / 42 and result.accuracy_b.value == 32 / 42
    assert math.isclose(result.delta, -8 / 42)
    low, high = result.delta_ci
    assert -1 <= low < result.delta < high < 0
    sentence = result.summary_sentence("base", "new")
    assert sentence.startswith("new is 19.0 points worse than base on 42 shared cases")
    assert "p = 0.039" in sentence and "a significant drop" in sentence


def test_a_small_gain_is_not_significant():
    a, b = runs([(False, True)] * 3 + [(True, False)] * 1 + [(True, True)] * 10)
    result = compare(a, b, AGENTS, AGENTS)
    assert result.delta > 0 and not result.significant()
    assert "better" in result.summary_sentence() and "not significant" in result.summary_sentence()


def test_fixed_and_broken_cases_name_both_labels():
    a = [row("x", "alpha", "beta"), row("y", "beta", "beta"), row("z", "gamma", "gamma")]
    b = [row("x", "alpha", "alpha"), row("y", "beta", "none"), row("z", "gamma", "gamma")]
    result = compare(a, b, AGENTS, AGENTS)
    ((fixed,), (broken,)) = result.fixed, result.broken
    assert (fixed.case_id, fixed.expected, fixed.label_a, fixed.label_b) == (
        "x",
        ("alpha",),
        "beta",
        "alpha",
    )
    assert (broken.case_id, broken.label_a, broken.label_b) == ("y", "beta", "none")
    alpha, beta, gamma = (result.agent(n) for n in AGENTS)
    assert (alpha.support, alpha.recall_a, alpha.recall_b, alpha.delta) == (1, 0.0, 1.0, 1.0)
    assert beta.delta == -1.0 and gamma.delta == 0.0
    assert result.agent("none").support == 0 and result.agent("none").delta is None


def test_different_catalogs_compare_on_shared_cases():
    a = [row("old", "alpha", "alpha"), row("both", "beta", "beta"), row("err", "beta", "beta")]
    b = [
        row("both", "beta", "beta"),
        row("new", "delta", "delta"),
        row("err", "beta", None, error="boom"),
    ]
    result = compare(a, b, AGENTS, ["beta", "gamma", "delta"])
    assert result.shared == 1
    assert result.added == ("new",) and result.removed == ("old",)
    assert result.unscored == ("err",)
    assert result.agents_added == ("delta",) and result.agents_removed == ("alpha",)
    assert "1 case only in B, 1 only in A" in result.summary_sentence()


def test_majority_outcome_per_case_with_repeats():
    a = [row("x", "alpha", lab, n=i) for i, lab in enumerate(["alpha", "alpha", "beta"])]
    b = [row("x", "alpha", lab, n=i) for i, lab in enumerate(["beta", "gamma", "alpha"])]
    result = compare(a, b, AGENTS, AGENTS)
    assert result.shared == 1 and result.broken[0].label_a == "alpha"
    assert result.broken[0].label_b == "beta"  # most frequent wrong label; ties by name


def test_relabelled_cases_are_listed():
    result = compare([row("x", "alpha", "alpha")], [row("x", "beta", "alpha")], AGENTS, AGENTS)
    assert result.relabelled == ("x",) and len(result.broken) == 1
    # per-agent deltas group a case by what run B expects, so both runs share the cases
    assert result.agent("beta").support == 1 and result.agent("alpha").support == 0


def test_nothing_shared():
    result = compare([row("x", "alpha", "alpha")], [row("y", "alpha", "alpha")], AGENTS, AGENTS)
    assert result.shared == 0 and result.delta is None and result.p_value is None
    assert result.delta_ci is None and result.accuracy_a.value is None
    assert not result.significant()
    assert "cannot be compared" in result.summary_sentence()


def test_round_trip_through_json():
    a, b = runs([(True, False)] * 3 + [(False, True)] * 2 + [(True, True)] * 5)
    result = compare(a, b, AGENTS, [*AGENTS, "delta"])
    assert Comparison.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    empty = compare([], [], AGENTS, AGENTS)
    assert Comparison.from_dict(json.loads(json.dumps(empty.to_dict()))) == empty


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=40))
def test_swapping_runs_mirrors_the_result(outcomes):
    a, b = runs(outcomes)
    ab, ba = compare(a, b, AGENTS, AGENTS), compare(b, a, AGENTS, AGENTS)
    assert ab.p_value == ba.p_value
    assert ab.delta == -ba.delta
    assert [c.case_id for c in ab.fixed] == [c.case_id for c in ba.broken]
    low, high = ab.delta_ci
    assert -1 <= low <= ab.delta <= high <= 1
    assert math.isclose(low, -ba.delta_ci[1]) and math.isclose(high, -ba.delta_ci[0])
