"""compare(a, b): paired per-case rates, the score test and its interval, fixed and broken."""

from __future__ import annotations

import json
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from agenteval.cases import Case
from agenteval.execution.trials import ResultRow, Trial
from agenteval.routing import Decision
from agenteval.scoring.compare import Comparison, compare, regression_gate
from agenteval.scoring.facts import RunFacts

AGENTS = ["alpha", "beta", "gamma"]


def row(
    case: str,
    expected,
    label,
    n: int = 0,
    error: str | None = None,
    prompt: str | None = None,
    origin: str = "dataset",
) -> ResultRow:
    exp = (expected,) if isinstance(expected, str) else tuple(expected)
    text = f"request {case}" if prompt is None else prompt
    return ResultRow(
        case=Case(id=case, prompt=text, expected=exp, origin=origin, source="d:1"),
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
    # McNemar's score test: (2 - 10) / sqrt(12) = -2.31, p = 0.021 (the exact test says 0.039)
    assert math.isclose(result.p_value, 0.02092, abs_tol=5e-5) and result.significant()
    assert not result.significant(alpha=0.01)
    assert result.accuracy_a.value == 40 / 42 and result.accuracy_b.value == 32 / 42
    assert math.isclose(result.delta, -8 / 42)
    low, high = result.delta_ci
    assert -1 <= low < result.delta < high < 0
    sentence = result.summary_sentence("base", "new")
    assert sentence.startswith("new is 19.0 points worse than base on 42 shared cases")
    assert "p = 0.021" in sentence and "a significant drop" in sentence


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


def test_relabelled_cases_are_listed_not_paired():
    # a request whose expected agents changed is another case: it is not paired, but listed
    result = compare([row("x", "alpha", "alpha")], [row("x", "beta", "alpha")], AGENTS, AGENTS)
    assert result.relabelled == ("x",) and result.shared == 0 and result.broken == ()
    assert result.added == ("x",) and result.removed == ("x",)


def test_reordering_acceptable_agents_keeps_the_pair():
    a = [row("x", ("alpha", "beta"), "alpha")]
    b = [row("x", ("beta", "alpha"), "gamma")]
    result = compare(a, b, AGENTS, AGENTS)
    assert result.shared == 1 and result.relabelled == () and len(result.broken) == 1
    # per-agent deltas group a case by its first agent in run B, so both runs share the cases
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


def test_mcnemar_p_matches_statsmodels():
    from statsmodels.stats.contingency_tables import mcnemar

    for both, first, second, neither in [
        (30, 10, 2, 0),
        (5, 3, 9, 4),
        (0, 0, 2, 0),
        (50, 40, 61, 9),
    ]:
        a, b = runs(
            [(True, True)] * both
            + [(True, False)] * first
            + [(False, True)] * second
            + [(False, False)] * neither
        )
        result = compare(a, b, AGENTS, AGENTS)
        want = mcnemar([[both, first], [second, neither]], exact=False, correction=False).pvalue
        assert math.isclose(result.p_value, want, rel_tol=1e-9)


def test_the_issue_table_no_longer_contradicts_its_test():
    # (both right, right in A only, right in B only, both wrong) = (0, 0, 2, 0): Newcombe said
    # [+7, +100] points beside p = 0.5; the interval and the test now say the same thing
    a, b = runs([(False, True)] * 2)
    result = compare(a, b, AGENTS, AGENTS)
    assert not result.significant()
    low, high = result.delta_ci
    assert low < 0 < high and high == 1.0


def per_case(case: str, expected: str, labels: list) -> list[ResultRow]:
    return [row(case, expected, lab, n=i) for i, lab in enumerate(labels)]


def test_half_right_cases_count_as_half_right_not_wrong():
    # 50 cases at 1 right trial of 2: 50%, as the scorecard says, never 0%
    a = [r for i in range(50) for r in per_case(f"c{i}", "alpha", ["alpha", "beta"])]
    b = [r for i in range(50) for r in per_case(f"c{i}", "alpha", ["alpha", "alpha"])]
    result = compare(a, b, AGENTS, AGENTS)
    assert result.accuracy_a.value == 0.5 and result.accuracy_b.value == 1.0
    assert result.delta == 0.5 and len(result.fixed) == 50 and result.significant()
    low, high = result.delta_ci
    assert 0 < low < 0.5 < high <= 1.0
    assert result.fixed[0].rate_a == 0.5 and result.fixed[0].rate_b == 1.0


def test_zero_of_three_to_one_of_three_is_a_change():
    a = per_case("x", "alpha", ["beta", "beta", "beta"])
    b = per_case("x", "alpha", ["alpha", "beta", "beta"])
    result = compare(a, b, AGENTS, AGENTS)
    assert math.isclose(result.delta, 1 / 3) and len(result.fixed) == 1
    assert "no change" not in result.summary_sentence()
    assert result.accuracy_a.value == 0.0 and math.isclose(result.accuracy_b.value, 1 / 3)


def test_same_partial_rate_in_both_is_mixed_not_right_or_wrong():
    a = per_case("x", "alpha", ["alpha", "beta"])
    result = compare(a, a, AGENTS, AGENTS)
    assert (result.both_right, result.both_wrong, result.both_mixed) == (0, 0, 1)
    assert result.delta == 0.0 and result.p_value == 1.0


def test_clustered_test_with_repeats_is_durkalskis():
    # per-case changes d: the score test is sum(d) / sqrt(sum(d^2)) (Durkalski et al. 2003)
    rnd = random.Random(11)
    a, b, diffs = [], [], []
    for i in range(40):
        ka, kb = rnd.randint(0, 3), rnd.randint(0, 3)
        a += per_case(f"c{i}", "alpha", ["alpha"] * ka + ["beta"] * (3 - ka))
        b += per_case(f"c{i}", "alpha", ["alpha"] * kb + ["beta"] * (3 - kb))
        diffs.append((kb - ka) / 3)
    result = compare(a, b, AGENTS, AGENTS)
    z = sum(diffs) / math.sqrt(sum(d * d for d in diffs))
    assert math.isclose(result.p_value, math.erfc(abs(z) / math.sqrt(2)), rel_tol=1e-9)
    assert math.isclose(result.delta, sum(diffs) / 40, abs_tol=1e-12)


def test_per_agent_changes_carry_an_interval_and_a_test():
    a, b = runs([(True, False)] * 6 + [(True, True)] * 4)
    result = compare(a, b, AGENTS, AGENTS)
    alpha = result.agent("alpha")
    assert alpha.support == 10 and alpha.delta == -0.6
    low, high = alpha.delta_ci
    assert -1 <= low < -0.6 < high < 0 and alpha.p_value < 0.05
    assert result.agent("beta").delta_ci is None and result.agent("beta").p_value is None


def test_per_agent_changes_use_the_first_acceptable_agent_as_written():
    a = [row("x", ("beta", "alpha"), "alpha")]
    b = [row("x", ("beta", "alpha"), "gamma")]
    result = compare(a, b, AGENTS, AGENTS)
    assert result.agent("beta").support == 1 and result.agent("alpha").support == 0


def gate(outcomes, **kw):
    a, b = runs(outcomes)
    return regression_gate(compare(a, b, AGENTS, AGENTS), baseline="base", **kw)


def test_gate_is_one_sided():
    # 59 broken, 41 fixed: two-sided p = 0.072 (not significant); the gate's one-sided test,
    # continuity-corrected, (59 - 41 - 1) / sqrt(100) = 1.7, p = 0.045: it fails
    outcomes = [(True, False)] * 59 + [(False, True)] * 41
    a, b = runs(outcomes)
    comparison = compare(a, b, AGENTS, AGENTS)
    assert 0.05 < comparison.p_value < 0.1
    result = gate(outcomes)
    want = 0.5 * math.erfc(1.7 / math.sqrt(2))
    assert not result["passed"] and math.isclose(result["p_value"], want)
    assert result["message"].startswith("Regression: this run is 18.0 points worse")
    assert ": a significant drop (one-sided p = 0.045" in result["message"]
    assert result["bound"] < 0


def test_gate_tests_the_drop_against_the_allowed_margin():
    big = [(True, False)] * 10 + [(True, True)] * 30
    # a 25-point drop on 40 cases is significantly more than 2 points, not more than 20
    failed = gate(big, max_regression=0.02)
    assert not failed["passed"]
    assert "a drop significantly larger than the 2.0 points allowed" in failed["message"]
    assert failed["bound"] < -0.02
    passed = gate(big, max_regression=0.2)
    assert passed["passed"] and passed["bound"] > -0.2
    assert passed["message"].startswith("Not a significant regression:")
    assert "more than the 20.0 points allowed but not significantly more" in passed["message"]


def test_gate_passes_a_drop_inside_the_tolerance_and_says_so():
    result = gate([(True, False)] * 1 + [(True, True)] * 39, max_regression=0.05)
    assert result["passed"] and result["value"] < 0
    assert result["message"].startswith("Within tolerance:")
    assert "inside the 5.0 points allowed" in result["message"]
    assert "significant" not in result["message"]


def test_gate_with_nothing_shared_passes_and_says_nothing_to_compare():
    a, b = [row("x", "alpha", "alpha")], [row("y", "alpha", "alpha")]
    result = regression_gate(compare(a, b, AGENTS, AGENTS), baseline="base")
    assert result["passed"] and result["value"] is None
    assert result["message"].startswith("Nothing to compare")


def test_gate_passes_a_gain_and_a_chance_drop():
    gain = gate([(False, True)] * 5 + [(True, True)] * 5)["message"]
    assert gain.startswith("No regression: this run is 50.0 points better than baseline base")
    same = gate([(True, True)] * 5)["message"]
    assert same.startswith("No regression:") and same.endswith("no change.")
    chance = gate([(True, False)] * 2 + [(False, True)] * 1 + [(True, True)] * 10)
    assert chance["passed"] and chance["message"].startswith("Not a significant drop")


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=60),
    st.sampled_from([None, 0.0, 0.02, 0.1]),
    st.sampled_from([0.05, 0.1]),
)
def test_gate_fails_exactly_when_the_upper_bound_is_below_the_margin(outcomes, margin, alpha):
    result = gate(outcomes, max_regression=margin, significance=alpha)
    assert result["passed"] == (result["bound"] >= -(margin or 0.0))
    if result["value"] >= -(margin or 0.0):
        assert result["passed"]


