"""Scoring: per-label numbers from one sklearn call; undefined stays None."""

from __future__ import annotations

import json
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from agenteval.execution.trials import Trial
from agenteval.routing import Decision
from agenteval.scoring.scorecard import Scorecard, case_outcomes, score
from agenteval.stats import Rate, wilson

AGENTS = ["alpha", "beta", "gamma"]


def trial(case: str, expected, label, n: int = 0, error: str | None = None) -> Trial:
    exp = (expected,) if isinstance(expected, str) else tuple(expected)
    return Trial(
        case_id=case,
        trial=n,
        expected=exp,
        label=None if error else label,
        decision=Decision(agent=label, error=error),
    )


def test_counts_and_rates():
    trials = [
        trial("a1", "alpha", "alpha"),
        trial("a2", "alpha", "beta"),
        trial("b1", "beta", "beta"),
        trial("n1", "none", "none"),
        trial("n2", "none", "alpha"),
        trial("e1", "alpha", None, error="boom"),
    ]
    card = score(trials, AGENTS)
    assert (card.trials, card.scored, card.errors, card.correct) == (6, 5, 1, 3)
    assert card.accuracy.value == 3 / 5
    alpha = card.agent("alpha")
    assert (alpha.support, alpha.predicted) == (2, 2)
    assert alpha.recall.value == 0.5 and alpha.precision.value == 0.5
    assert card.agent("beta").precision.value == 0.5
    assert card.agent("none").recall.value == 0.5
    assert card.error_rate.value == 1 / 6
    pairs = {(c.expected, c.got): c.count for c in card.top_confusions}
    assert pairs == {("alpha", "beta"): 1, ("none", "alpha"): 1}


def test_undefined_is_none_never_zero_or_one():
    card = score([trial("a", "alpha", "alpha")], AGENTS)
    gamma = card.agent("gamma")
    assert gamma.support == 0 and gamma.recall.value is None and gamma.precision.value is None
    assert gamma.f1 is None
    assert card.macro_recall == 1.0  # only alpha is defined
    empty = score([trial("e", "alpha", None, error="x")], AGENTS)
    assert empty.accuracy.value is None and empty.macro_recall is None


def test_invalid_is_its_own_column():
    card = score([trial("a", "alpha", "invalid")], AGENTS)
    assert card.columns[-1] == "invalid"
    assert card.confusion_count("alpha", "invalid") == 1
    assert card.agent("alpha").recall.value == 0.0


def test_several_acceptable_agents_belong_to_the_first_as_written():
    # written order, not alphabetical: beta owns these cases; an acceptable pick is beta's hit
    card = score(
        [trial("x", ("beta", "alpha"), "alpha"), trial("y", ("beta", "alpha"), "gamma")], AGENTS
    )
    assert card.correct == 1
    beta, alpha = card.agent("beta"), card.agent("alpha")
    assert (beta.support, beta.recall.k, beta.recall.n) == (2, 1, 2)
    assert alpha.support == 0 and alpha.recall.value is None
    assert alpha.predicted == 0  # the acceptable pick counts for beta, on the diagonal
    assert [(c.expected, c.got) for c in card.top_confusions] == [("beta", "gamma")]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.permutations(AGENTS), st.sampled_from([*AGENTS, "none"]))))
def test_support_does_not_depend_on_what_the_router_picked(cases):
    expected = [order[:2] for order, _ in cases]
    picked = score(
        [trial(f"c{i}", e, g) for i, (e, (_, g)) in enumerate(zip(expected, cases, strict=True))],
        AGENTS,
    )
    right = score([trial(f"c{i}", e, e[1]) for i, e in enumerate(expected)], AGENTS)
    assert [a.support for a in picked.agents] == [a.support for a in right.agents]
    assert [a.support for a in right.agents] == [
        sum(e[0] == name for e in expected) for name in [*AGENTS, "none"]
    ]


