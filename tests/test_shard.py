"""Shards: a stable 1/N of the cases each, merged back into one run equal to the unsharded one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_config

from agenteval.cases import Case
from agenteval.config import EvalConfig
from agenteval.errors import ConfigError
from agenteval.pipeline.shard import merge_runs, parse_shard, select_shard, shard_of
from agenteval.record.store import OUTPUTS, RESULTS, SUMMARY, load_record, read_results


def cases(n: int) -> list[Case]:
    return [
        Case(
            id=f"case-{i}", prompt=f"p{i}", expected=frozenset({"a"}), origin="dataset", source="s"
        )
        for i in range(n)
    ]


def test_every_case_lands_in_exactly_one_stable_shard() -> None:
    all_cases = cases(400)
    shards = [select_shard(all_cases, i, 4) for i in range(1, 5)]
    ids = [c.id for s in shards for c in s]
    assert sorted(ids) == sorted(c.id for c in all_cases)
    assert min(len(s) for s in shards) > 60  # a hash spreads them (400 / 4 = 100 each)
    # stable: the same case, the same shard, whatever else is selected
    assert select_shard(all_cases[:50], 2, 4) == tuple(c for c in shards[1] if c in all_cases[:50])
    assert shard_of("case-7", 4) == shard_of("case-7", 4)


def test_parse_shard_refuses_nonsense() -> None:
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "2", "a/b"):
        with pytest.raises(ConfigError, match="I/N"):
            parse_shard(bad)


def split_into_shards(run_dir: Path, n: int, into: Path) -> list[Path]:
    """Shard folders as a shard matrix would write them: the same settings, 1/N of the lines."""
    record = json.loads((run_dir / SUMMARY).read_text(encoding="utf-8"))
    lines = (run_dir / RESULTS).read_text(encoding="utf-8").splitlines(keepends=True)
    dirs = []
    for i in range(1, n + 1):
        d = into / f"shard-{i}"
        d.mkdir(parents=True)
        mine = [ln for ln in lines if shard_of(json.loads(ln)["case_id"], n) == i]
        (d / RESULTS).write_text("".join(mine), encoding="utf-8")
        ids = {json.loads(ln)["case_id"] for ln in mine}
        source = run_dir / OUTPUTS
        graded = source.read_text(encoding="utf-8").splitlines(True) if source.exists() else []
        outputs = [ln for ln in graded if json.loads(ln)["case_id"] in ids]
        (d / OUTPUTS).write_text("".join(outputs), encoding="utf-8")
        checks = len({json.loads(ln)["case_id"] for ln in outputs})
        shard_record = {
            **record,
            "cases": {**record["cases"], "selected": len(ids), "with_checks": checks},
        }
        (d / SUMMARY).write_text(json.dumps(shard_record), encoding="utf-8")
        dirs.append(d)
    return dirs


def test_merged_shards_equal_the_unsharded_run(demo_project: Path, tmp_path: Path) -> None:
    full = run_config(EvalConfig(name="demo", router={"backend": "lexical"}))
    shards = split_into_shards(full.run_dir, 3, tmp_path / "matrix")
    merged = merge_runs(shards, tmp_path / "merged")
    labels = lambda d: {(r.trial.case_id, r.trial.trial): r.trial.label for r in read_results(d)}  # noqa: E731
    assert labels(merged.run_dir) == labels(full.run_dir)
    assert merged.record.status == "complete"
    assert merged.record.scorecard == full.record.scorecard
    assert merged.record.headline == full.record.headline
    assert merged.record.outputs == full.record.outputs
    assert load_record(merged.run_dir).cases["selected"] == full.record.cases["selected"]


def test_merge_refuses_other_settings_and_a_case_run_twice(
    demo_project: Path, tmp_path: Path
) -> None:
    full = run_config(EvalConfig(name="demo", router={"backend": "lexical"}))
    a, b = split_into_shards(full.run_dir, 2, tmp_path / "m")
    summary = json.loads((b / SUMMARY).read_text(encoding="utf-8"))
    summary["settings"]["holdout"] = "kfold:3"
    (b / SUMMARY).write_text(json.dumps(summary), encoding="utf-8")
    with pytest.raises(ConfigError, match="settings.holdout differs"):
        merge_runs([a, b], tmp_path / "out1")
    twice = tmp_path / "twice"
    shutil.copytree(a, twice)
    with pytest.raises(ConfigError, match="ran in both"):
        merge_runs([a, twice], tmp_path / "out2")
    assert not (tmp_path / "out2").exists()  # refused before anything was written
