"""Speed work changes no result: the quick start gives the same results.jsonl and scores as the
golden files, timings aside.

The goldens are regenerated only on purpose, when a change is meant to alter results:
``AGENTEVAL_REGOLD=1 pytest tests/test_speed_invariants.py`` (then review the diff).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from agenteval.cli import main

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
TIMING_KEYS = ("latency_s",)  # the only fields of a line that vary from run to run


def _stable_line(line: str, root: Path) -> str:
    row: dict[str, Any] = json.loads(line)
    for key in TIMING_KEYS:
        row.pop(key)
    # the demo project is copied to a fresh directory per test: source paths are relative to it
    row["source"] = str(row["source"]).replace(str(root), "<project>")
    return json.dumps(row)  # key order as written: the file, not just its content, is pinned


def _check(name: str, text: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("AGENTEVAL_REGOLD") == "1":
        golden.write_text(text)
    assert text == golden.read_text(), f"{name} changed; regenerate only on purpose (see above)"


def test_quickstart_results_and_scores_match_the_golden(demo_project, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(demo_project)
    result = CliRunner().invoke(main, ["run", "--plain"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run,) = [p for p in (demo_project / "reports").iterdir() if p.is_dir()]
    lines = (run / "results.jsonl").read_text().splitlines()
    assert len(lines) > 100  # every case of the demo, not an empty file matching an empty golden
    _check("quickstart-results.jsonl", "".join(_stable_line(x, demo_project) + "\n" for x in lines))
    summary = json.loads((run / "summary.json").read_text())
    scores = {"headline": summary["headline"], "scorecard": summary["scorecard"]}
    _check("quickstart-scores.json", json.dumps(scores, indent=1, sort_keys=True) + "\n")


RUNS = Path(__file__).parent / "fixtures" / "runs"


def test_rerendered_reports_match_the_golden(tmp_path):
    """`agenteval report` writes the same bytes for a saved run (the renderers are hot paths:
    a faster one must not change a character of report.html, report.md or junit.xml)."""
    run = tmp_path / "reports" / "v1-quickstart-trials2"
    run.mkdir(parents=True)
    for name in ("summary.json", "results.jsonl", "outputs.jsonl"):
        (run / name).write_bytes((RUNS / "v1-quickstart-trials2" / name).read_bytes())
    result = CliRunner().invoke(main, ["report", str(run)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for name in ("report.html", "report.md", "junit.xml"):
        text = (run / name).read_text(encoding="utf-8").replace(str(tmp_path), "<tmp>")
        assert len(text) > 2_000  # a whole report, not an empty file matching an empty golden
        _check(f"rerender-{name}", text)


def test_a_rerender_without_outputs_or_a_baseline_needs_neither_machinery(tmp_path):
    """Most runs grade no outputs and compare to no baseline: re-rendering one works with the
    checks, the outputs rows, the run comparison and the price table all unimportable."""
    import subprocess
    import sys

    run = tmp_path / "run"
    run.mkdir()
    for name in ("summary.json", "results.jsonl"):
        (run / name).write_bytes((RUNS / "v1-quickstart-trials2" / name).read_bytes())
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    summary.pop("outputs", None)
    summary.pop("comparison", None)
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    blocked = (
        "agenteval.outputs",
        "agenteval.cases.checks",
        "agenteval.scoring.compare",
        "agenteval.stats.paired",
        "agenteval.models.pricing",
    )
    code = (
        f"import sys; sys.modules.update(dict.fromkeys({blocked!r})); "
        "from click.testing import CliRunner; from agenteval.cli import main; "
        f"r = CliRunner().invoke(main, ['report', {str(run)!r}]); print(r.exit_code, r.output)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.startswith("0 "), out.stdout + out.stderr
    assert (run / "report.html").stat().st_size > 2_000