def test_wilson_known_values():
    low, high = wilson(8, 10)
    assert math.isclose(low, 0.4902, abs_tol=1e-3) and math.isclose(high, 0.9433, abs_tol=1e-3)
    assert Rate.of(0, 0).value is None


def test_round_trip():
    card = score([trial("a", "alpha", "beta"), trial("b", "none", "none")], AGENTS)
    assert Scorecard.from_dict(card.to_dict()) == card


labels = st.sampled_from([*AGENTS, "none"])


@settings(max_examples=60, deadline=None)
@given(st.lists(labels, min_size=1, max_size=30))
def test_perfect_router_scores_one(expected):
    trials = [trial(f"c{i}", e, e) for i, e in enumerate(expected)]
    card = score(trials, AGENTS)
    assert card.accuracy.value == 1.0
    assert card.macro_recall == 1.0 and card.macro_precision == 1.0
    for a in card.agents:
        assert a.recall.value in (None, 1.0)
        assert (a.recall.value is None) == (a.support == 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(labels, labels), min_size=1, max_size=30), st.randoms())
def test_order_does_not_matter(pairs, rnd):
    trials = [trial(f"c{i}", e, g) for i, (e, g) in enumerate(pairs)]
    shuffled = trials[:]
    rnd.shuffle(shuffled)
    assert score(trials, AGENTS) == score(shuffled, AGENTS)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(labels, labels), min_size=1, max_size=30))
def test_renaming_agents_permutes_rows(pairs):
    rename = {"alpha": "zeta", "beta": "alpha2", "gamma": "beta2", "none": "none"}
    a = score([trial(f"c{i}", e, g) for i, (e, g) in enumerate(pairs)], AGENTS)
    b = score(
        [trial(f"c{i}", rename[e], rename[g]) for i, (e, g) in enumerate(pairs)],
        [rename[x] for x in AGENTS],
    )
    for old, new in rename.items():
        x, y = a.agent(old), b.agent(new)
        assert (x.support, x.predicted, x.recall.value, x.precision.value) == (
            y.support,
            y.predicted,
            y.recall.value,
            y.precision.value,
        )
    assert a.accuracy == b.accuracy


# --- repeated trials, intervals, consistency -------------------------------------------------


def repeated(case: str, expected, labels: list) -> list[Trial]:
    """One trial per label; a label of None is an errored trial."""
    return [
        trial(case, expected, label, n=i, error="boom" if label is None else None)
        for i, label in enumerate(labels)
    ]


def test_one_trial_a_case_keeps_plain_wilson():
    trials = [trial(f"c{i}", "alpha", "alpha" if i % 3 else "beta") for i in range(30)]
    card = score(trials, AGENTS)
    assert card.accuracy == Rate.of(card.correct, 30)
    assert (card.trials_per_case, card.design_effect) == (1, 1.0)
    assert card.consistency is None and card.pass_k is None and card.flaky == ()


