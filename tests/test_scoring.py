"""Scoring: per-label numbers from one sklearn call; undefined stays None."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from agenteval.routers import Decision
from agenteval.runner import Trial
from agenteval.scoring import Rate, Scorecard, score, wilson

AGENTS = ["alpha", "beta", "gamma"]


def trial(case: str, expected, label, n: int = 0, error: str | None = None) -> Trial:
    exp = (expected,) if isinstance(expected, str) else tuple(sorted(expected))
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
    assert card.confusion[0][-1] == 1
    assert card.agent("alpha").recall.value == 0.0


def test_several_acceptable_agents():
    card = score(
        [trial("x", ("alpha", "beta"), "beta"), trial("y", ("alpha", "beta"), "gamma")], AGENTS
    )
    assert card.correct == 1
    assert card.agent("beta").recall.value == 1.0
    assert card.agent("alpha").support == 1  # the miss counts against the first acceptable


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
