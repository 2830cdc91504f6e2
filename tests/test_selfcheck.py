"""The self-check (issue 18, item 5): the real CLI 2.1.332 lists a public catalog in its own
request, against agenteval's loopback capture server, and that listing is compared with agenteval's
emulated Claude Code reading; an emulation made wrong on purpose is caught and reported as
`cc-selfcheck` diagnostics, terminal warning lines and record notes."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import claude_path

from agenteval.catalog import claude_code
from agenteval.catalog.claude_code import read_as_claude_code
from agenteval.catalog.diagnostics import RULES
from agenteval.claude_code_install import find_binary, locate
from agenteval.routing.profiles.profile import ProfileStore
from agenteval.routing.profiles.selfcheck import self_check
from agenteval.routing.profiles.source import ProfileSource, self_check_notes

BUILTINS = ("claude", "Explore", "general-purpose", "Plan", "statusline-setup")


def test_the_clis_listing_of_a_real_catalog_is_the_emulated_one(laywill: Path) -> None:
    found = self_check(locate(claude_path()), [laywill], builtins=BUILTINS)
    assert found == ()


def test_a_wrong_emulation_is_reported_for_every_agent_it_gets_wrong(
    laywill: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude = locate(claude_path())
    right = read_as_claude_code([laywill], version=claude.version)
    wrong_for = {a.path for a in right.agents if a.tools_text != "All tools"}
    assert wrong_for, "the catalog must have agents with a tools list for this test"
    monkeypatch.setattr(claude_code, "tools_text", lambda tools, disallowed: "All tools")
    found = self_check(claude, [laywill], builtins=BUILTINS)
    assert {d.code for d in found} == {"cc-selfcheck"} and "cc-selfcheck" in RULES
    assert {d.path for d in found} == wrong_for
    assert all(" shows agent " in d.message for d in found)


def test_the_run_says_each_difference_and_keeps_it_in_the_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "a.md").write_text(
        "---\nname: alpha\ndescription: First.\ntools: Read\n---\nbody\n", encoding="utf-8"
    )
    (agents / "b.md").write_text("---\nname: beta\ndescription: Second.\n---\n", encoding="utf-8")
    source = ProfileSource(
        find_binary(claude_path()), alias=None, store=ProfileStore(root=tmp_path / "profiles")
    )
    source.identify(lambda message: None)
    router = type("Router", (), {"profiles": source})()
    said: list[str] = []
    clean = self_check_notes(router, [agents], said.append)
    version = source.version
    assert clean == [f"self-check: Claude Code {version} lists the catalog as agenteval reads it"]
    assert said == []
    monkeypatch.setattr(claude_code, "tools_text", lambda tools, disallowed: "All tools")
    (agents / "a.md").write_text(  # another content: not the cached answer
        "---\nname: alpha\ndescription: First!\ntools: Read\n---\n", encoding="utf-8"
    )
    notes = self_check_notes(router, [agents], said.append)
    assert len(notes) == len(said) == 1
    assert "'alpha'" in notes[0] and str(agents / "a.md") in notes[0]
    assert said == [notes[0].removeprefix("self-check: ")]
    assert said[0].startswith(f"{agents / 'a.md'}: warning[cc-selfcheck]: ")


def test_the_capture_command_captures_in_the_project_and_self_checks_its_agents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from agenteval.cli import main

    agents = tmp_path / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "a.md").write_text(
        "---\nname: alpha\ndescription: First.\ntools: Read\n---\n", encoding="utf-8"
    )
    (tmp_path / "CLAUDE.md").write_text("Use alpha for everything.\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    monkeypatch.setenv("AGENTEVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(claude_code, "tools_text", lambda tools, disallowed: "All tools")
    result = CliRunner().invoke(main, ["capture", "--model", "haiku"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "project context: CLAUDE.md (1 file)" in result.output
    (warning,) = [x for x in result.output.splitlines() if "[cc-selfcheck]" in x]
    assert (
        warning.startswith(".claude/agents/a.md: warning[cc-selfcheck]: ") and "'alpha'" in warning
    )


FIXTURES = Path(__file__).parent / "fixtures"
PROJECT_AGENTS = FIXTURES / "skills" / "project" / ".claude" / "agents"
TINYPLUG = FIXTURES / "plugins" / "tinyplug"


def test_plugins_skills_and_commands_are_listed_by_the_cli_as_agenteval_reads_them() -> None:
    found = self_check(locate(claude_path()), [PROJECT_AGENTS, TINYPLUG], builtins=BUILTINS)
    assert found == ()


def test_a_skill_the_emulation_gets_wrong_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from agenteval.catalog import skills as skill_rules

    real = skill_rules.cut_description
    monkeypatch.setattr(skill_rules, "cut_description", lambda text: real(text).upper())
    found = self_check(locate(claude_path()), [PROJECT_AGENTS, TINYPLUG], builtins=BUILTINS)
    shown = {d.path.parent.name if d.path.name == "SKILL.md" else d.path.stem for d in found}
    assert {d.code for d in found} == {"cc-selfcheck"}
    assert {"helper", "long", "nofm", "build", "plain", "deploy"} <= shown
    assert all("skill" in d.message for d in found)


def test_a_plugin_skill_the_emulation_does_not_list_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agenteval.catalog import plugins as plugin_rules
    from agenteval.catalog.skills import SkillSet

    monkeypatch.setattr(plugin_rules, "plugin_skills", lambda plugin: SkillSet())
    found = self_check(locate(claude_path()), [PROJECT_AGENTS, TINYPLUG], builtins=BUILTINS)
    assert [d.message.split(";")[0] for d in found] == [
        f"Claude Code {locate(claude_path()).version} lists skill 'tinyplug:deploy'"
    ]


def test_the_claude_cli_router_self_checks_the_catalog_it_routes(tmp_path: Path) -> None:
    from agenteval.routing.claude_cli import ClaudeCliRouter

    router = ClaudeCliRouter(api_key="sk-ant-unused", claude=claude_path())
    router.prepare(lambda message: None)
    said: list[str] = []
    notes = self_check_notes(router, [PROJECT_AGENTS, TINYPLUG], said.append)
    assert notes == [
        f"self-check: Claude Code {router.cli_version} lists the catalog as agenteval reads it"
    ]


def test_a_real_plugin_marketplace_is_listed_by_the_cli_as_agenteval_reads_it(
    wshobson: Path,
) -> None:
    # 91 plugins: their agents, every plugin's commands before any plugin's skill, a manifest the
    # CLI refuses, and a skill list past its budget (the rest listed by name only)
    catalog_check = self_check(locate(claude_path()), [wshobson], builtins=BUILTINS)
    assert catalog_check == ()
