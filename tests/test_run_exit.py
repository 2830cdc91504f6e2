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