def test_per_agent_and_error_intervals_are_clustered_by_case():
    # 2 cases x 10 identical trials for alpha: its recall holds 2 cases of information, not 20
    trials = repeated("a", "alpha", ["alpha"] * 10) + repeated("b", "alpha", ["beta"] * 10)
    trials += repeated("c", "beta", ["beta"] * 10)
    card = score(trials, AGENTS)
    alpha = card.agent("alpha")
    assert (alpha.recall.k, alpha.recall.n) == (10, 20)
    assert (alpha.recall.low, alpha.recall.high) == wilson(1, 2)
    beta = card.agent("beta")  # predicted 20 times: 10 right (case c) and 10 wrong (case b)
    assert (beta.precision.k, beta.precision.n) == (10, 20)
    assert (beta.precision.low, beta.precision.high) == wilson(1, 2)
    errors = score(
        repeated("a", "alpha", [None] * 5) + repeated("b", "alpha", ["alpha"] * 5), AGENTS
    )
    assert errors.error_rate.value == 0.5
    assert (errors.error_rate.low, errors.error_rate.high) == wilson(1, 2)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            labels, st.lists(st.sampled_from([*AGENTS, "none", None]), min_size=1, max_size=4)
        ),
        min_size=1,
        max_size=12,
    )
)
def test_every_rate_is_clustered_by_case(cases):
    trials = [t for i, (e, got) in enumerate(cases) for t in repeated(f"c{i:02d}", e, got)]
    card = score(trials, AGENTS)
    for a in card.agents:
        own = [
            (sum(g == e for g in got), sum(g is not None for g in got))
            for e, got in cases
            if e == a.name
        ]
        assert a.recall == Rate.of_clusters([k for k, _ in own], [m for _, m in own])
        routed = [
            (sum(g == a.name == e for g in got), sum(g == a.name for g in got)) for e, got in cases
        ]
        assert a.precision == Rate.of_clusters([k for k, _ in routed], [m for _, m in routed])
    errored = [(sum(g is None for g in got), len(got)) for _, got in cases]
    assert card.error_rate == Rate.of_clusters([k for k, _ in errored], [m for _, m in errored])


def test_identical_repeats_widen_the_accuracy_interval():
    # 2 cases x 10 identical trials hold the information of 2 cases, not of 20 trials
    mixed = repeated("a", "alpha", ["alpha"] * 10) + repeated("b", "beta", ["gamma"] * 10)
    card = score(mixed, AGENTS)
    low, high = wilson(10, 20)
    assert card.accuracy.value == 0.5 and (card.accuracy.k, card.accuracy.n) == (10, 20)
    assert card.accuracy.low < low and card.accuracy.high > high
    assert card.design_effect == 10.0
    assert (card.accuracy.low, card.accuracy.high) == wilson(1, 2)  # as if 2 independent cases

    perfect = score(
        repeated("a", "alpha", ["alpha"] * 10) + repeated("b", "beta", ["beta"] * 10), AGENTS
    )
    assert perfect.accuracy.value == 1.0 and perfect.accuracy.high == 1.0
    assert perfect.accuracy.low < wilson(20, 20)[0]  # no false certainty at 100%
    assert perfect.accuracy.low > 0.0


def test_independent_looking_repeats_stay_near_wilson():
    # every case right on half its trials: no case effect, so little widening
    trials = [t for i in range(20) for t in repeated(f"c{i}", "alpha", ["alpha", "beta"] * 2)]
    card = score(trials, AGENTS)
    low, high = wilson(40, 80)
    assert card.design_effect == 1.0
    assert (card.accuracy.low, card.accuracy.high) == (low, high)


def test_consistency_pass_k_and_flaky():
    trials = [
        *repeated("a", "alpha", ["alpha", "alpha", "alpha"]),
        *repeated("b", "beta", ["beta", "beta", "gamma"]),
        *repeated("c", "gamma", ["beta", "alpha", None]),
        *repeated("d", "alpha", ["beta", "alpha", None]),
    ]
    card = score(trials, AGENTS)
    assert card.trials_per_case == 3
    # the share of scored trials that gave their case's modal label: (3 + 2 + 1 + 1) / 10
    assert math.isclose(card.consistency, 7 / 10)
    low, high = card.consistency_ci
    assert low < card.consistency < high
    # pass^3 only over the cases with 3 scored trials: c and d lost one to an error
    assert (card.pass_k.k, card.pass_k.n, card.pass_k_excluded) == (1, 2, 2)
    assert [o.case_id for o in card.flaky] == ["c", "d", "b"]  # least agreement first
    b = card.flaky[-1]
    assert b.counts == (("beta", 2), ("gamma", 1)) and b.majority == "beta" and b.majority_correct
    c = card.flaky[0]
    assert (c.scored, c.errors, c.correct) == (2, 1, 0)
    assert c.majority == "alpha"  # a tie between wrong labels goes by name
    d = card.flaky[1]
    assert d.majority == "beta" and d.majority_correct is False  # right-wrong tie: wrong


