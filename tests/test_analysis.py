"""The analysis API (pandas DataFrames) and `agenteval export --csv`, read from saved runs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import run_config

from agenteval.analysis import cases_df, run_rows, runs_df, spreadsheet_cell, trials_df
from agenteval.cli import main
from agenteval.config import EvalConfig


@pytest.fixture
def two_runs(demo_project: Path):
    first = run_config(EvalConfig(name="demo", router={"backend": "lexical"}))
    second = run_config(EvalConfig(name="demo", router={"backend": "lexical"}), holdout="none")
    return first, second


def test_runs_cases_and_trials_as_dataframes(two_runs):
    first, second = two_runs
    runs = runs_df("reports")
    assert list(runs["run_id"]) == [second.record.run_id, first.record.run_id]  # newest first
    assert list(runs["holdout"]) == ["none", "kfold:5"]
    assert runs["accuracy"].iloc[1] == pytest.approx(first.record.headline.accuracy)
    trials = trials_df(first.run_dir)
    assert len(trials) == first.record.headline.trials
    assert set(trials["origin"]) == {"example", "dataset"}
    cases = cases_df(first.run_dir)
    assert len(cases) == first.record.headline.cases
    scored = cases[cases["scored"] > 0]
    assert scored["right"].sum() / scored["scored"].sum() == pytest.approx(
        first.record.headline.accuracy
    )


def test_export_writes_csv_a_spreadsheet_reads_as_text(two_runs, tmp_path):
    first, _ = two_runs
    result = CliRunner().invoke(main, ["export", str(first.run_dir), "--csv", "--out", "csv"])
    assert result.exit_code == 0, result.output
    with (tmp_path / "csv" / "trials.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == first.record.headline.trials
    assert {"case_id", "prompt", "expected", "label", "correct", "origin"} <= set(rows[0])
    assert (tmp_path / "csv" / "cases.csv").exists()


def test_a_cell_that_starts_like_a_formula_stays_text():
    assert spreadsheet_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert spreadsheet_cell("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_cell("fine") == "fine" and spreadsheet_cell(3) == 3


def test_export_of_a_folder_that_is_not_a_run_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["export", str(tmp_path / "empty"), "--csv"])
    assert result.exit_code == 2 and result.output.startswith("error:")


def test_run_rows_of_a_folder_without_history_is_empty(tmp_path):
    assert run_rows(tmp_path) == []
