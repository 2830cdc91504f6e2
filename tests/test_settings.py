"""Run settings (settings.py): resolved once, stored in the record, and resume rules kept in the
library; one gate table behind the config, --fail-under, the CLI help and the README."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, run_config

from agenteval.cli import main
from agenteval.config import GATES, EvalConfig, load_config
from agenteval.errors import ConfigError
from agenteval.pipeline import recorded_settings
from agenteval.record.store import load_record
from agenteval.settings import (
    AGREEMENT,
    Overrides,
    Role,
    RunSettings,
    compared_facts,
    fixed_on_resume,
    resolve,
    settings_fields,
    with_role,
)


def test_settings_round_trip_through_the_record(demo_project):
    settings = resolve(EvalConfig(), Overrides(limit=4))
    assert RunSettings.from_dict(settings.to_dict()) == settings
    outcome = run_config(EvalConfig(), limit=4)
    assert outcome.record.settings == settings
    assert recorded_settings(load_record(outcome.run_dir)) == settings


@pytest.mark.parametrize(
    "change", [{"trials": 2}, {"holdout": "none"}, {"limit": 3}, {"backend": "mock"}]
)
def test_library_resume_refuses_a_change_that_changes_answers(demo_project, change):
    """Finding 4: the rule lives in the library, not only in the CLI."""
    first = run_config(EvalConfig(), limit=4)
    with pytest.raises(ConfigError, match="cannot change when resuming"):
        run_config(EvalConfig(), resume=first.run_dir, **({"limit": 4} | change))


def test_library_resume_may_change_budget_concurrency_and_cache(demo_project):
    first = run_config(EvalConfig(), limit=4)
    settings = recorded_settings(load_record(first.run_dir)).resume_with(
        max_cost_usd=5.0, concurrency=2, cache=False
    )
    from agenteval.pipeline import run_eval

    again = run_eval(settings, resume=first.run_dir)
    assert again.record.status == "complete"


def test_every_gate_in_the_table_is_accepted_by_the_config_and_fail_under(tmp_path):
    """Finding 5: `gates: {macro_f1: 0.5}` was refused while `--fail-under macro_f1=0.5` worked."""
    from agenteval.scoring.gates import parse_fail_under

    for name, gate in GATES.items():
        value = 3 if gate.kind == "count" else 0.5  # a count gate takes a whole number
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"gates:\n  {name}: {value}\n")
        assert load_config(path).gates.thresholds() == {name: value}
        assert parse_fail_under([f"{name}={value}"]) == ((name, value),)


def test_cli_help_and_readme_list_exactly_the_gate_table():
    help_text = CliRunner().invoke(main, ["run", "--help"], terminal_width=400).output
    flat = " ".join(help_text.split())
    assert all(name in flat for name in GATES)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `--fail-under"))
    assert re.findall(r"`([a-z0-9_]+)`", row.split("|")[2]) == list(GATES)


def test_the_backend_is_chosen_once_and_says_why(demo_project):
    offline = resolve(EvalConfig(), env={})
    online = resolve(EvalConfig(), env={"ANTHROPIC_API_KEY": "sk-ant-x"})
    assert (offline.backend, offline.backend_reason) == (
        "lexical",
        "offline: ANTHROPIC_API_KEY is not set",
    )
    assert (online.backend, online.backend_reason) == ("anthropic", "ANTHROPIC_API_KEY is set")
    assert online.model == "claude-sonnet-5-5"


def test_runs_are_named_after_their_catalog(tmp_path):
    catalog = tmp_path / "team-catalog" / ".claude" / "agents"
    catalog.mkdir(parents=True)
    settings = resolve(EvalConfig(), Overrides(agents=(catalog,)), env={})
    assert settings.name == "team-catalog"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--trials", "0"], "--trials must be at least 1"),
        (["--concurrency", "0"], "--concurrency must be at least 1"),
        (["--max-cost", "-1"], "--max-cost must be a positive amount"),
        (["--limit", "-5"], "--limit must be at least 1"),
        (["--model", "opus", "--router", "lexical"], "--model has no effect with the lexical"),
    ],
)
def test_bad_options_are_one_error_line(demo_project, args, words):
    result = CliRunner().invoke(main, ["run", "--plain", *args])
    assert result.exit_code == 2
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert lines[-1].startswith("error: ") and words in lines[-1]
    assert "pydantic" not in result.output and "http" not in result.stderr


def test_config_path_is_resolved_relative_to_the_config(tmp_path: Path):
    (tmp_path / "evals").mkdir()
    (tmp_path / "agents").mkdir()
    path = tmp_path / "evals" / "x.yaml"
    path.write_text("agents: [../agents]\nout: ../reports\n")
    settings = resolve(load_config(path), env={})
    assert settings.agents == ((tmp_path / "agents").resolve(),)
    assert settings.out == (tmp_path / "reports").resolve()
    assert settings.name == "x"


PLUGIN_FIXTURES = Path(__file__).parent / "fixtures" / "plugins"


def test_config_plugins_are_read_as_plugins_after_the_agents(tmp_path: Path):
    (tmp_path / "agents").mkdir()
    path = tmp_path / "x.yaml"
    path.write_text(f"agents: [agents]\nplugins: [{PLUGIN_FIXTURES / 'tinyplug'}]\n")
    settings = resolve(load_config(path), env={})
    assert settings.agents == (
        (tmp_path / "agents").resolve(),
        (PLUGIN_FIXTURES / "tinyplug").resolve(),
    )


def test_plugin_on_the_command_line_replaces_the_configs_and_needs_no_agents_folder(
    tmp_path: Path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "x.yaml"
    path.write_text(f"plugins: [{PLUGIN_FIXTURES / 'badjson'}]\n")
    settings = resolve(load_config(path), Overrides(plugins=(PLUGIN_FIXTURES,)), env={})
    assert sorted(p.name for p in settings.agents) == ["badjson", "market", "tinyplug"]


def test_a_plugin_option_naming_no_plugin_is_an_error_naming_the_folder(tmp_path: Path):
    result = CliRunner().invoke(main, ["cases", "--plugin", str(tmp_path)])
    assert result.exit_code != 0
    assert f"error: {tmp_path}" in result.output and "plugin.json" in result.output


# ------------------------------------------------------------------------------------------
# Issue 17 item 1: settings with roles; every check is derived from them
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Extended(RunSettings):
    """RunSettings with one new field per role, to see every check pick each up."""

    new_answers: int = field(default=0, metadata=with_role(Role.ANSWERS, "new_answers"))
    new_budget: int = field(default=0, metadata=with_role(Role.RESUMABLE, "new_budget"))
    new_folder: int = field(default=0, metadata=with_role(Role.PER_SHARD, "new_folder"))
    new_fact: int = field(
        default=0, metadata=with_role(Role.ANSWERS, fact="new_fact", another=AGREEMENT)
    )


def test_every_setting_declares_a_role():
    assert all(isinstance(f.metadata.get("role"), Role) for f in fields(RunSettings))
    assert {r for f in fields(RunSettings) for r in [f.metadata["role"]]} == set(Role)


def test_a_new_field_is_picked_up_by_every_check_by_its_role(demo_project):
    from agenteval.pipeline.shard import _identity

    base = resolve(EvalConfig(), Overrides(limit=4))
    mine = Extended(**{f.name: getattr(base, f.name) for f in fields(RunSettings)})
    assert Extended.from_dict(mine.to_dict()) == mine
    for name in ("new_answers", "new_fact"):
        changed = replace(mine, **{name: 1})
        with pytest.raises(ConfigError, match=f"^{name} cannot change when resuming"):
            changed.check_resume(mine)
        record = outcome_record(mine)
        assert _identity(record, changed) != _identity(record, mine)
    for name in ("new_budget", "new_folder"):
        changed = replace(mine, **{name: 1})
        changed.check_resume(mine)  # accepted
        record = outcome_record(mine)
        assert _identity(record, changed) == _identity(record, mine)
    assert fixed_on_resume(Extended) - fixed_on_resume() == {"new_answers", "new_folder"}
    assert compared_facts(Extended) == {**compared_facts(), "new_fact": AGREEMENT}


def outcome_record(settings: RunSettings):
    from agenteval.record.schema import RunRecord

    return RunRecord(run_id="r", name="n", status="complete", created_at="t", settings=settings)


def test_resume_refuses_a_changed_answer_and_accepts_a_changed_budget(demo_project):
    recorded = resolve(EvalConfig(), Overrides(limit=4))
    with pytest.raises(ConfigError, match="^trials cannot change when resuming"):
        replace(recorded, trials=2).check_resume(recorded)
    replace(recorded, max_cost_usd=3.0, concurrency=2, out=Path("elsewhere")).check_resume(recorded)
    resumed = recorded.resume_with(max_cost_usd=3.0, baseline="latest")
    resumed.check_resume(recorded)
    assert (resumed.max_cost_usd, resumed.gates.baseline) == (3.0, "latest")


def test_the_comparability_facts_are_the_answer_settings_that_declare_one():
    from agenteval.scoring.facts import MEASURE_SETTINGS, ROUTER_SETTINGS, RunFacts

    declared = {f.metadata["fact"] for f in settings_fields(Role.ANSWERS) if f.metadata["fact"]}
    assert {f.name for f in fields(RunFacts)} == {"catalog", *declared}
    assert set(ROUTER_SETTINGS) | set(MEASURE_SETTINGS) == declared
    assert not set(ROUTER_SETTINGS) & set(MEASURE_SETTINGS)
    others = (f for r in Role if r is not Role.ANSWERS for f in settings_fields(r))
    assert not any(f.metadata["fact"] for f in others)


def test_every_run_option_sets_a_setting_or_is_the_commands_own():
    from agenteval.cli import run

    declared = {o for f in fields(RunSettings) for o in f.metadata["options"]}
    params = {p.name for p in run.params}
    assert declared <= params
    assert params - declared == {"resume", "plain", "open_report"}


@pytest.mark.parametrize(
    "option", [["--seed", "3"], ["--allow-python-checks"], ["--out", "elsewhere"]]
)
def test_cli_resume_refuses_every_option_of_a_setting_that_may_not_change(
    demo_project, monkeypatch, option
):
    monkeypatch.chdir(demo_project)
    first = run_config(EvalConfig(), limit=4)
    result = CliRunner().invoke(main, ["run", "--resume", str(first.run_dir), *option])
    assert result.exit_code == 2
    (error,) = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert f"{option[0]} cannot change when resuming" in error
