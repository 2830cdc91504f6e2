"""The confusion matrix is computed and stored sparse (non-zero cells); old dense ones read."""

from __future__ import annotations

import json
import random

from agenteval.execution.trials import Trial
from agenteval.routing import Decision
from agenteval.scoring.scorecard import Scorecard, score

AGENTS = ["alpha", "beta", "gamma"]


def trial(case: str, expected: str, label: str | None) -> Trial:
    return Trial(
        case_id=case, trial=0, expected=(expected,), label=label, decision=Decision(agent=label)
    )


def dense(card: Scorecard) -> list[list[int]]:
    grid = [[0] * len(card.columns) for _ in card.labels]
    for i, j, c in card.confusion_cells:
        grid[i][j] += c
    return grid


def test_cells_hold_only_non_zero_counts_row_major():
    trials = [
        trial("a", "alpha", "alpha"),
        trial("b", "alpha", "beta"),
        trial("c", "alpha", "beta"),
        trial("d", "gamma", "invalid"),
        trial("e", "none", "alpha"),
    ]
    card = score(trials, AGENTS)
    # rows: alpha beta gamma none; columns: the same + invalid
    assert card.confusion_cells == ((0, 0, 1), (0, 1, 2), (2, 4, 1), (3, 0, 1))
    assert card.confusion_count("alpha", "beta") == 2
    assert card.confusion_count("beta", "alpha") == 0
    assert card.confusion_count("gamma", "invalid") == 1


def test_sparse_cells_match_sklearn_dense_matrix():
    from sklearn.metrics import confusion_matrix

    rnd = random.Random(3)
    names = [f"a{i}" for i in range(30)]
    labels = [*names, "none"]
    trials = []
    for i in range(400):
        exp = rnd.choice(labels)
        got = rnd.choice([exp, exp, rnd.choice(labels), "invalid"])
        trials.append(trial(f"c{i}", exp, got))
    card = score(trials, names)
    want = confusion_matrix(
        [t.expected[0] for t in trials],
        [t.expected[0] if t.correct else t.label for t in trials],
        labels=list(card.columns),
    )[: len(card.labels)]
    assert dense(card) == want.tolist()
    assert all(c > 0 for _, _, c in card.confusion_cells)


def test_stored_sparse_and_round_trips():
    card = score([trial("a", "alpha", "beta"), trial("b", "beta", "beta")], AGENTS)
    data = json.loads(json.dumps(card.to_dict()))
    assert "confusion" not in data
    assert data["confusion_cells"] == [[0, 1, 1], [1, 1, 1]]
    assert Scorecard.from_dict(data) == card


def test_a_dense_matrix_in_an_old_record_still_reads():
    card = score([trial("a", "alpha", "beta"), trial("b", "gamma", "invalid")], AGENTS)
    old = card.to_dict()
    del old["confusion_cells"]
    old["confusion"] = dense(card)
    assert Scorecard.from_dict(old) == card


def test_ten_thousand_agents_store_a_small_matrix():
    names = [f"agent-{i:05d}" for i in range(10_000)]
    trials = [trial(f"c{i}", names[i], names[(i + 1) % 10_000]) for i in range(0, 10_000, 7)]
    card = score(trials, names)
    assert len(card.confusion_cells) == len(trials)
    assert len(json.dumps(card.to_dict()["confusion_cells"])) < 100_000


def test_a_v1_run_folder_with_a_dense_matrix_reads_sparse():
    from pathlib import Path

    from agenteval.record.store import load_record

    folder = Path(__file__).parent / "fixtures" / "runs" / "v1-quickstart"
    rows = json.loads((folder / "summary.json").read_text())["scorecard"]["confusion"]
    card = load_record(folder).scorecard
    assert dense(card) == rows and card.confusion_cells
    assert all(c > 0 for _, _, c in card.confusion_cells)
