"""Plugins and marketplaces read as Claude Code reads them (CLAUDE_CODE.md, "Plugins")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, SHARED

from agenteval.catalog import load_catalog
from agenteval.catalog.plugins import generic_description

PLUGINS = FIXTURES / "plugins"
TINY = PLUGINS / "tinyplug"
VERSION = "2.1.332"


def listed(cat) -> dict[str, str]:
    return {a.name: a.description for a in cat.claude_code.agents}


def codes(cat) -> set[tuple[str, str]]:
    return {(d.code, d.path.name) for d in cat.diagnostics}


def test_plugin_agents_are_named_plugin_subfolders_name():
    cat = load_catalog([], plugins=[TINY], version=VERSION)
    assert sorted(listed(cat)) == sorted(
        [
            "tinyplug:alpha",
            "tinyplug:sub:alpha",
            "tinyplug:sub:y-nested",
            "tinyplug:bare",
            "tinyplug:whenonly",
            "tinyplug:42",
        ]
    )


def test_an_agents_folder_holding_a_manifest_is_read_as_a_plugin_never_its_skills():
    by_agents = load_catalog([TINY], version=VERSION)
    by_plugin = load_catalog([], plugins=[TINY], version=VERSION)
    assert listed(by_agents) == listed(by_plugin)
    assert not any(a.path.name == "SKILL.md" for a in by_agents.agents)


def test_plugin_descriptions_are_trimmed_and_keep_a_literal_backslash_n():
    cat = load_catalog([], plugins=[TINY], version=VERSION)
    assert listed(cat)["tinyplug:alpha"] == "Reviews code.\\nUse after edits."


def test_when_to_use_stands_in_for_a_missing_description():
    cat = load_catalog([], plugins=[TINY], version=VERSION)
    assert listed(cat)["tinyplug:whenonly"] == "Use for release notes."


def test_a_file_without_frontmatter_is_listed_by_stem_with_a_flagged_generic_description():
    cat = load_catalog([], plugins=[TINY], version=VERSION)
    assert listed(cat)["tinyplug:bare"] == generic_description("tinyplug")
    generic = {f.name for f in cat.claude_code.files if f.generic}
    assert generic == {"tinyplug:bare"}
    assert ("plugin-generic-description", "bare.md") in codes(cat)


def test_every_listed_plugin_agent_has_a_case_target_in_the_recovered_reading():
    cat = load_catalog([], plugins=[TINY], version=VERSION)
    assert cat.unlisted == ()
    assert set(cat.names) == set(listed(cat))
    assert {a.plugin for a in cat.agents} == {"tinyplug"}
    assert cat.get("tinyplug:sub:y-nested").short_name == "y-nested"


def test_a_marketplace_reads_each_plugin_and_names_a_missing_folder():
    cat = load_catalog([PLUGINS / "market"], version=VERSION)
    assert list(listed(cat)) == ["one:helper"]
    missing = [d for d in cat.diagnostics if d.code == "marketplace-missing"]
    assert len(missing) == 1
    assert missing[0].path.name == "marketplace.json"
    assert "'gone'" in missing[0].message and "./plugins/gone" in missing[0].message
    assert missing[0].severity == "error"
    remote = [d for d in cat.diagnostics if d.code == "marketplace-remote"]
    assert [("'remote'" in d.message) for d in remote] == [True]


def test_a_plugin_json_that_is_not_json_is_an_error_naming_the_file_and_line():
    cat = load_catalog([], plugins=[PLUGINS / "badjson"], version=VERSION)
    bad = [d for d in cat.diagnostics if d.code == "plugin-json"]
    assert [(d.path.name, d.line, d.severity) for d in bad] == [("plugin.json", 2, "error")]
    assert list(listed(cat)) == ["badjson:fixer"]  # named by its folder, still read


def test_a_project_agent_and_a_plugin_agent_with_one_short_name_are_both_listed(tmp_path):
    project = tmp_path / "agents"
    project.mkdir()
    (project / "alpha.md").write_text("---\nname: alpha\ndescription: Project alpha.\n---\n")
    cat = load_catalog([project], plugins=[TINY], version=VERSION)
    assert {"alpha", "tinyplug:alpha", "tinyplug:sub:alpha"} <= set(listed(cat))


def test_plugin_name_falls_back_to_the_folder(tmp_path):
    root = tmp_path / "nameless"
    shutil.copytree(TINY, root)
    (root / ".claude-plugin" / "plugin.json").write_text("{}\n")
    cat = load_catalog([root], version=VERSION)
    assert "nameless:sub:y-nested" in listed(cat)


def test_the_wshobson_marketplace_lists_every_agent_and_skill_with_full_names():
    market = SHARED / "benchmarks" / "catalogs" / "wshobson-agents"
    if not market.is_dir():
        pytest.skip("the shared wshobson catalog is not beside the project")
    cat = load_catalog([market], version=VERSION)
    # one plugin's manifest lists `./agents` (a folder): the CLI refuses it and loads none of it
    (refused,) = [d for d in cat.diagnostics if d.code == "plugin-invalid-manifest"]
    assert refused.path.parts[-3] == "pptx-deck-creation"
    kept = [p for p in (market / "plugins").iterdir() if p.name != "pptx-deck-creation"]
    files = [f for p in kept for f in p.glob("agents/**/*.md")]
    skills = [f for p in kept for f in p.glob("skills/*/SKILL.md")]
    assert len(cat.claude_code.agents) == len(files) == 201
    assert all(a.name.count(":") >= 1 for a in cat.claude_code.agents)
    assert sum(s.source == "skill" for s in cat.skills) == len(skills)


def test_plugin_agent_lines_never_exceed_what_the_file_says(tmp_path: Path):
    root = tmp_path / "p"
    (root / ".claude-plugin").mkdir(parents=True)
    (root / ".claude-plugin" / "plugin.json").write_text('{"name": "p"}')
    (root / "agents").mkdir()
    (root / "agents" / "x.md").write_text("---\nname: x:y\ndescription: Colon name.\n---\n")
    cat = load_catalog([root], version=VERSION)
    assert list(listed(cat)) == ["p:x:y"]


def test_plugin_files_get_no_project_rule_skip_diagnostics():
    cat = load_catalog([], plugins=[TINY], version=VERSION)
    project_only = {
        ("no-frontmatter", "bare.md"),
        ("missing-description", "whenonly.md"),
    }
    assert codes(cat) & project_only == set()


def test_a_colon_in_a_plugin_agent_name_is_not_reported_as_unloadable(tmp_path: Path):
    root = tmp_path / "p"
    (root / ".claude-plugin").mkdir(parents=True)
    (root / ".claude-plugin" / "plugin.json").write_text('{"name": "p"}')
    (root / "agents").mkdir()
    (root / "agents" / "x.md").write_text("---\nname: x:y\ndescription: Colon name.\n---\n")
    cat = load_catalog([root], version=VERSION)
    assert "invalid-name" not in {d.code for d in cat.diagnostics}