def test_consistency_counts_a_right_wrong_tie_at_its_modal_share():
    # 2 right, 2 wrong split over two labels: the shown label is wrong (a tie never flatters),
    # but the modal label still gave half the trials, not a quarter
    (outcome,) = case_outcomes(repeated("x", "alpha", ["alpha", "alpha", "beta", "gamma"]))
    assert outcome.majority == "beta" and outcome.agreement == 0.5
    card = score(repeated("x", "alpha", ["alpha", "alpha", "beta", "gamma"]), AGENTS)
    assert card.consistency == 0.5


def test_pass_k_never_mixes_values_of_k():
    trials = [
        *repeated("a", "alpha", ["alpha", "alpha", "alpha"]),
        *repeated("b", "alpha", ["alpha", None, None]),  # 1 of 1 scored: not a pass^3
        *repeated("c", "alpha", ["alpha", "beta", "alpha"]),
    ]
    card = score(trials, AGENTS)
    assert (card.pass_k.k, card.pass_k.n, card.pass_k_excluded) == (1, 2, 1)
    assert card.pass_k.low < 0.5 < card.pass_k.high


def test_majority_with_several_acceptable_agents():
    (outcome,) = case_outcomes(repeated("x", ("alpha", "beta"), ["beta", "gamma", "alpha"]))
    assert outcome.correct == 2 and outcome.majority_correct
    assert outcome.majority == "alpha"  # the right side wins; alpha and beta tie, by name
    assert outcome.agreement == 1 / 3 and outcome.flaky


def test_case_outcomes_with_only_errors():
    (outcome,) = case_outcomes(repeated("x", "alpha", [None, None]))
    assert outcome.scored == 0 and outcome.majority is None
    assert outcome.majority_correct is None and outcome.agreement is None


def test_averages_match_sklearn():
    from sklearn.metrics import precision_recall_fscore_support

    rnd = random.Random(7)
    names = [*AGENTS, "none"]
    trials = [
        trial(f"c{i}", rnd.choice(names), rnd.choice([*names, "invalid"])) for i in range(300)
    ]
    card = score(trials, AGENTS)
    y_true = [t.expected[0] for t in trials]
    y_pred = [t.label for t in trials]
    for kind, metric, got in [
        ("micro", 2, card.micro_f1),
        ("weighted", 1, card.weighted_recall),
        ("weighted", 2, card.weighted_f1),
        ("macro", 1, card.macro_recall),
    ]:
        want = precision_recall_fscore_support(
            y_true, y_pred, labels=names, average=kind, zero_division=float("nan")
        )[metric]
        assert math.isclose(got, want, rel_tol=1e-12), kind


def test_average_intervals_hold_the_point_and_are_deterministic():
    rnd = random.Random(3)
    names = [*AGENTS, "none"]
    trials = [trial(f"c{i}", rnd.choice(names), rnd.choice(names)) for i in range(200)]
    card = score(trials, AGENTS)
    for name in ("macro_precision", "macro_recall", "macro_f1", "micro_f1", "weighted_f1"):
        low, high = getattr(card, f"{name}_ci")
        assert 0.0 <= low <= getattr(card, name) <= high <= 1.0, name
        assert high - low > 0.05, name  # 200 random cases leave real uncertainty
    assert score(trials, AGENTS) == card


