"""`agenteval init` (issue 20, part B item 1): an eval config, a workflow and .gitignore lines for
the catalog a repository has, nothing existing overwritten without --force."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT

from agenteval.cli import main
from agenteval.config import load_config
from agenteval.errors import CatalogError
from agenteval.pipeline.init import CONFIG, IGNORED, PLACEHOLDER, WORKFLOW, init_repo
from agenteval.settings import catalog_paths

AGENT = "---\nname: helper\ndescription: Helps with everything.\n---\nBody.\n"


def _agents(root: Path, folder: str = ".claude/agents") -> Path:
    (root / folder).mkdir(parents=True)
    (root / folder / "helper.md").write_text(AGENT)
    return root / folder


def _workflow(root: Path) -> dict:
    data = yaml.safe_load((root / WORKFLOW).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads `on:` as True
    return data


def _action_step(root: Path) -> dict:
    (job,) = _workflow(root)["jobs"].values()
    (step,) = [s for s in job["steps"] if "agenteval" in str(s.get("uses", ""))]
    return step


def test_claude_agents_get_a_config_the_loader_reads_and_a_workflow(tmp_path):
    agents = _agents(tmp_path)
    done = init_repo(tmp_path)
    assert set(done.written) == {CONFIG, WORKFLOW}
    config = load_config(tmp_path / CONFIG)
    assert catalog_paths(config)[0] == (agents.resolve(),)
    step = _action_step(tmp_path)
    assert step["uses"] == PLACEHOLDER
    assert step["with"]["config"] == CONFIG.as_posix()
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(step["with"]) <= set(action["inputs"])
    wf = _workflow(tmp_path)
    assert "pull_request" in wf["on"] and "pull_request_target" not in wf["on"]
    assert wf["permissions"]["pull-requests"] == "write"


def test_plain_agents_folder_and_an_explicit_one(tmp_path):
    agents = _agents(tmp_path, "agents")
    init_repo(tmp_path)
    assert catalog_paths(load_config(tmp_path / CONFIG))[0] == (agents.resolve(),)
    other = _agents(tmp_path, "catalog/mine")
    init_repo(tmp_path, agents=Path("catalog/mine"), force=True)
    assert catalog_paths(load_config(tmp_path / CONFIG))[0] == (other.resolve(),)


def test_a_plugin_is_found_by_its_manifest(tmp_path):
    plugin = tmp_path / "plugins" / "tiny"
    (plugin / ".claude-plugin").mkdir(parents=True)
    (plugin / ".claude-plugin" / "plugin.json").write_text('{"name": "tiny"}')
    _agents(plugin, "agents")
    done = init_repo(tmp_path)
    assert done.catalog.kind == "plugins"
    config = load_config(tmp_path / CONFIG)
    assert config.agents == [] and catalog_paths(config)[0] == (plugin.resolve(),)
    from agenteval.catalog import load_catalog

    names = load_catalog(catalog_paths(config)[0]).names
    assert names and all(n.startswith("tiny:") for n in names)  # named as Claude Code names them


def test_a_repository_that_is_a_plugin_is_read_as_one(tmp_path):
    (tmp_path / ".claude-plugin").mkdir()
    (tmp_path / ".claude-plugin" / "plugin.json").write_text('{"name": "me"}')
    agents = _agents(tmp_path, "agents")
    done = init_repo(tmp_path)
    assert (done.catalog.kind, done.catalog.paths) == ("plugins", (Path("."),))
    assert catalog_paths(load_config(tmp_path / CONFIG))[0] == (tmp_path.resolve(),)
    assert agents.is_dir()


def test_an_agents_folder_outside_the_repository(tmp_path):
    outside = _agents(tmp_path, "elsewhere/agents")
    (tmp_path / "repo").mkdir()
    init_repo(tmp_path / "repo", agents=outside.resolve())
    config = load_config(tmp_path / "repo" / CONFIG)
    assert catalog_paths(config)[0] == (outside.resolve(),)


def test_skills_are_found(tmp_path):
    skill = tmp_path / ".claude" / "skills" / "deploy"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: deploy\ndescription: Ships it.\n---\n")
    done = init_repo(tmp_path)
    assert done.catalog.kind == "skills"
    config = load_config(tmp_path / CONFIG)
    from agenteval.catalog import load_catalog

    catalog = load_catalog(catalog_paths(config)[0])
    # read as Claude Code reads it: a skill beside (a missing) .claude/agents, not an agent
    assert catalog.names == () and [s.label for s in catalog.skills] == ["skill:deploy"]


def test_the_action_option_sets_uses(tmp_path):
    _agents(tmp_path)
    init_repo(tmp_path, action="acme/agenteval@v1")
    assert _action_step(tmp_path)["uses"] == "acme/agenteval@v1"
    assert PLACEHOLDER not in (tmp_path / WORKFLOW).read_text()


def test_gitignore_lines_are_appended_once(tmp_path):
    _agents(tmp_path)
    (tmp_path / ".gitignore").write_text("node_modules/")  # no final newline
    first = init_repo(tmp_path)
    second = init_repo(tmp_path)
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines == ["node_modules/", *IGNORED]
    assert first.ignored == IGNORED and second.ignored == ()


def test_existing_files_are_kept_unless_forced(tmp_path):
    _agents(tmp_path)
    (tmp_path / CONFIG).parent.mkdir(parents=True)
    (tmp_path / CONFIG).write_text("name: mine\n")
    done = init_repo(tmp_path)
    assert done.kept == (CONFIG,) and done.written == (WORKFLOW,)
    assert (tmp_path / CONFIG).read_text() == "name: mine\n"
    forced = init_repo(tmp_path, force=True)
    assert set(forced.written) == {CONFIG, WORKFLOW} and forced.kept == ()
    assert load_config(tmp_path / CONFIG).name == "agenteval"


def test_no_catalog_is_an_error_saying_where_it_looked(tmp_path):
    with pytest.raises(CatalogError) as err:
        init_repo(tmp_path)
    for place in (".claude/agents", "agents", "plugin.json", ".claude/skills"):
        assert place in str(err.value)
    assert not (tmp_path / CONFIG).exists()


def test_cli_prints_what_it_did_and_the_two_commands(tmp_path):
    _agents(tmp_path)
    (tmp_path / WORKFLOW).parent.mkdir(parents=True)
    (tmp_path / WORKFLOW).write_text("name: mine\n")
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    assert f"kept: {WORKFLOW.as_posix()}; use --force to overwrite" in result.output
    tail = result.output.splitlines()[-2:]
    assert tail == [f"  agenteval lint {CONFIG.as_posix()}", f"  agenteval run {CONFIG.as_posix()}"]


def test_cli_empty_repo_is_one_error_line(tmp_path):
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and len(result.output.splitlines()) == 1


def test_the_written_config_runs_offline(tmp_path):
    """The two printed commands work on the demo catalog with no key (the lexical floor)."""
    import shutil

    shutil.copytree(ROOT / "agents", tmp_path / ".claude" / "agents")
    init_repo(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["lint", CONFIG.as_posix()]).exit_code == 0
    run = runner.invoke(main, ["run", CONFIG.as_posix(), "--plain"])
    assert run.exit_code == 0, run.output
    assert len(list((tmp_path / "reports").glob("*/report.md"))) == 1


def test_cli_names_a_few_of_many_plugins(tmp_path):
    names = ("a", "b", "c", "d")
    for name in names:
        (tmp_path / "plugins" / name / ".claude-plugin").mkdir(parents=True)
        (tmp_path / "plugins" / name / ".claude-plugin" / "plugin.json").write_text("{}")
        _agents(tmp_path / "plugins" / name, "agents")
    result = CliRunner().invoke(main, ["init"])
    shown = ", ".join(f"plugins/{n}" for n in names[:3])
    assert result.output.splitlines()[0] == f"found: {shown} and 1 more (plugins)"
