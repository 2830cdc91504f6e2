"""Shards: a stable 1/N of the cases each, merged back into one run equal to the unsharded one."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_config

from agenteval.cases import Case
from agenteval.config import EvalConfig
from agenteval.errors import ConfigError
from agenteval.pipeline.shard import merge_runs, parse_shard, select_shard, shard_of
from agenteval.record.store import (
    OUTPUTS,
    RESULTS,
    SUMMARY,
    RunLockedError,
    load_record,
    read_results,
)


def cases(n: int) -> list[Case]:
    return [
        Case(id=f"case-{i}", prompt=f"p{i}", expected=("a",), origin="dataset", source="s")
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
        selection = {**record["settings"]["selection"], "shard": [i, n]}
        shard_record = {
            **record,
            "settings": {**record["settings"], "selection": selection},
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
    twice = tmp_path / "twice"  # the whole run again: its own selection, so only the rows say
    shutil.copytree(full.run_dir, twice)
    with pytest.raises(ConfigError, match="ran in both"):
        merge_runs([full.run_dir, twice], tmp_path / "out2")
    assert not (tmp_path / "out2").exists()  # refused before anything was written


def test_run_shard_and_merge_through_the_cli_equal_the_unsharded_run(
    demo_project: Path, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from agenteval.cli import main

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(main, ["run", "--router", "lexical", "--plain", *args])

    def labels(d: Path) -> dict[tuple[str, int], str | None]:
        return {(r.trial.case_id, r.trial.trial): r.trial.label for r in read_results(d)}

    def run_dir(out: Path) -> Path:
        (found,) = (d for d in out.iterdir() if (d / SUMMARY).is_file())
        return found

    assert invoke("--out", str(tmp_path / "full")).exit_code in (0, 1)
    full = run_dir(tmp_path / "full")
    shard_dirs = []
    for i in (1, 2, 3):
        assert invoke("--shard", f"{i}/3", "--out", str(tmp_path / f"s{i}")).exit_code in (0, 1)
        d = run_dir(tmp_path / f"s{i}")
        shard_dirs.append(d)
        settings = load_record(d).settings
        assert settings is not None and settings.selection.shard == (i, 3)
    sizes = [len(labels(d)) for d in shard_dirs]
    assert sum(sizes) == len(labels(full)) and min(sizes) > 0
    # a partial matrix is refused, saying which shard is missing
    partial = CliRunner().invoke(main, ["merge", *map(str, shard_dirs[:2])])
    assert partial.exit_code == 2 and "shard 3 is missing" in partial.output
    alone = CliRunner().invoke(main, ["merge", str(shard_dirs[0]), str(shard_dirs[0])])
    assert alone.exit_code == 2 and "shards 2 and 3 are missing" in alone.output
    # --out names the folder the merged run folder goes in, as `run --out` does
    result = CliRunner().invoke(
        main, ["merge", *map(str, shard_dirs), "--out", str(tmp_path / "merged")]
    )
    assert result.exit_code in (0, 1), result.output
    merged_dir = run_dir(tmp_path / "merged")
    assert labels(merged_dir) == labels(full)
    merged, unsharded = load_record(merged_dir), load_record(full)
    assert merged.scorecard == unsharded.scorecard and merged.headline == unsharded.headline
    assert merged.settings is not None and merged.settings.selection.shard is None
    # the merged run is one run: it resumes and re-renders like any other
    assert CliRunner().invoke(main, ["report", str(merged_dir)]).exit_code == 0


def test_shards_of_different_splits_are_refused(demo_project: Path, tmp_path: Path) -> None:
    from conftest import run_config as run

    a = run(
        EvalConfig(name="demo", router={"backend": "lexical"}),
        shard=(1, 2),
        out=str(tmp_path / "a"),
    )
    b = run(
        EvalConfig(name="demo", router={"backend": "lexical"}),
        shard=(2, 3),
        out=str(tmp_path / "b"),
    )
    with pytest.raises(ConfigError, match="selection.shards differs"):
        merge_runs([a.run_dir, b.run_dir], tmp_path / "out")


def _edit_lines(path: Path, edit: Any) -> None:
    rows = [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in edit(rows)), encoding="utf-8")


def _foreign_case(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [*rows, {**rows[0], "case_id": "injected-case"}]


def _trial_out_of_range(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [*rows, {**rows[0], "trial": 1}]


def _relabelled(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wrong = next(r for r in rows if r["label"] not in r["expected"])
    return [{**r, "label": r["expected"][0]} if r is wrong else r for r in rows]


def _dropped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows[1:]  # the summary still says "complete"


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (_foreign_case, "case injected-case is not one of this shard's cases"),
        (_trial_out_of_range, "has trial 1, but the run asked 1 per case"),
        (_relabelled, "is relabelled"),
        (_dropped, "it says complete with"),
    ],
)
def test_merge_checks_every_row_against_its_shards_selection(
    demo_project: Path, tmp_path: Path, edit: Any, says: str
) -> None:
    """Issue 21 D.5: a row that is not the shard's own is refused, naming the shard's file."""
    full = run_config(EvalConfig(name="demo", router={"backend": "lexical"}))
    a, b = split_into_shards(full.run_dir, 2, tmp_path / "m")
    _edit_lines(b / RESULTS, edit)
    with pytest.raises(ConfigError, match=re.escape(says)) as err:
        merge_runs([a, b], tmp_path / "out")
    assert str(b) in str(err.value)
    assert not (tmp_path / "out").exists()


def test_merge_refuses_a_shard_that_counts_other_cases_than_its_selection(
    demo_project: Path, tmp_path: Path
) -> None:
    full = run_config(EvalConfig(name="demo", router={"backend": "lexical"}))
    a, b = split_into_shards(full.run_dir, 2, tmp_path / "m")
    summary = json.loads((b / SUMMARY).read_text(encoding="utf-8"))
    summary["cases"]["selected"] += 1
    (b / SUMMARY).write_text(json.dumps(summary), encoding="utf-8")
    with pytest.raises(ConfigError, match="selected cases, its selection holds"):
        merge_runs([a, b], tmp_path / "out")


def test_merge_refuses_a_shard_still_running_and_names_its_pid(
    demo_project: Path, tmp_path: Path
) -> None:
    full = run_config(EvalConfig(name="demo", router={"backend": "lexical"}))
    a, b = split_into_shards(full.run_dir, 2, tmp_path / "m")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from agenteval.record.store import RunDir\n"
            f"with RunDir({str(b)!r}).lock():\n"
            "    print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(RunLockedError) as err:
            merge_runs([a, b], tmp_path / "out")
        assert f"process {holder.pid}" in str(err.value) and str(b) in str(err.value)
    finally:
        holder.communicate("", timeout=10)
    assert not (tmp_path / "out").exists()