# --- pairing by content, not by position -------------------------------------------------------


def test_inserting_an_example_does_not_re_pair_later_cases():
    prompts = ["deploy it", "write docs", "review this", "tune the query"]
    a = [row(f"ex{i}", "alpha", "alpha", prompt=p, origin="example") for i, p in enumerate(prompts)]
    # B inserts a new example first: every later positional id moves by one
    moved = ["a new request", *prompts]
    b = [
        row(
            f"ex{i}", "alpha", "beta" if p == "review this" else "alpha", prompt=p, origin="example"
        )
        for i, p in enumerate(moved)
    ]
    result = compare(a, b, AGENTS, AGENTS)
    assert result.shared == 4 and result.added == ("ex0",) and result.removed == ()
    (broken,) = result.broken
    assert (broken.case_id, broken.case_id_a) == ("ex3", "ex2")  # B's id shown, A's kept
    assert result.fixed == ()


def test_the_same_id_with_another_prompt_is_not_the_same_case():
    a = [row("ex1", "alpha", "alpha", prompt="old words")]
    b = [row("ex1", "alpha", "beta", prompt="new words")]
    result = compare(a, b, AGENTS, AGENTS)
    assert result.shared == 0 and result.added == ("ex1",) and result.removed == ("ex1",)
    assert "cannot be compared" in result.summary_sentence()


