"""Per-label rates of a classification, as scikit-learn's `sklearn.metrics` gives them.

`precision_recall_fscore_support` (``average=None``, ``beta=1``, ``zero_division=nan``) with the
same arithmetic, so the rates are bit-identical to scikit-learn's (tests/test_label_metrics.py
checks it), without the second and ~100 MB that importing `sklearn.metrics` costs every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def precision_recall_fscore_support(
    y_true: Sequence[str], y_pred: Sequence[str], *, labels: Sequence[str]
) -> tuple[Any, Any, Any, Any]:
    """Per-label precision, recall, F1 (numpy float64, nan where undefined) and support (int64).

    Args:
        y_true: The true label of each sample.
        y_pred: The predicted label of each sample.
        labels: The labels to report, in order; other labels count only as not these.
    """
    import numpy as np

    index = {label: i for i, label in enumerate(labels)}
    tp = np.zeros(len(labels), dtype=np.int64)
    pred = np.zeros(len(labels), dtype=np.int64)
    true = np.zeros(len(labels), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        i, j = index.get(t), index.get(p)
        if i is not None:
            true[i] += 1
        if j is not None:
            pred[j] += 1
            if t == p:
                tp[j] += 1
    precision = _divide(tp.astype(np.float64), pred)
    recall = _divide(tp.astype(np.float64), true)
    # (1 + beta^2) tp / (beta^2 true + pred), beta = 1, in scikit-learn's operation order
    f1 = _divide(2.0 * tp.astype(np.float64), 1.0 * true.astype(np.float64) + pred)
    return precision, recall, f1, true


def _divide(numerator: Any, denominator: Any) -> Any:
    import numpy as np

    undefined = denominator == 0
    safe = np.asarray(denominator, dtype=np.float64).copy()
    safe[undefined] = 1  # no 0/0 warning; those cells are set to nan below
    result = numerator / safe
    result[undefined] = np.nan
    return result
