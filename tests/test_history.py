"""history.jsonl: one line per run, appended; torn lines skipped; a trend for tables and charts."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from agenteval.execution.trials import Trial
from agenteval.record.history import (
    HISTORY,
    HistoryEntry,
    append_history,
    history_entry,
    read_history,
    trend_rows,
)
from agenteval.record.schema import RunRecord
from agenteval.record.store import load_record
from agenteval.routing import Decision
from agenteval.scoring.scorecard import score

AGENTS = ["alpha", "beta"]
V1_RUNS = Path(__file__).parent / "fixtures" / "runs"


def record(
    run_id: str,
    created: str,
    right: int,
    *,
    name: str = "demo",
    fp: str = "f1",
    holdout: str = "kfold:5",
    backend: str = "lexical",
    per_case: int = 1,
):
    trials = [
        Trial(
            case_id=f"c{i}",
            trial=0,
            expected=("alpha",),
            label="alpha" if i < right else "beta",
            decision=Decision(agent="alpha"),
        )
        for i in range(4)
    ]
    return RunRecord(
        run_id=run_id,
        name=name,
        status="complete",
        created_at=created,
        router={"backend": backend, "model": "tf-idf"},
        holdout=holdout,
        config={"trials": per_case},
        catalog={"fingerprint": fp},
        scorecard=score(trials, AGENTS),
    )


def test_append_and_read(tmp_path: Path):
    first = append_history(tmp_path, record("r1", "2026-01-01T10:00:00+00:00", 2))
    append_history(tmp_path, record("r2", "2026-01-02T10:00:00+00:00", 4))
    entries = read_history(tmp_path)
    assert [e.run_id for e in entries] == ["r1", "r2"]
    assert entries[0] == first
    e = entries[0]
    assert (e.accuracy, e.macro_recall, e.error_rate, e.trials, e.cases) == (0.5, 0.5, 0.0, 4, 4)
    assert e.router == "lexical/tf-idf" and e.catalog == "f1" and e.status == "complete"
    assert e.agent_recall == {"alpha": 0.5, "beta": None, "none": None}
    low, high = e.accuracy_ci
    assert 0 < low < 0.5 < high < 1
    lines = (tmp_path / HISTORY).read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["agent_recall"]["alpha"] == 1.0


def test_no_file_is_no_history(tmp_path: Path):
    assert read_history(tmp_path) == ()
    assert trend_rows(()) == ()


def test_torn_and_invalid_lines_are_skipped(tmp_path: Path):
    append_history(tmp_path, record("r1", "2026-01-01T10:00:00+00:00", 2))
    path = tmp_path / HISTORY
    with path.open("a") as fh:
        fh.write("not json\n")
        fh.write('{"run_id": 3, "created_at": "x", "name": "demo", "status": "complete"}\n')
        fh.write("[1, 2]\n")
        fh.write('{"run_id": "torn", "created_at": "2026')  # a writer killed mid-line
    append_history(tmp_path, record("r2", "2026-01-02T10:00:00+00:00", 3))
    assert [e.run_id for e in read_history(tmp_path)] == ["r1", "r2"]


def test_filter_by_name_sorts_oldest_first_and_keeps_the_latest_line(tmp_path: Path):
    append_history(tmp_path, record("r3", "2026-01-03T00:00:00+00:00", 1))
    append_history(tmp_path, record("x1", "2026-01-02T00:00:00+00:00", 1, name="other"))
    append_history(tmp_path, record("r1", "2026-01-01T00:00:00+00:00", 1))
    append_history(tmp_path, record("r3", "2026-01-03T00:00:00+00:00", 4))  # resumed, re-added
    demo = read_history(tmp_path, name="demo")
    assert [e.run_id for e in demo] == ["r1", "r3"]
    assert demo[-1].accuracy == 1.0
    assert [e.run_id for e in read_history(tmp_path)] == ["r1", "x1", "r3"]


def test_trend_rows_give_deltas_per_eval(tmp_path: Path):
    append_history(tmp_path, record("r1", "2026-01-01T00:00:00+00:00", 2))
    append_history(tmp_path, record("x1", "2026-01-02T00:00:00+00:00", 4, name="other"))
    append_history(tmp_path, record("r2", "2026-01-03T00:00:00+00:00", 3, fp="f2"))
    append_history(tmp_path, record("r3", "2026-01-04T00:00:00+00:00", 3, fp="f2"))
    rows = trend_rows(read_history(tmp_path))
    assert [r.run_id for r in rows] == ["r1", "x1", "r2", "r3"]
    assert rows[0].delta is None and rows[1].delta is None  # first of each eval
    # r2 changed the catalog: a new segment, with no change measured across it
    assert rows[2].delta is None and rows[3].delta == 0.0
    assert rows[2].catalog_changed and not rows[3].catalog_changed
    assert rows[2].changed == ("catalog",) and rows[3].changed == ()
    assert [r.segment for r in rows] == [0, 0, 1, 1]
    assert not any(r.router_changed for r in rows)
    assert rows[2].accuracy_low < rows[2].accuracy < rows[2].accuracy_high
    last = trend_rows(read_history(tmp_path, name="demo"), last=2)
    assert [r.run_id for r in last] == ["r2", "r3"] and last[1].delta == 0.0


def test_a_record_without_scorecard_uses_its_headline(tmp_path: Path):
    bare = RunRecord(
        run_id="h1",
        name="demo",
        status="incomplete",
        created_at="2026-01-01T00:00:00+00:00",
        router={"backend": "lexical"},
        headline={"accuracy": 0.7, "accuracy_ci": [0.6, 0.8], "trials": 10, "cases": 10},
    )
    entry = append_history(tmp_path, bare)
    assert entry.accuracy == 0.7 and entry.accuracy_ci == (0.6, 0.8)
    assert (entry.trials, entry.cases) == (10, 10)
    assert entry.agent_recall == {} and entry.router == "lexical"
    assert read_history(tmp_path) == (entry,)
    assert HistoryEntry.from_dict(json.loads(json.dumps(entry.to_dict()))) == entry


def test_a_history_file_written_by_v1_reads_and_matches_its_runs(tmp_path: Path):
    (tmp_path / HISTORY).write_bytes((V1_RUNS / "v1-history.jsonl").read_bytes())
    entries = read_history(tmp_path, name="quickstart")
    assert [e.run_id for e in entries] == [
        "20261201-093432-quickstart",
        "20261201-093438-quickstart",
    ]
    for e, folder in zip(entries, ("v1-quickstart", "v1-quickstart-trials2"), strict=True):
        # v2 derives the same line, plus the settings v1 did not record
        derived = history_entry(load_record(V1_RUNS / folder))
        assert derived.holdout is not None and derived.trials_per_case is not None
        assert replace(derived, holdout=None, prompt=None, trials_per_case=None) == e
    rows = trend_rows(entries)
    assert rows[1].delta == 0.0 and not rows[1].router_changed and not rows[1].catalog_changed


def test_a_failed_run_is_in_the_history_as_failed(tmp_path: Path):
    failed = record("f1", "2026-01-03T10:00:00+00:00", 0).with_(status="failed")
    assert append_history(tmp_path, failed).status == "failed"
    assert [r.status for r in trend_rows(read_history(tmp_path))] == ["failed"]


def test_entries_record_the_settings_that_make_runs_comparable(tmp_path: Path):
    entry = append_history(
        tmp_path, record("r1", "2026-01-01T00:00:00+00:00", 2, holdout="none", per_case=3)
    )
    assert (entry.catalog, entry.holdout, entry.backend, entry.model) == (
        "f1",
        "none",
        "lexical",
        "tf-idf",
    )
    assert entry.trials_per_case == 3 and entry.prompt is None
    assert read_history(tmp_path) == (entry,)


def test_every_setting_change_starts_a_new_segment(tmp_path: Path):
    changes = [
        {},
        {"holdout": "none"},
        {"holdout": "none"},
        {"holdout": "none", "per_case": 3},
        {"holdout": "none", "per_case": 3, "backend": "anthropic"},
        {"holdout": "none", "per_case": 3, "backend": "anthropic"},
    ]
    for i, kw in enumerate(changes):
        append_history(tmp_path, record(f"r{i}", f"2026-01-0{i + 1}T00:00:00+00:00", 2, **kw))
    rows = trend_rows(read_history(tmp_path))
    assert [r.changed for r in rows] == [(), ("holdout",), (), ("trials",), ("router",), ()]
    assert [r.segment for r in rows] == [0, 1, 1, 2, 3, 3]
    assert [r.delta is None for r in rows] == [True, True, False, True, True, False]


def test_an_old_line_without_settings_does_not_start_segments(tmp_path: Path):
    append_history(tmp_path, record("r1", "2026-01-01T00:00:00+00:00", 2))
    line = json.loads((tmp_path / HISTORY).read_text())
    for key in ("holdout", "prompt", "trials_per_case"):
        del line[key]
    (tmp_path / HISTORY).write_text(json.dumps(line) + "\n")
    append_history(tmp_path, record("r2", "2026-01-02T00:00:00+00:00", 3))
    rows = trend_rows(read_history(tmp_path))
    assert rows[1].changed == () and rows[1].segment == 0 and rows[1].delta == 0.25


def test_the_chart_draws_one_line_per_segment_and_marks_the_change(tmp_path: Path):
    from types import SimpleNamespace

    from agenteval.reports.html import history_chart

    for i, holdout in enumerate(["kfold:5", "kfold:5", "none", "none", "none"]):
        append_history(
            tmp_path, record(f"r{i}", f"2026-01-0{i + 1}T00:00:00+00:00", 2, holdout=holdout)
        )
    rows = trend_rows(read_history(tmp_path))
    chart = history_chart(SimpleNamespace(history=rows, record=SimpleNamespace(run_id="r4")))
    assert [len(p.split()) for p in chart["paths"]] == [2, 3]
    assert [p["changed"] for p in chart["points"]] == ["", "", "holdout", "", ""]