def test_origin_is_part_of_the_key_and_duplicates_pair_in_order():
    a = [
        row("d1", "alpha", "alpha", prompt="same"),
        row("d2", "alpha", "beta", prompt="same"),
        row("ex1", "alpha", "alpha", prompt="same", origin="example"),
    ]
    b = [
        row("d1", "alpha", "alpha", prompt="same"),
        row("d2", "alpha", "alpha", prompt="same"),
        row("ex9", "alpha", "beta", prompt="same", origin="example"),
    ]
    result = compare(a, b, AGENTS, AGENTS)
    assert result.shared == 3
    assert [(c.case_id, c.case_id_a) for c in result.fixed] == [("d2", None)]
    assert [(c.case_id, c.case_id_a) for c in result.broken] == [("ex9", "ex1")]


# --- settings: comparable, agreement only, not comparable ---------------------------------------

FACTS = RunFacts(
    catalog="f1", holdout="kfold:5", router="anthropic", model="m1", prompt="claude-code", trials=1
)


def facts(**changes) -> RunFacts:
    return RunFacts(**{**FACTS.to_dict(), **changes})


def test_same_settings_are_comparable():
    a, b = runs([(True, False)] * 10 + [(True, True)] * 10)
    result = compare(a, b, AGENTS, AGENTS, facts_a=FACTS, facts_b=facts())
    assert result.verdict == "comparable" and result.differences == ()
    assert result.summary_sentence().startswith("B is 50.0 points worse than A")