def test_clustered_average_intervals_are_wider():
    rnd = random.Random(5)
    names = [*AGENTS, "none"]
    pairs = [(rnd.choice(names), rnd.choice(names)) for _ in range(40)]
    once = score([trial(f"c{i}", e, g) for i, (e, g) in enumerate(pairs)], AGENTS)
    # the same 40 outcomes, each repeated 5 times: same point estimates, wider intervals
    five = score(
        [t for i, (e, g) in enumerate(pairs) for t in repeated(f"c{i}", e, [g] * 5)], AGENTS
    )
    naive = score(
        [trial(f"c{i}-{k}", e, g) for i, (e, g) in enumerate(pairs) for k in range(5)], AGENTS
    )
    assert five.macro_recall == naive.macro_recall == once.macro_recall
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(five.macro_recall_ci) > 1.5 * width(naive.macro_recall_ci)
    acc = lambda card: (card.accuracy.low, card.accuracy.high)  # noqa: E731
    assert width(acc(five)) > 1.5 * width(acc(naive))


def test_nothing_scored_leaves_everything_undefined():
    card = score(repeated("e", "alpha", [None, None]), AGENTS)
    assert card.accuracy.value is None and card.accuracy.low is None
    assert card.macro_f1 is None and card.macro_f1_ci is None and card.micro_f1_ci is None
    assert card.consistency is None and card.pass_k.value is None and card.flaky == ()
    assert score([], AGENTS).accuracy.value is None


def test_round_trip_with_repeats_through_json():
    trials = [
        *repeated("a", "alpha", ["alpha", "beta"]),
        *repeated("b", "none", ["none", "none"]),
        *repeated("c", ("alpha", "gamma"), ["gamma", None]),
    ]
    card = score(trials, AGENTS)
    assert card.flaky and card.pass_k is not None and card.macro_f1_ci is not None
    assert Scorecard.from_dict(json.loads(json.dumps(card.to_dict()))) == card


def test_records_without_the_new_fields_still_load():
    card = score([trial("a", "alpha", "beta"), trial("b", "none", "none")], AGENTS)
    old = {k: v for k, v in json.loads(json.dumps(card.to_dict())).items()}
    for key in (
        "trials_per_case",
        "design_effect",
        "consistency",
        "pass_k",
        "flaky",
        "pass_k_excluded",
    ):
        old.pop(key)
    for key in [k for k in old if k.endswith("_ci")]:
        old.pop(key)
    loaded = Scorecard.from_dict(old)
    assert loaded.accuracy == card.accuracy and loaded.macro_f1_ci is None


# --- properties with repeated trials ---------------------------------------------------------

repeats = st.integers(min_value=1, max_value=4).flatmap(
    lambda k: st.lists(
        st.tuples(labels, st.lists(labels, min_size=k, max_size=k)), min_size=1, max_size=15
    )
)


def build(cases, rename=lambda x: x) -> list[Trial]:
    return [
        t
        for i, (e, got) in enumerate(cases)
        for t in repeated(f"c{i:02d}", rename(e), [rename(g) for g in got])
    ]


@settings(max_examples=50, deadline=None)
@given(st.lists(labels, min_size=1, max_size=15), st.integers(min_value=1, max_value=4))
def test_perfect_router_with_repeats_scores_one_everywhere(expected, k):
    card = score(build([(e, [e] * k) for e in expected]), AGENTS)
    assert card.accuracy.value == 1.0 and card.accuracy.high == 1.0
    for name in ("macro_precision", "macro_recall", "macro_f1", "micro_f1", "weighted_f1"):
        assert getattr(card, name) == 1.0
        low, high = getattr(card, f"{name}_ci")
        assert 0 < low < 1.0 == high  # no false certainty at 100%
        assert (low, high) == wilson(len(expected), len(expected))  # as if a rate over cases
    assert card.flaky == ()
    if k > 1:
        assert card.consistency == 1.0 and card.pass_k.value == 1.0
    for a in card.agents:
        assert a.recall.value in (None, 1.0) and a.precision.value in (None, 1.0)


@settings(max_examples=50, deadline=None)
@given(repeats, st.randoms())
def test_order_of_cases_and_trials_does_not_matter(cases, rnd):
    trials = build(cases)
    shuffled = trials[:]
    rnd.shuffle(shuffled)
    assert score(trials, AGENTS) == score(shuffled, AGENTS)


