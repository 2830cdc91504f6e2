"""The command line: the quick start, listing, linting, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from agenteval.cli import main
from agenteval.record.store import load_record, read_results

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_dir_of(root: Path) -> Path:
    (run,) = [p for p in (root / "reports").iterdir() if p.is_dir()]
    return run


def test_quickstart_run_writes_every_output(demo_project):
    result = invoke("run", "--plain")
    assert result.exit_code == 0, result.output
    assert "router: lexical (offline: ANTHROPIC_API_KEY is not set)" in result.output
    assert "accuracy" in result.output and "report:" in result.output
    run = run_dir_of(demo_project)
    for name in ("summary.json", "results.jsonl", "report.md", "report.html", "junit.xml"):
        assert (run / name).stat().st_size > 0, name
    record = load_record(run)
    rows = read_results(run)
    assert record.status == "complete"
    assert record.headline["trials"] == len(rows) == record.cases["selected"]
    assert record.holdout == "kfold:5"
    assert record.router["backend"] == "lexical"
    assert 0.0 <= record.headline["accuracy"] <= 1.0
    assert record.headline["accuracy"] == pytest.approx(
        sum(r.trial.correct for r in rows) / len(rows)
    )
    suite = ET.parse(run / "junit.xml").getroot()
    assert int(suite.get("tests")) == len(rows)
    assert int(suite.get("failures")) == sum(not r.trial.correct for r in rows)


def test_config_run_and_rerender(demo_project):
    result = invoke("run", "evals/quickstart.yaml", "--limit", "5", "--plain")
    assert result.exit_code == 0, result.output
    run = run_dir_of(demo_project)
    assert len(read_results(run)) == 5
    (run / "report.html").unlink()
    assert invoke("report", str(run)).exit_code == 0
    assert (run / "report.html").exists()


def test_gate_failure_exits_1_and_is_listed_last(demo_project):
    result = invoke("run", "--fail-under", "accuracy=0.99", "--plain")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("gate failed: accuracy")


def test_cases_json_on_laywill(laywill):
    result = invoke("cases", "--agents", str(laywill), "--json")
    data = json.loads(result.output)
    assert (data["agents"], data["cases"], data["errors"]) == (213, 639, [])


def test_cases_table(demo_project):
    result = invoke("cases")
    assert result.exit_code == 0
    assert "backend-code-developer/ex1" in result.output


def test_lint_exit_codes(tmp_path, demo_project):
    assert invoke("lint").exit_code == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "one.md").write_text("---\nname: dup\ndescription: a\n---\n")
    (bad / "two.md").write_text("---\nname: dup\ndescription: b\n---\n")
    result = invoke("lint", "--agents", str(bad))
    assert result.exit_code == 1
    assert "one.md" in result.output and "two.md" in result.output


@pytest.mark.parametrize(
    "setup, args, words",
    [
        (lambda p: None, ["run", "--agents", "missing-dir"], "missing-dir"),
        (lambda p: (p / "empty").mkdir(), ["run", "--agents", "empty"], "no agents found"),
        (
            lambda p: (p / "evals" / "bad.yaml").write_text(
                "name: x\nrouter:\n  backnd: lexical\n"
            ),
            ["run", "evals/bad.yaml"],
            "bad.yaml:3",
        ),
        (
            lambda p: (p / "datasets" / "routing.yaml").write_text(
                "cases:\n  - id: a\n    prompt: hi\n    expected: no-such-agent\n"
            ),
            ["run"],
            "routing.yaml:2",
        ),
        (lambda p: None, ["run", "--fail-under", "acuracy=0.5"], "--fail-under"),
        (lambda p: None, ["run", "--holdout", "kfold:1"], "holdout"),
    ],
)
def test_input_errors_are_one_line_exit_2(demo_project, setup, args, words):
    setup(demo_project)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    err = result.output.strip().splitlines()
    assert err[-1].startswith("error: ") and words in err[-1]
    assert "Traceback" not in result.output


def test_no_agents_folder_anywhere(tmp_path):
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2
    assert "no agents folder" in result.output and "--agents" in result.output


def test_console_script_end_to_end(demo_project):
    exe = Path(sys.executable).with_name("agenteval")
    out = subprocess.run(
        [str(exe), "run", "--limit", "3"], capture_output=True, text=True, cwd=demo_project
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr


def test_agents_are_found_in_dot_claude(tmp_path):
    shutil.copytree(ROOT / "agents", tmp_path / ".claude" / "agents")
    result = invoke("cases", "--json")
    assert json.loads(result.output)["agents"] == 11


def test_agents_folder_wins_over_dot_claude(tmp_path):
    (tmp_path / ".claude" / "agents").mkdir(parents=True)
    (tmp_path / "agents").mkdir()
    shutil.copy(ROOT / "agents" / "code-reviewer.md", tmp_path / "agents")
    result = invoke("cases", "--json")
    assert json.loads(result.output)["agents"] == 1


def test_resume_refuses_a_changed_catalog(demo_project):
    invoke("run", "--plain", "--limit", "5")
    (run,) = [p for p in (demo_project / "reports").iterdir() if p.is_dir()]
    agent = demo_project / "agents" / "code-reviewer.md"
    agent.write_text(agent.read_text().replace("Use this agent", "Use this reviewer", 1))
    result = CliRunner().invoke(main, ["run", "--resume", str(run), "--plain"])
    assert result.exit_code == 2
    assert "catalog changed" in result.output


def test_cases_of_a_plugin_name_agents_and_skills_as_the_cli_lists_them():
    plugin = Path(__file__).parent / "fixtures" / "plugins" / "tinyplug"
    result = invoke("cases", "--plugin", str(plugin), "--json")
    data = json.loads(result.output)
    assert (data["agents"], data["skills"]) == (6, 1)
    assert [c["expected"] for c in data["items"]] == [["skill:tinyplug:deploy"]]


def _other_catalog(root: Path) -> Path:
    other = root / "other"
    other.mkdir()
    (other / "solo.md").write_text(
        '---\nname: solo\ndescription: "Handles everything. <example>user: \\"hello\\"\n'
        'assistant: \\"solo it is\\"</example>"\n---\nBody.\n'
    )
    return other


@pytest.mark.parametrize("command", ["cases", "lint", "run", "estimate"])
def test_agents_on_the_command_line_reads_no_default_datasets(demo_project, command):
    other = _other_catalog(demo_project)
    args = [command, "--agents", str(other)]
    result = CliRunner().invoke(main, [*args, "--plain"] if command == "run" else args)
    assert "not in the catalog" not in result.output
    assert result.exit_code == 0, result.output


def test_agents_on_the_command_line_ignores_an_unrelated_datasets_folder(tmp_path):
    shutil.copytree(ROOT / "agents", tmp_path / "catalog")
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "iris.yaml").write_text("- sepal: 5.1\n  petal: 1.4\n")
    result = invoke("run", "--agents", "catalog", "--plain", "--limit", "3")
    assert result.exit_code == 0, result.output


def test_dataset_none_means_no_datasets(demo_project):
    result = invoke("cases", "--dataset", "none", "--json")
    assert result.exit_code == 0, result.output
    assert {c["origin"] for c in json.loads(result.output)["items"]} == {"example"}


def test_config_with_an_empty_datasets_list_reads_none(demo_project):
    (demo_project / "evals" / "bare.yaml").write_text("name: bare\ndatasets: []\n")
    result = invoke("cases", "evals/bare.yaml", "--json")
    assert result.exit_code == 0, result.output
    assert {c["origin"] for c in json.loads(result.output)["items"]} == {"example"}


def test_an_agents_folder_without_agents_gives_way_to_claude_agents(tmp_path):
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "README.md").write_text("# Our agents\n\nSee .claude/agents.\n")
    shutil.copytree(ROOT / "agents", tmp_path / ".claude" / "agents")
    for command in ("cases", "lint"):
        result = CliRunner().invoke(main, [command])
        assert result.exit_code == 0, result.output
        assert "agents: .claude/agents (agents holds no agent file)" in result.output


def test_plural_and_join_words():
    from agenteval.text import join_words, plural

    assert [plural(n, "error") for n in (0, 1, 2)] == ["0 errors", "1 error", "2 errors"]
    assert [join_words(w) for w in (["2"], ["2", "3"], ["1", "2", "3"])] == [
        "2",
        "2 and 3",
        "1, 2 and 3",
    ]


def test_lint_summary_counts_in_the_singular(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ok.md").write_text("---\nname: ok\ndescription: fine\n---\n")
    (bad / "nofront.md").write_text("just text\n")
    result = invoke("lint", "--agents", str(bad))
    summary = result.output.strip().splitlines()[-1]
    assert not re.search(r"\b1 (agents|errors|warnings|notes)\b", summary), summary


def test_lint_lines_carry_their_code_and_a_catalog_relative_path(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ok.md").write_text("---\nname: ok\ndescription: fine\n---\n")
    (bad / "nofront.md").write_text("just text\n")
    result = invoke("lint", "--agents", str(bad))
    (line,) = [ln for ln in result.output.splitlines() if "nofront.md" in ln]
    assert line.startswith("nofront.md:1: warning[")
    code = re.search(r"\[([a-z0-9-]+)\]", line).group(1)
    assert invoke("lint", "--explain", code).exit_code == 0


def test_unknown_gate_metric_names_the_known_ones(demo_project):
    from agenteval.config import GATES

    result = CliRunner().invoke(main, ["run", "--fail-under", "acc=0.6"])
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert "unknown metric 'acc'" in last and all(name in last for name in GATES)


def test_only_an_unknown_agent_says_so_with_close_matches(demo_project):
    result = CliRunner().invoke(main, ["run", "--only", "database-architec", "--plain"])
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert "no agent named 'database-architec'" in last and "database-architect" in last


def test_a_run_leaves_no_lock_file(demo_project):
    assert invoke("run", "--limit", "3", "--plain").exit_code == 0
    run = run_dir_of(demo_project)
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []


def test_license_is_mit_as_pyproject_says():
    text = (ROOT / "LICENSE").read_text()
    assert "MIT License" in text and "agenteval contributors" in text
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()


def test_worst_agents_mark_the_files_claude_code_skips(demo_project):
    (demo_project / "agents" / "late.md").write_text(
        '\n---\nname: late-agent\ndescription: "Tunes Kubernetes pod autoscaling. <example>'
        'user: \\"tune the pod autoscaler for kubernetes\\"\nassistant: \\"late-agent\\"'
        '</example>"\n---\nBody.\n'
    )
    result = invoke("run", "--plain", "--holdout", "none")
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("worst agents")]
    assert "late-agent (not listed by Claude Code)" in line


def test_many_agents_tied_at_the_bottom_are_counted_not_listed_alphabetically(laywill):
    result = invoke("run", "--plain", "--agents", str(laywill), "--router", "lexical")
    (run,) = [p for p in Path("reports").iterdir() if p.is_dir()]
    card = load_record(run).scorecard
    zero = [a.name for a in card.agents if a.recall.value == 0 and a.name != "none"]
    assert len(zero) > 5
    assert f"{len(zero)} agents at 0.0% recall" in result.output


def test_a_large_catalog_is_announced_before_it_is_read(demo_project, monkeypatch):
    from agenteval.pipeline import inputs

    files = len(list((demo_project / "agents").glob("*.md")))
    monkeypatch.setattr(inputs, "LARGE_CATALOG", files)
    lines = invoke("run", "--plain", "--limit", "4").output.splitlines()
    reading = lines.index(f"reading {files} agent files and building their cases")
    views = lines.index("building the kfold:5 views of the catalog for 4 cases")
    first = next(i for i, ln in enumerate(lines) if ln.startswith("[agenteval] routing: "))
    assert reading < views < first and lines[first].startswith("[agenteval] routing: 0/4")