def test_holdout_or_trials_differ_is_not_comparable_and_says_which():
    a, b = runs([(False, True)] * 10 + [(True, True)] * 10)
    result = compare(a, b, AGENTS, AGENTS, facts_a=FACTS, facts_b=facts(holdout="none", trials=3))
    assert result.verdict == "not comparable"
    assert [(d.name, d.a, d.b) for d in result.differences] == [
        ("holdout", "kfold:5", "none"),
        ("trials", "1", "3"),
    ]
    sentence = result.summary_sentence()
    assert sentence.startswith("Not comparable: holdout differs (A kfold:5, B none), ")
    assert "trials differ (A 1, B 3)" in sentence and "not a measure of change" in sentence
    assert "significant gain" not in sentence
    assert regression_gate(result, baseline="base") is None


def test_routers_differ_shows_agreement_not_a_regression():
    a = [row(f"c{i}", "alpha", "alpha") for i in range(8)] + [row("c8", "beta", "gamma")]
    b = [row(f"c{i}", "alpha", "alpha" if i < 6 else "beta") for i in range(8)]
    b.append(row("c8", "beta", "gamma"))
    result = compare(
        a, b, AGENTS, AGENTS, facts_a=FACTS, facts_b=facts(router="claude-cli", model=None)
    )
    assert result.verdict == "agreement"
    assert [d.name for d in result.differences] == ["router", "model"]
    assert result.summary_sentence().startswith(
        "Routers differ (router: A anthropic, B claude-cli; model: A m1, B none): "
        "showing agreement, not a regression. They give the same label on 7 of 9 shared cases"
    )
    assert regression_gate(result, baseline="base") is None


def test_routers_differ_gives_no_gain_or_drop_verdict():
    a = [row(f"c{i}", "alpha", "beta") for i in range(30)]
    b = [row(f"c{i}", "alpha", "alpha") for i in range(30)]
    result = compare(
        a, b, AGENTS, AGENTS, facts_a=FACTS, facts_b=facts(router="claude-cli", model=None)
    )
    assert result.verdict == "agreement" and result.significant()
    sentence = result.summary_sentence()
    assert "not a regression" in sentence
    assert not any(word in sentence for word in ("significant", "gain", "drop", "better"))


def test_a_changed_catalog_is_marked_but_still_compared():
    a, b = runs([(True, False)] * 10 + [(True, True)] * 10)
    result = compare(a, b, AGENTS, AGENTS, facts_a=FACTS, facts_b=facts(catalog="f2"))
    assert result.verdict == "comparable"
    assert [d.name for d in result.differences] == ["catalog"]
    assert "The catalog changed (A f1, B f2)" in result.summary_sentence()
    assert regression_gate(result, baseline="base") is not None


def test_unknown_settings_compare_as_before():
    a, b = runs([(True, True)] * 4)
    assert compare(a, b, AGENTS, AGENTS).verdict == "comparable"


# --- agreement ----------------------------------------------------------------------------------


