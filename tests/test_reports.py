"""Reports render from the saved record alone; Markdown fits a PR comment; JUnit is valid."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from agenteval.cli import main
from agenteval.pipeline import rerender
from agenteval.record.store import load_record, read_results, save_record
from agenteval.scoring.compare import compare


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def runs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "reports").iterdir() if p.is_dir())


def test_record_round_trips(demo_project):
    invoke("run", "--plain", "--trials", "2", "--limit", "20")
    (run,) = runs(demo_project)
    record = load_record(run)
    save_record(run, record)
    assert load_record(run) == record
    assert record.scorecard is not None and record.scorecard.trials_per_case == 2
    assert record.headline["pass_k"] is not None and record.headline["consistency"] is not None


def test_report_renders_from_saved_files_only(demo_project):
    invoke("run", "--plain", "--limit", "15")
    (run,) = runs(demo_project)
    before = (run / "report.html").read_text()
    for name in ("report.html", "report.md", "junit.xml"):
        (run / name).unlink()
    # the catalog and datasets are gone: reports need nothing but the run folder
    for folder in ("agents", "datasets"):
        shutil.rmtree(demo_project / folder)
    rerender(run)
    assert (run / "report.html").read_text() == before


def test_markdown_fits_a_pr_comment_for_213_agents(laywill, tmp_path):
    result = invoke("run", "--agents", str(laywill), "--router", "lexical", "--plain")
    assert result.exit_code == 0
    (run,) = runs(tmp_path)
    md = (run / "report.md").read_text()
    assert len(md.encode()) < 64_000
    for heading in ("accuracy", "Worst agents", "Top confusions", "Misroutes"):
        assert heading in md
    assert "[" in md.split("accuracy", 1)[1].splitlines()[0]  # the interval is on the line


def test_junit_is_one_testcase_per_trial(demo_project):
    invoke("run", "--plain", "--trials", "2", "--limit", "10")
    (run,) = runs(demo_project)
    root = ET.parse(run / "junit.xml").getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    rows = read_results(run)
    assert len(cases) == len(rows) == 20
    failures = [c for c in cases if c.find("failure") is not None]
    assert len(failures) == sum(not r.trial.correct for r in rows)
    for f in failures:
        assert f.find("failure").get("message").startswith("expected ")
    assert int(suite.get("failures")) == len(failures)
    names = [c.get("name") for c in cases]
    assert len(set(names)) == len(names)  # trials are told apart


def test_history_is_appended_and_printed(demo_project):
    for _ in range(2):
        invoke("run", "--plain", "--limit", "8")
    lines = (demo_project / "reports" / "history.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert {json.loads(x)["run_id"] for x in lines} == {r.name for r in runs(demo_project)}
    result = invoke("history")
    assert result.exit_code == 0
    assert all(r.name in result.output for r in runs(demo_project))
    html = (runs(demo_project)[-1] / "report.html").read_text()
    assert 'id="history-chart"' in html


def test_compare_command_writes_html_and_markdown(demo_project):
    invoke("run", "--plain", "--limit", "30")
    invoke("run", "--plain", "--limit", "30", "--router", "lexical", "--holdout", "none")
    a, b = runs(demo_project)
    result = invoke("compare", str(a), str(b))
    assert result.exit_code == 0
    comp = compare(read_results(a), read_results(b), [], [])
    assert comp.summary_sentence(a="A", b="B") in result.output
    assert (b / "compare.html").exists() and (b / "compare.md").exists()
    assert "McNemar" in (b / "compare.html").read_text()


def test_baseline_regression_gate(demo_project):
    """A run that got much worse than its baseline fails with the reason in words."""
    invoke("run", "--plain", "--holdout", "none")  # sees its own examples: near perfect
    (good,) = runs(demo_project)
    result = CliRunner().invoke(
        main, ["run", "--plain", "--holdout", "kfold:5", "--baseline", str(good)]
    )
    record = load_record(runs(demo_project)[-1])
    gate = next(g for g in record.gates if g["name"] == "regression")
    assert record.comparison is not None and record.comparison["shared"] > 0
    assert gate["value"] < 0
    if gate["p_value"] < 0.05:
        assert not gate["passed"] and result.exit_code == 1
        assert "significant drop" in gate["message"]
        assert result.output.strip().splitlines()[-1].startswith("gate failed: regression")
    else:  # pragma: no cover - the drop on the demo catalog is large
        pytest.fail(f"expected a significant drop, got p={gate['p_value']}")


def test_same_run_twice_passes_regression_gate(demo_project):
    invoke("run", "--plain", "--limit", "20")
    result = invoke("run", "--plain", "--limit", "20", "--baseline", "latest")
    assert result.exit_code == 0
    record = load_record(runs(demo_project)[-1])
    gate = next(g for g in record.gates if g["name"] == "regression")
    assert gate["passed"] and "no change" in gate["message"]


def test_missing_baseline_is_a_clear_error(demo_project):
    result = CliRunner().invoke(main, ["run", "--plain", "--baseline", "reports/nope"])
    assert result.exit_code == 2
    assert "baseline" in result.output and "error:" in result.output