@settings(max_examples=40, deadline=None)
@given(repeats)
def test_renaming_agents_permutes_rows_with_repeats(cases):
    rename = {"alpha": "zeta", "beta": "alpha2", "gamma": "beta2", "none": "none"}
    a = score(build(cases), AGENTS)
    b = score(build(cases, rename.__getitem__), [rename[x] for x in AGENTS])
    for old, new in rename.items():
        x, y = a.agent(old), b.agent(new)
        assert (x.support, x.predicted, x.recall, x.precision, x.f1) == (
            y.support,
            y.predicted,
            y.recall,
            y.precision,
            y.f1,
        )
    for name in ("accuracy", "macro_recall", "macro_recall_ci", "macro_f1_ci", "consistency"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.pass_k == b.pass_k
    assert [(o.case_id, sorted(n for _, n in o.counts)) for o in a.flaky] == [
        (o.case_id, sorted(n for _, n in o.counts)) for o in b.flaky
    ]


@settings(max_examples=100, deadline=None)
@given(repeats)
def test_every_interval_holds_its_point_estimate(cases):
    card = score(build(cases), AGENTS)
    assert card.accuracy.low <= card.accuracy.value <= card.accuracy.high
    for name in ("macro_precision", "macro_recall", "macro_f1", "micro_f1", "weighted_f1"):
        value, ci = getattr(card, name), getattr(card, f"{name}_ci")
        assert (value is None) == (ci is None), name
        if ci is not None:
            assert 0.0 <= ci[0] <= value <= ci[1] <= 1.0, name
            assert ci[1] > ci[0], name  # never zero width
            if 0 < value < 1:
                assert ci[0] < value < ci[1], name  # never ends at its own estimate


@settings(max_examples=60, deadline=None)
@given(repeats)
def test_no_support_is_na_never_zero_or_one(cases):
    card = score(build(cases), AGENTS)
    for a in card.agents:
        assert (a.recall.value is None) == (a.support == 0)
        assert (a.precision.value is None) == (a.predicted == 0)
        assert (a.f1 is None) == (a.support == 0 and a.predicted == 0)
        if a.support == 0:
            assert a.recall.low is None and a.recall.high is None


def test_a_bootstrap_interval_that_misses_its_point_is_widened():
    from agenteval.scoring.scorecard import _around

    assert _around((0.2, 0.4), 0.5) == (0.2, 0.5)
    assert _around((0.2, 0.4), 0.3) == (0.2, 0.4)
    assert _around(None, 0.3) is None and _around((0.2, 0.4), None) is None


def test_acceptable_agents_keep_the_order_written_in_the_dataset(tmp_path):
    from agenteval.cases.datasets import load_dataset
    from agenteval.execution.runner import RunState, settle
    from agenteval.routing import RouteRequest
    from agenteval.views import AgentView, CatalogView

    path = tmp_path / "ds.yaml"
    path.write_text("- id: x\n  prompt: hi\n  expected: [zeta, alpha, mu, alpha]\n")
    (case,) = load_dataset(path).cases
    assert case.expected == ("zeta", "alpha", "mu")  # as written, each once
    view = CatalogView(
        fold=None,
        agents=tuple(
            AgentView(name=n, description="d", tools_text="") for n in ("alpha", "mu", "zeta")
        ),
    )
    request = RouteRequest(case=case, view=view, trial=0)
    got = settle(RunState(total=1), request, Decision(agent="mu"), lambda t: None)
    assert got.expected == ("zeta", "alpha", "mu") and got.correct
    card = score([got], ["alpha", "mu", "zeta"])
    assert card.agent("zeta").support == 1 and card.agent("zeta").recall.value == 1.0
    assert card.agent("alpha").support == 0 and card.agent("mu").predicted == 0