def test_agreement_is_the_share_of_same_labels_with_a_wilson_interval():
    from statsmodels.stats.proportion import proportion_confint

    a = [row(f"c{i}", "alpha", "alpha" if i % 4 else "beta") for i in range(40)]
    b = [row(f"c{i}", "alpha", "alpha" if i % 5 else "gamma") for i in range(40)]
    result = compare(a, b, AGENTS, AGENTS)
    same = sum((i % 4 != 0) == (i % 5 != 0) and i % 4 != 0 for i in range(40))
    assert (result.agreement.k, result.agreement.n) == (same, 40)
    low, high = proportion_confint(same, 40, method="wilson")
    assert math.isclose(result.agreement.low, low) and math.isclose(result.agreement.high, high)
    assert len(result.disagreements) == 40 - same
    d = result.disagreements[0]
    assert (d.case_id, d.label_a, d.label_b, d.expected) == ("c0", "beta", "gamma", ("alpha",))


def test_agreement_uses_each_cases_modal_label_with_repeats():
    a = per_case("x", "alpha", ["beta", "beta", "alpha"]) + per_case("y", "alpha", ["alpha"] * 3)
    b = per_case("x", "alpha", ["beta", "gamma", "beta"]) + per_case("y", "alpha", ["gamma"] * 3)
    result = compare(a, b, AGENTS, AGENTS)
    assert (result.agreement.k, result.agreement.n) == (1, 2)
    (d,) = result.disagreements
    assert (d.case_id, d.label_a, d.label_b) == ("y", "alpha", "gamma")


def test_agreement_round_trips_and_is_none_without_shared_cases():
    a, b = runs([(True, False)] * 3 + [(True, True)] * 2)
    result = compare(a, b, AGENTS, AGENTS, facts_a=FACTS, facts_b=facts(router="lexical"))
    assert Comparison.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    empty = compare([row("x", "alpha", "alpha")], [row("y", "alpha", "alpha")], AGENTS, AGENTS)
    assert empty.agreement is None and empty.disagreements == ()


# --- end to end: the CLI, the run's baseline and `latest` ---------------------------------------


def _cli(*args: str):
    from click.testing import CliRunner

    from agenteval.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _runs(root):
    return sorted(p for p in (root / "reports").iterdir() if p.is_dir())


def test_compare_of_two_routers_shows_agreement_everywhere(demo_project):
    _cli("run", "--plain", "--limit", "20", "--router", "lexical")
    _cli("run", "--plain", "--limit", "20", "--router", "mock")  # the perfect stand-in
    a, b = _runs(demo_project)
    result = _cli("compare", str(a), str(b))
    assert result.exit_code == 0
    assert "Routers differ (router: A lexical, B mock; model: A tf-idf, B mock:expected)" in (
        result.output
    )
    assert "showing agreement, not a regression" in result.output
    assert "cases where A and B disagree" in result.output
    md, html = (b / "compare.md").read_text(), (b / "compare.html").read_text()
    assert "**Routers differ: showing agreement, not a regression.**" in md
    assert "### Agreement" in md and "| label in A | label in B | expected |" in md
    assert 'id="agreement"' in html and 'id="disagreements"' in html
    assert "Tango" in html and "Newcombe" not in html and "majority" not in html


def test_latest_skips_runs_measured_otherwise(demo_project):
    from agenteval.record.store import load_record

    _cli("run", "--plain", "--limit", "10")
    (first,) = _runs(demo_project)
    _cli("run", "--plain", "--limit", "10", "--holdout", "none")  # newer, another holdout
    _cli("run", "--plain", "--limit", "10", "--baseline", "latest")
    record = load_record(_runs(demo_project)[-1])
    assert record.baseline is not None and record.baseline.run_id == first.name
    assert any(g.name == "regression" for g in record.gates)


def test_a_baseline_of_other_settings_gets_no_gate_verdict(demo_project):
    from agenteval.record.store import load_record

    _cli("run", "--plain", "--limit", "10", "--holdout", "none")
    (base,) = _runs(demo_project)
    result = _cli("run", "--plain", "--limit", "10", "--baseline", str(base))
    record = load_record(_runs(demo_project)[-1])
    assert record.comparison is not None and record.comparison.verdict == "not comparable"
    assert not any(g.name == "regression" for g in record.gates)
    assert "Not comparable: holdout differs (baseline" in result.output
    assert "no regression verdict" in result.output
    assert "gate failed" not in result.output and result.exit_code == 0


