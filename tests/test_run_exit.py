"""A run's exit code: an incomplete run never exits 0, whatever made it incomplete."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_config
from test_shard import split_into_shards

from agenteval.config import EvalConfig
from agenteval.errors import ExitCode
from agenteval.pipeline.run import exit_code
from agenteval.pipeline.shard import merge_runs
from agenteval.record.store import RESULTS, SUMMARY


def test_an_incomplete_run_without_a_stop_reason_exits_1():
    assert exit_code(None, False, 0, 10, (), incomplete=True) == ExitCode.GATE_FAILED
    assert exit_code(None, False, 0, 10, (), incomplete=False) == ExitCode.OK


def test_merging_a_killed_shard_gives_an_incomplete_run_that_exits_1(
    demo_project: Path, tmp_path: Path
) -> None:
    full = run_config(EvalConfig(name="demo", router={"backend": "lexical"}))
    a, b = split_into_shards(full.run_dir, 2, tmp_path / "matrix")
    lines = (b / RESULTS).read_text(encoding="utf-8").splitlines(keepends=True)
    (b / RESULTS).write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")  # killed
    summary = json.loads((b / SUMMARY).read_text(encoding="utf-8"))
    (b / SUMMARY).write_text(json.dumps({**summary, "status": "running"}), encoding="utf-8")
    merged = merge_runs([a, b], tmp_path / "merged")
    assert merged.record.status == "incomplete"
    assert merged.exit_code == ExitCode.GATE_FAILED


def test_rerun_failed_routes_only_the_cases_that_failed_as_a_run_of_its_own(demo_project: Path):
    from click.testing import CliRunner

    from agenteval.cli import main
    from agenteval.record.store import load_record, read_results

    first = run_config(EvalConfig(name="demo", router={"backend": "lexical"}))
    failed = {r.trial.case_id for r in read_results(first.run_dir) if not r.trial.correct}
    assert 0 < len(failed) < first.record.headline.cases
    result = CliRunner().invoke(
        main, ["run", "--router", "lexical", "--plain", "--rerun-failed", str(first.run_dir)]
    )
    assert result.exit_code in (0, 1), result.output
    assert f"routing again the {len(failed)} failed cases" in result.output
    (again,) = [p for p in Path("reports").iterdir() if p.is_dir() and p != first.run_dir]
    assert {r.trial.case_id for r in read_results(again)} == failed
    settings = load_record(again).settings
    assert settings is not None and set(settings.selection.cases) == failed
    assert first.run_dir.is_dir()  # the run it reads is left as it was


def test_rerun_failed_of_a_run_with_no_failure_says_so(demo_project: Path, tmp_path: Path):
    from click.testing import CliRunner

    from agenteval.cli import main
    from agenteval.record.store import RESULTS

    run = run_config(EvalConfig(name="demo", router={"backend": "lexical"}))
    rows = (run.run_dir / RESULTS).read_text(encoding="utf-8").splitlines(keepends=True)
    right = [ln for ln in rows if '"correct": true' in ln]
    (run.run_dir / RESULTS).write_text("".join(right), encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--plain", "--rerun-failed", str(run.run_dir)])
    assert result.exit_code == 2 and "nothing to route again" in result.output
