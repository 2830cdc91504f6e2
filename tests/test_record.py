"""The run record and the run folder: a typed, versioned summary.json that old runs still load
from, a lock per folder, reports before "complete", results.jsonl that loses nothing to one bad
line, a corrupt cache moved aside, and a run whose every trial errored marked "failed".
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import DATASET_EVAL, start_cli, wait_for_lines
from stub_anthropic import Fault, answers

from agenteval.cli import main
from agenteval.errors import RecordError
from agenteval.record import store
from agenteval.record.store import load_record, read_results, save_record
from agenteval.settings import RunSettings
from agenteval.views import Holdout

KEY = "sk-ant-test-record-0123456789abcdef"
FIXTURES = Path(__file__).parent / "fixtures" / "runs"
V1 = FIXTURES / "v1-quickstart"  # `agenteval run evals/quickstart.yaml` on main at 0ec670d
V1_TRIALS2 = FIXTURES / "v1-quickstart-trials2"  # the same with --trials 2 --baseline latest
V2 = FIXTURES / "v2-quickstart"  # `agenteval run evals/quickstart.yaml` at f1352d3 (schema 2)
DATASET_CASES = 62


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def runs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "reports").iterdir() if p.is_dir())


def summary_of(run: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    return data


def edit_summary(run: Path, **changes: Any) -> None:
    """Change summary.json as a file, the way a crash or an old version leaves it."""
    (run / "summary.json").write_text(json.dumps(summary_of(run) | changes), encoding="utf-8")


def copy_run(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    return dest


@pytest.fixture
def quickstart_run(demo_project: Path) -> Path:
    """A finished offline run of the demo eval (110 routing trials, 8 graded outputs)."""
    result = invoke("run", "evals/quickstart.yaml", "--plain")
    assert result.exit_code == 0, result.output
    (run,) = runs(demo_project)
    return run


@pytest.fixture
def dataset_eval(demo_project: Path) -> Path:
    path = demo_project / "evals" / "ds.yaml"
    path.write_text(DATASET_EVAL, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------
# The typed, versioned record
# ------------------------------------------------------------------------------------------


def test_a_v1_run_folder_loads_as_a_typed_current_record():
    record = load_record(V1)
    assert record.schema_version == store.SCHEMA_VERSION == 3
    assert record.status == "complete" and record.settings is None
    assert record.config is not None and record.trials == 1  # its settings' only source
    assert record.router.backend == "lexical" and record.router.model == "tf-idf"
    assert record.headline.accuracy == pytest.approx(62 / 110)
    assert record.headline.accuracy_ci is not None and len(record.headline.accuracy_ci) == 2
    assert record.cases.selected == 110 and len(record.catalog.agents) == 11
    assert record.scorecard is not None and record.scorecard.trials == 110
    assert record.gates[0].name == "max_error_rate" and record.gates[0].passed is True
    assert record.outputs is not None and record.outputs.sample_data is True
    assert record.outputs.scorecard.graded == 8
    baseline = load_record(V1_TRIALS2).baseline
    assert baseline is not None and baseline.run_id == "20261201-093432-quickstart"


def test_a_v1_run_folder_renders_again(tmp_path: Path):
    run = copy_run(V1_TRIALS2, tmp_path / "run")
    result = invoke("report", str(run))
    assert result.exit_code == 0, result.output
    md = (run / "report.md").read_text(encoding="utf-8")
    assert "| accuracy | 56.4% |" in md and "pass^2" in md
    assert "56.4%" in (run / "report.html").read_text(encoding="utf-8")
    assert 'tests="' in (run / "junit.xml").read_text(encoding="utf-8")
    assert summary_of(run)["schema_version"] == 1  # re-rendering reads; it does not rewrite


def test_two_v1_run_folders_compare(tmp_path: Path):
    # 1 against 2 trials per case: not comparable, so only with --force, and marked
    args = ["compare", str(V1), str(V1_TRIALS2), "--out", str(tmp_path / "cmp")]
    assert invoke(*args).exit_code == 2
    result = invoke(*args, "--force")
    assert result.exit_code == 0, result.output
    assert "110 shared cases" in result.output
    assert "Not comparable: trials differ (A 1, B 2)" in result.output
    assert "20261201-093432-quickstart" in (tmp_path / "cmp" / "compare.md").read_text()


def test_the_record_round_trips(tmp_path: Path):
    record = load_record(V1_TRIALS2)
    assert record.comparison is not None and record.scorecard is not None
    settings = load_record(V2).settings
    assert settings is not None
    fuller = record.with_(
        settings=replace(
            settings,
            max_cost_usd=1.5,
            holdout=Holdout.parse("none"),
            selection=replace(settings.selection, only=("ünïcode & <markup>",), shard=(2, 3)),
        ),
        status="failed",
        notes=("a note", "ünïcode & <markup>"),
    )
    for r in (record, fuller):
        save_record(tmp_path, r)
        assert load_record(tmp_path) == r
        assert summary_of(tmp_path)["schema_version"] == 3
    assert summary_of(tmp_path)["settings"]["holdout"] == "none"


def test_a_v2_run_folder_loads_typed_settings_without_the_config_view():
    record = load_record(V2)
    assert isinstance(record.settings, RunSettings) and record.config is None
    assert record.selection is None  # the copy of settings.selection went with the config view
    assert record.settings.catalog_reading == "claude-code" and str(record.settings.holdout)
    assert record.trials == record.settings.trials
    raw = summary_of(V2)
    assert raw["schema_version"] == 2 and "config" in raw  # the fixture is as v2 wrote it
    assert RunSettings.from_dict(raw["settings"]) == record.settings


def test_a_new_record_holds_its_settings_once(quickstart_run: Path):
    summary = summary_of(quickstart_run)
    assert summary["config"] is None and summary["selection"] is None  # no copies beside them
    settings = load_record(quickstart_run).settings
    assert settings is not None and summary["settings"] == settings.to_dict()


def test_v2_settings_recorded_before_the_catalog_reading_read_as_recovered(tmp_path: Path):
    run = copy_run(V2, tmp_path / "run")
    settings = summary_of(run)["settings"]
    del settings["catalog_reading"]
    edit_summary(run, settings=settings)
    record = load_record(run)
    assert record.settings is not None and record.settings.catalog_reading == "recovered"


def test_a_v2_run_folder_renders_again(tmp_path: Path):
    run = copy_run(V2, tmp_path / "run")
    result = invoke("report", str(run))
    assert result.exit_code == 0, result.output
    assert "| accuracy |" in (run / "report.md").read_text(encoding="utf-8")
    assert summary_of(run)["schema_version"] == 2  # re-rendering reads; it does not rewrite


def test_a_summary_with_a_bad_setting_names_the_file_and_the_setting(tmp_path: Path):
    run = copy_run(V2, tmp_path / "run")
    settings = summary_of(run)["settings"]
    settings["trials"] = "many"
    edit_summary(run, settings=settings)
    with pytest.raises(RecordError) as err:
        load_record(run)
    assert "summary.json" in str(err.value) and "`trials`" in str(err.value)


def test_a_summary_with_a_bad_field_names_the_file_and_the_field(tmp_path: Path):
    run = copy_run(V1, tmp_path / "run")
    data = summary_of(run)
    data["headline"]["accuracy"] = "high"
    (run / "summary.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(RecordError) as err:
        load_record(run)
    assert "summary.json" in str(err.value) and "headline.accuracy" in str(err.value)
    result = CliRunner().invoke(main, ["report", str(run)])
    assert result.exit_code == 2
    assert result.output.count("error:") == 1 and "headline.accuracy" in result.output


def test_a_summary_from_a_newer_agenteval_is_refused(tmp_path: Path):
    run = copy_run(V1, tmp_path / "run")
    edit_summary(run, schema_version=99)
    with pytest.raises(RecordError, match="schema version 99"):
        load_record(run)


def test_a_v1_run_whose_every_trial_errored_reads_as_failed(tmp_path: Path):
    run = copy_run(V1, tmp_path / "run")
    data = summary_of(run)
    n = data["scorecard"]["trials"]
    data["scorecard"] |= {"scored": 0, "errors": n, "correct": 0}
    data["headline"] |= {"scored": 0, "errors": n, "correct": 0}
    (run / "summary.json").write_text(json.dumps(data), encoding="utf-8")
    assert load_record(run).status == "failed"


# ------------------------------------------------------------------------------------------
# Finding 6: one process per run folder
# ------------------------------------------------------------------------------------------


def test_resume_while_the_run_is_going_is_refused_and_names_its_pid(dataset_eval, stub):
    stub.latency = 0.3  # the run is still going when the second process has started up
    first = start_cli("run", str(dataset_eval), "--concurrency", "2", "--plain")
    run = wait_for_lines(dataset_eval.parent.parent, 4, first)
    second = start_cli("run", "--resume", str(run), "--plain")
    _, err = second.communicate(timeout=60)
    assert second.returncode == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"process {first.pid}" in errors[0], err
    assert "Traceback" not in err
    _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    keys = [(r.trial.case_id, r.trial.trial) for r in read_results(run)]
    assert len(keys) == len(set(keys)) == DATASET_CASES  # nothing was routed twice
    assert stub.count_endpoint("messages") == DATASET_CASES
    assert load_record(run).status == "complete"


def test_the_lock_covers_re_rendering_and_is_released_after(quickstart_run: Path):
    with store.RunDir(quickstart_run).lock():
        result = CliRunner().invoke(main, ["report", str(quickstart_run)])
        assert result.exit_code == 2
        assert f"process {os.getpid()}" in result.output and "error:" in result.output
    assert invoke("report", str(quickstart_run)).exit_code == 0


def test_a_lock_held_by_another_process_names_that_process(tmp_path: Path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from agenteval.record.store import RunDir
                with RunDir({str(tmp_path)!r}).lock():
                    print("held", flush=True)
                    sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(store.RunLockedError) as err, store.RunDir(tmp_path).lock():
            pass
        assert f"process {holder.pid}" in str(err.value) and str(tmp_path) in str(err.value)
    finally:
        holder.communicate("", timeout=10)
    with store.RunDir(tmp_path).lock():  # released when its holder ends
        pass


# ------------------------------------------------------------------------------------------
# Finding 7: reports before "complete"; one bad line; a corrupt cache; fsync
# ------------------------------------------------------------------------------------------


def test_complete_is_set_only_after_the_reports_exist(demo_project, monkeypatch):
    from agenteval.reports import junit

    def broken(data: object) -> str:
        raise OSError("No space left on device")

    monkeypatch.setattr(junit, "render_junit", broken)
    with pytest.raises(OSError, match="No space"):
        invoke("run", "evals/quickstart.yaml", "--plain")
    (run,) = runs(demo_project)
    assert summary_of(run)["status"] == "running"  # a kill here leaves a run to resume
    assert not [p.name for p in run.iterdir() if p.name.startswith(("report.", "junit."))]
    monkeypatch.undo()
    result = invoke("run", "--resume", str(run), "--plain")
    assert result.exit_code == 0, result.output
    assert summary_of(run)["status"] == "complete"
    assert all((run / name).is_file() for name in ("report.html", "report.md", "junit.xml"))


def test_reports_are_replaced_atomically(quickstart_run: Path, monkeypatch):
    before = {n: (quickstart_run / n).read_bytes() for n in ("report.html", "report.md")}

    def crash(src: object, dst: object) -> None:
        raise OSError("killed mid-write")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="killed"):
        invoke("report", str(quickstart_run))
    monkeypatch.undo()
    for name, text in before.items():
        assert (quickstart_run / name).read_bytes() == text, f"{name} was half rewritten"


def _bad_line_and_cut_tail(run: Path, *, bad_at: int, cut: int) -> list[bytes]:
    lines = (run / "results.jsonl").read_bytes().splitlines(keepends=True)
    kept = lines[: len(lines) - cut]
    kept[bad_at - 1] = b'{"case_id": "half a line from a bad disk sector\n'
    (run / "results.jsonl").write_bytes(b"".join(kept))
    edit_summary(run, status="incomplete")
    return lines


def test_a_bad_line_in_the_middle_is_skipped_and_shown_and_keeps_the_lines_after(
    quickstart_run: Path,
):
    original = _bad_line_and_cut_tail(quickstart_run, bad_at=40, cut=10)
    result = invoke("run", "--resume", str(quickstart_run), "--plain")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert any("results.jsonl:40" in w for w in warnings), result.output
    after = (quickstart_run / "results.jsonl").read_bytes().splitlines()
    assert len(after) == len(original) + 1  # the bad line stays; its trial and the 10 ran again
    rows = read_results(quickstart_run)
    assert len(rows) == len(original) == 110
    record = load_record(quickstart_run)
    assert record.status == "complete"
    assert any("results.jsonl:40" in n for n in record.notes)
    assert "results.jsonl:40" in (quickstart_run / "report.html").read_text(encoding="utf-8")


def test_only_a_torn_last_line_is_cut_off(tmp_path: Path):
    good = (V1 / "results.jsonl").read_bytes().splitlines(keepends=True)
    body = good[0] + b"not json\n" + good[1] + b"[1, 2]\n" + good[2][:50]
    (tmp_path / "results.jsonl").write_bytes(body)
    found = store.load_results(tmp_path, repair=True)
    assert [r.case.id for r in found.rows] == [json.loads(line)["case_id"] for line in good[:2]]
    assert [s.line for s in found.skipped] == [2, 4] and found.torn
    assert "results.jsonl:2" in found.skipped[0].describe()
    assert (tmp_path / "results.jsonl").read_bytes() == body[: body.rindex(b"\n") + 1]
    again = store.load_results(tmp_path, repair=True)
    assert len(again.rows) == 2 and len(again.skipped) == 2 and not again.torn


def test_a_line_of_the_wrong_types_is_skipped_naming_the_field_and_the_run_re_renders(
    quickstart_run: Path,
):
    lines = (quickstart_run / "results.jsonl").read_bytes().splitlines(keepends=True)
    wrong = {
        3: {"trial": "0"},  # parsed as JSON, but a string where the trial number goes
        5: {"expected": "api-designer"},  # a string where the list of agents goes
        7: {"usage": {"input_tokens": "lots"}},
        9: {"origin": "examples"},  # not one of the two origins a case has
    }
    for number, change in wrong.items():
        lines[number - 1] = json.dumps({**json.loads(lines[number - 1]), **change}).encode() + b"\n"
    (quickstart_run / "results.jsonl").write_bytes(b"".join(lines))
    found = store.load_results(quickstart_run)
    assert [s.line for s in found.skipped] == list(wrong)
    for skipped, field in zip(
        found.skipped, ("trial", "expected", "usage.input_tokens", "origin"), strict=True
    ):
        assert f"$.{field}" in skipped.reason, skipped.reason
    assert len(found.rows) == len(lines) - len(wrong)
    result = invoke("report", str(quickstart_run))
    assert result.exit_code == 0, result.output
    for number in wrong:  # a re-render shows what it left out, as a run does
        shown = f"results.jsonl:{number}: unreadable line skipped"
        assert f"warning: {shown}" in result.output, result.output
        for report in ("report.html", "report.md"):
            assert shown in (quickstart_run / report).read_text(encoding="utf-8"), report


def test_a_corrupt_cache_is_moved_aside_and_the_run_goes_on(demo_project, tmp_path: Path):
    cache = tmp_path / ".agenteval-cache" / "cache.sqlite"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"this is not a database " * 200)
    result = invoke("run", "evals/quickstart.yaml", "--plain")
    assert result.exit_code == 0, result.output
    (moved,) = cache.parent.glob("cache.sqlite.corrupt-*")
    assert moved.read_bytes().startswith(b"this is not a database")
    assert any(
        line.startswith("warning:") and moved.name in line for line in result.output.splitlines()
    ), result.output
    sqlite3.connect(cache).execute("SELECT count(*) FROM decisions").fetchone()
    (run,) = runs(demo_project)
    assert load_record(run).status == "complete"


def test_the_cache_module_recovers_a_corrupt_file_on_its_own(tmp_path: Path):
    from agenteval.execution.cache import ResponseCache

    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"\x00garbage" * 512)
    cache = ResponseCache(path)
    cache.put_json("k", {"v": 1})
    assert cache.get_json("k") == {"v": 1}
    assert cache.moved_aside is not None and cache.moved_aside.name.startswith(
        "cache.sqlite.corrupt-"
    )
    cache.close()


def test_results_are_fsynced_while_the_run_goes_on(tmp_path: Path, monkeypatch):
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    rows = read_results(V1)[:3]
    writer = store.ResultsWriter(tmp_path)
    try:
        for row in rows:
            writer.write(row.case, row.trial)
        deadline = time.monotonic() + 5
        while not synced and time.monotonic() < deadline:
            time.sleep(0.01)
        assert synced, "a written trial was not fsynced while the writer stayed open"
        on_disk = (tmp_path / "results.jsonl").read_bytes()
        assert on_disk.count(b"\n") == 3  # flushed at once: a killed process loses nothing
    finally:
        writer.close()
    count = len(synced)
    assert count >= 1
    assert [r.trial for r in read_results(tmp_path)] == [r.trial for r in rows]


# ------------------------------------------------------------------------------------------
# Finding 8: a run whose every trial errored
# ------------------------------------------------------------------------------------------


def test_a_run_whose_every_trial_errored_is_failed_exits_3_and_is_never_a_baseline(
    dataset_eval, stub
):
    stub.responder = answers({}, default="first")
    good = invoke("run", str(dataset_eval), "--plain", "--limit", "5")
    assert good.exit_code == 0, good.output
    stub.faults = [Fault.every(1, 400)]
    bad = invoke("run", str(dataset_eval), "--plain", "--limit", "5", "--no-cache")
    assert bad.exit_code == 3, bad.output
    first, failed = runs(dataset_eval.parent.parent)
    assert load_record(failed).status == "failed"
    assert summary_of(failed)["status"] == "failed"

    stub.faults = []
    third = invoke("run", str(dataset_eval), "--plain", "--limit", "5", "--baseline", "latest")
    assert third.exit_code == 0, third.output
    newest = runs(dataset_eval.parent.parent)[-1]
    baseline = load_record(newest).baseline
    assert baseline is not None and baseline.run_id == first.name

    refused = CliRunner().invoke(
        main, ["run", str(dataset_eval), "--plain", "--limit", "5", "--baseline", str(failed)]
    )
    assert refused.exit_code == 2 and "failed" in refused.output


def test_latest_skips_incomplete_and_failed_runs(quickstart_run: Path, demo_project: Path):
    later = [
        copy_run(quickstart_run, demo_project / "reports" / f"{quickstart_run.name}-{n}")
        for n in (1, 2)
    ]
    for run, status in zip(later, ("incomplete", "failed"), strict=True):
        edit_summary(run, status=status, run_id=run.name)
    found = store.find_baseline("latest", out=demo_project / "reports", name="quickstart")
    assert found is not None and found.run_id == quickstart_run.name


# ------------------------------------------------------------------------------------------
# Issue 21 D.6: broken state is one `error:` line or a row skipped and said, never a traceback
# ------------------------------------------------------------------------------------------


def _one_error(result: Result, *needles: str) -> str:
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    (error,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    for needle in needles:
        assert needle in error, error
    return error


def _edit_summary(run: Path, section: str, field: str, value: Any) -> None:
    data = summary_of(run)
    data[section][field] = value
    (run / "summary.json").write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("section", ["settings", "headline"])  # v3 keeps no config copy
def test_a_hand_edited_summary_is_one_error_line(quickstart_run: Path, section: str):
    _edit_summary(quickstart_run, section, "trials", "many")
    for args in (["report", str(quickstart_run)], ["run", "--resume", str(quickstart_run)]):
        result = CliRunner().invoke(main, [*args, "--plain"] if args[0] == "run" else args)
        assert result.exit_code == 2, result.output
        _one_error(result, "summary.json", "trials")


@pytest.mark.parametrize("name", ["results.jsonl", "outputs.jsonl", "summary.json"])
def test_a_run_file_that_is_a_folder_is_one_error_line(quickstart_run: Path, name: str):
    (quickstart_run / name).unlink()
    (quickstart_run / name).mkdir()
    result = CliRunner().invoke(main, ["report", str(quickstart_run)])
    assert result.exit_code == 2, result.output
    _one_error(result, name, "folder")


def test_a_row_of_trial_minus_one_is_skipped_and_said(quickstart_run: Path):
    path = quickstart_run / "results.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    bad = json.dumps({**json.loads(lines[0]), "case_id": "quickstart/extra", "trial": -1})
    path.write_text("\n".join([*lines, bad]) + "\n", encoding="utf-8")
    result = invoke("report", str(quickstart_run))
    assert result.exit_code == 0, result.output
    warning = f"warning: results.jsonl:{len(lines) + 1}: unreadable line skipped"
    assert any(line.startswith(warning) and "trial" in line for line in result.output.splitlines())
    assert "quickstart/extra" not in (quickstart_run / "junit.xml").read_text(encoding="utf-8")


def test_a_row_beyond_the_trials_asked_for_is_skipped_and_said(quickstart_run: Path):
    path = quickstart_run / "results.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    extra = json.dumps({**json.loads(lines[0]), "trial": 7})
    path.write_text("\n".join([*lines, extra]) + "\n", encoding="utf-8")
    result = invoke("report", str(quickstart_run))
    assert result.exit_code == 0, result.output
    (said,) = [line for line in result.output.splitlines() if "trial 7" in line]
    assert said.startswith("warning: results.jsonl:") and said.endswith("row skipped")
    suite = (quickstart_run / "junit.xml").read_text(encoding="utf-8")
    assert f'tests="{len(lines)}"' in suite


def test_a_full_disk_is_one_error_line_and_loses_nothing_written(demo_project, monkeypatch):
    from agenteval.record import lines as lines_module

    written: list[str] = []

    class FullDisk:  # results.jsonl's file, on a disk that fills after 20 lines
        def __init__(self, fh: Any) -> None:
            self._fh = fh

        def write(self, data: bytes) -> int:
            if len(written) == 20:
                raise OSError(errno.ENOSPC, "No space left on device")
            written.append(data.decode("utf-8").rstrip("\n"))
            return int(self._fh.write(data))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._fh, name)

    opened = lines_module._Appender.__init__

    def open_on_full_disk(self: Any, path: Path, **options: Any) -> None:
        opened(self, path, **options)
        if path.name == "results.jsonl":
            self._fh = FullDisk(self._fh)

    monkeypatch.setattr(lines_module._Appender, "__init__", open_on_full_disk)
    result = CliRunner().invoke(main, ["run", "evals/quickstart.yaml", "--plain"])
    assert result.exit_code == 2, result.output
    _one_error(result, "results.jsonl", "No space left on device", "--resume")
    (run,) = runs(demo_project)
    assert (run / "results.jsonl").read_text(encoding="utf-8").splitlines() == written


def test_a_row_for_a_case_the_run_does_not_have_is_skipped_and_said_on_resume(
    quickstart_run: Path,
):
    path = quickstart_run / "results.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    alien = json.dumps({**json.loads(lines[0]), "case_id": "elsewhere/alien"})
    path.write_text("\n".join([*lines, alien]) + "\n", encoding="utf-8")
    result = invoke("run", "--resume", str(quickstart_run), "--plain")
    assert result.exit_code == 0, result.output
    shown = [line for line in result.output.splitlines() if line.startswith("warning:")]
    (said,) = [line for line in shown if "elsewhere/alien" in line]
    assert said.startswith("warning: results.jsonl:") and said.endswith("row skipped")
    assert summary_of(quickstart_run)["headline"]["trials"] == len(lines)
    assert "elsewhere/alien" not in (quickstart_run / "junit.xml").read_text(encoding="utf-8")