def test_compare_of_unrelated_catalogs_exits_2_and_writes_nothing(demo_project):
    other = demo_project / "other"
    other.mkdir()
    (other / "solo.md").write_text(
        '---\nname: solo\ndescription: "Handles everything. <example>user: \\"hello\\"\n'
        'assistant: \\"solo it is\\"</example>"\n---\nBody.\n'
    )
    _cli("run", "--plain", "--limit", "5")
    _cli("run", "--plain", "--agents", str(other))
    a, b = _runs(demo_project)
    before = sorted(p.name for p in b.iterdir())
    from click.testing import CliRunner

    from agenteval.cli import main

    result = CliRunner().invoke(main, ["compare", str(a), str(b)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1].startswith("error: ")
    assert sorted(p.name for p in b.iterdir()) == before


def test_baseline_latest_with_no_comparable_run_says_so(demo_project):
    result = _cli("run", "--plain", "--limit", "5", "--baseline", "latest")
    (run,) = _runs(demo_project)
    said = "no earlier complete run of this eval was measured like this one"
    assert any(line.startswith("note: ") and said in line for line in result.output.splitlines())
    assert said in (run / "report.md").read_text()


# --- every sentence about a change uses the gate's test when a gate is set ---------------------


def _gated(outcomes, **kw):
    a, b = runs(outcomes)
    comparison = compare(a, b, AGENTS, AGENTS)
    return comparison, regression_gate(comparison, baseline="base", **kw)


def _sentences(comparison, result, significance):
    """The terminal and report sentence (from the saved record) and the gate's message."""
    gated = comparison.with_gate(significance=significance, max_regression=None)
    saved = Comparison.from_dict(json.loads(json.dumps(gated.to_dict())))
    sentence = saved.summary_sentence(a="baseline base", b="this run")
    assert sentence == gated.summary_sentence(a="baseline base", b="this run")
    return sentence, result["message"]


def test_sentence_says_significant_drop_when_the_one_sided_gate_fails():
    # 59 broken, 41 fixed: two-sided p = 0.072 (not significant), the gate's one-sided p = 0.045
    comparison, result = _gated([(True, False)] * 59 + [(False, True)] * 41)
    assert 0.05 < comparison.p_value < 0.1 and not result["passed"]
    sentence, message = _sentences(comparison, result, 0.05)
    assert sentence.endswith(
        f"(41 fixed, 59 broken; one-sided p = {result['p_value']:.3f}): a significant drop."
    )
    assert "a significant drop (one-sided p = 0.045" in message


def test_sentence_says_not_significant_when_the_gate_at_001_passes():
    # 10 broken, 2 fixed: two-sided p = 0.021 (significant at 0.05); the gate at 0.01 passes
    outcomes = [(True, False)] * 10 + [(False, True)] * 2 + [(True, True)] * 30
    comparison, result = _gated(outcomes, significance=0.01)
    assert comparison.p_value < 0.05 and result["passed"]
    sentence, message = _sentences(comparison, result, 0.01)
    assert sentence.endswith(
        f"(2 fixed, 10 broken; one-sided p = {result['p_value']:.3f}): "
        "not significant (could be chance)."
    )
    assert message.startswith("Not a significant drop:")


def test_sentence_uses_the_gates_margin():
    comparison, result = _gated([(True, False)] * 1 + [(True, True)] * 39, max_regression=0.05)
    gated = comparison.with_gate(significance=0.05, max_regression=0.05)
    assert result["passed"]
    assert gated.summary_sentence().endswith("inside the 5.0 points allowed.")


def test_without_a_gate_the_sentence_is_the_two_sided_test():
    comparison, _ = _gated([(True, False)] * 59 + [(False, True)] * 41)
    sentence = comparison.summary_sentence()
    assert f"p = {comparison.p_value:.3f}): not significant" in sentence
    assert "one-sided" not in sentence
