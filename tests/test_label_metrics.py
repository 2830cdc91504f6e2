"""The per-label metrics scoring uses are scikit-learn's, bit for bit, without importing it."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agenteval.stats.labels import precision_recall_fscore_support

NAMES = ("a", "b", "c", "none", "invalid", "ghost")
pairs = st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES)), min_size=1)


@settings(max_examples=200, deadline=None)
@given(pairs=pairs, labels=st.permutations(NAMES[:4]))
def test_matches_scikit_learn_bit_for_bit(pairs, labels):
    from sklearn import metrics

    y_true = [t for t, _ in pairs if t != "invalid"]  # scoring's truths are labels, never invalid
    y_pred = [p for t, p in pairs if t != "invalid"]
    assume(any(t in labels for t in y_true))  # scikit-learn refuses the rest; scoring has none
    ours = precision_recall_fscore_support(y_true, y_pred, labels=labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's own deprecation chatter is not ours
        theirs = metrics.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division=np.nan
        )
    for mine, reference in zip(ours[:3], theirs[:3], strict=True):
        assert mine.dtype == reference.dtype
        assert mine.tobytes() == reference.tobytes()  # identical bits, nan included
    assert ours[3].tolist() == theirs[3].tolist()  # support: counts (scikit-learn's dtype varies)


def test_undefined_rates_are_nan_not_zero():
    p, r, f, support = precision_recall_fscore_support(["a"], ["a"], labels=["a", "b"])
    assert p[0] == r[0] == f[0] == 1.0
    assert np.isnan(p[1]) and np.isnan(r[1]) and np.isnan(f[1])
    assert support.tolist() == [1, 0]
