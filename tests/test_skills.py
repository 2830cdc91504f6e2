"""Skills and commands listed for the Skill tool (CLAUDE_CODE.md, "Skills and commands")."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FIXTURES

from agenteval.catalog import load_catalog
from agenteval.catalog.skills import ELLIPSIS, MAX_DESCRIPTION

PROJECT = FIXTURES / "skills" / "project" / ".claude"
TINY = FIXTURES / "plugins" / "tinyplug"
VERSION = "2.1.332"


def skills(cat) -> dict[str, object]:
    return {s.name: s for s in cat.skills}


def test_project_skills_one_level_then_commands_in_the_cli_order():
    cat = load_catalog([PROJECT / "agents"], version=VERSION)
    assert [(s.name, s.source) for s in cat.skills] == [
        ("helper", "skill"),
        ("long", "skill"),
        ("nofm", "skill"),
        ("build", "command"),
        ("plain", "command"),
    ]


def test_plugin_skills_are_prefixed_and_come_after_project_ones():
    cat = load_catalog([PROJECT / "agents"], plugins=[TINY], version=VERSION)
    names = [s.name for s in cat.skills]
    assert names == ["helper", "long", "nofm", "build", "plain", "tinyplug:deploy"]


def test_a_frontmatter_name_that_differs_from_the_folder_shows_in_brackets_escaped():
    cat = load_catalog([], plugins=[TINY], version=VERSION)
    assert skills(cat)["tinyplug:deploy"].line == (
        '- tinyplug:deploy (tinyplug:deploy-it): Deploys the app. &lt;example&gt;user: "ship '
        'version 2 to production"&lt;/example&gt;'
    )
    assert skills(load_catalog([PROJECT / "agents"], version=VERSION))["helper"].line == (
        "- helper: A skill named like the agent."
    )


def test_a_project_skill_without_frontmatter_uses_its_first_body_line_and_is_flagged():
    cat = load_catalog([PROJECT / "agents"], version=VERSION)
    assert skills(cat)["nofm"].description == "First body line & &lt;b&gt;bold&lt;/b&gt;."
    assert skills(cat)["plain"].description == "Command without frontmatter."
    flagged = [d for d in cat.diagnostics if d.code == "skill-no-frontmatter"]
    assert [(d.path.parent.name, d.severity) for d in flagged] == [("nofm", "warning")]


def test_a_plugin_skill_or_command_without_frontmatter_is_not_listed_and_is_flagged():
    cat = load_catalog([], plugins=[TINY], version=VERSION)
    assert "tinyplug:notes" not in skills(cat) and "tinyplug:ship" not in skills(cat)
    flagged = sorted(d.path.name for d in cat.diagnostics if d.code == "skill-no-frontmatter")
    assert flagged == ["SKILL.md", "ship.md"]


def test_when_to_use_is_appended_and_a_long_description_is_cut_with_an_ellipsis():
    long = skills(load_catalog([PROJECT / "agents"], version=VERSION))["long"]
    assert long.text.endswith(" - at the end")
    assert len(long.description) == MAX_DESCRIPTION
    assert long.description == long.text[: MAX_DESCRIPTION - 1] + ELLIPSIS


def test_a_skill_and_an_agent_with_one_name_are_both_kept_with_an_info():
    cat = load_catalog([PROJECT / "agents"], version=VERSION)
    assert "helper" in cat.names
    assert "skill:helper" in cat.target_labels
    same = [d for d in cat.diagnostics if d.code == "skill-agent-same-name"]
    assert [(d.path.parent.name, d.severity) for d in same] == [("helper", "info")]


def test_the_skills_are_part_of_what_the_fingerprint_covers():
    cat = load_catalog([PROJECT / "agents"], version=VERSION)
    assert cat.fingerprint != replace(cat, skills=()).fingerprint


def test_a_lexical_run_routes_to_a_skill_and_scores_it_under_its_own_label(tmp_path):
    from conftest import run_config

    from agenteval.config import EvalConfig

    ds = tmp_path / "ds.yaml"
    ds.write_text(
        "cases:\n"
        "  - id: deploy\n    prompt: deploy the app to production\n    expected: skill:deploy\n"
        "  - id: as-agent\n    prompt: deploy the app to production\n"
        "    expected: tinyplug:whenonly\n"
    )
    outcome = run_config(
        EvalConfig(holdout="none", router={"backend": "lexical"}),
        plugins=(TINY,),
        datasets=(ds,),
        only=("skill:tinyplug:deploy", "tinyplug:whenonly"),
        out=str(tmp_path / "out"),
    )
    labels = {r.case.id: r.trial.label for r in outcome.rows}
    assert labels["ds/deploy"] == labels["ds/as-agent"] == "skill:tinyplug:deploy"
    assert "skill:tinyplug:deploy" in outcome.record.scorecard.labels
    assert "skill:tinyplug:deploy" in (outcome.run_dir / "report.md").read_text()


def test_the_record_lists_every_scored_label_so_a_later_report_scores_skills_alike(
    tmp_path: Path,
) -> None:
    from conftest import run_config

    from agenteval.config import EvalConfig
    from agenteval.pipeline.reading import scored_names
    from agenteval.record.store import read_results
    from agenteval.scoring.scorecard import score

    config = EvalConfig(
        name="skills",
        agents=[str(PROJECT / "agents")],
        plugins=[str(FIXTURES / "plugins" / "tinyplug")],
        out=str(tmp_path / "reports"),
    )
    outcome = run_config(config, backend="lexical")
    record = outcome.record
    skills = [a.name for a in record.catalog.agents if a.kind == "skill"]
    catalog = load_catalog([PROJECT / "agents"], plugins=[TINY])
    assert skills == [s.label for s in catalog.skills]
    # `report`, `merge` and `compare` score from the record's labels: the run's own, skills too
    routed = catalog.as_claude_code()
    assert record.catalog.names == list(scored_names(catalog, routed))
    rows = read_results(outcome.run_dir)
    card = score([r.trial for r in rows], record.catalog.names)
    by_name = {a.name: a for a in card.agents}
    assert by_name["skill:tinyplug:deploy"].support == 1  # its example case, scored as a skill


def write_plugin(root: Path, name: str, files: dict[str, str]) -> Path:
    folder = root / name
    (folder / ".claude-plugin").mkdir(parents=True)
    (folder / ".claude-plugin" / "plugin.json").write_text(f'{{"name": "{name}"}}')
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    return folder


def skill_file(description: str) -> str:
    return f"---\ndescription: {description}\n---\nBody.\n"


def test_plugin_commands_of_every_plugin_come_before_plugin_skills(tmp_path: Path) -> None:
    # measured on the wshobson marketplace: all plugins' commands, then all plugins' skills
    files = {"skills/s/SKILL.md": skill_file("A skill."), "commands/c.md": skill_file("A cmd.")}
    one, two = write_plugin(tmp_path, "one", files), write_plugin(tmp_path, "two", files)
    cat = load_catalog([], plugins=[one, two], version=VERSION)
    assert [s.name for s in cat.skills] == ["one:c", "two:c", "one:s", "two:s"]


def test_a_manifest_the_cli_refuses_leaves_the_plugin_out_and_says_why(tmp_path: Path) -> None:
    # measured: `"agents": ["./agents"]` fails the CLI's manifest check; the plugin is not loaded
    bad = write_plugin(tmp_path, "bad", {"agents/a.md": "---\nname: a\ndescription: A.\n---\n"})
    (bad / ".claude-plugin" / "plugin.json").write_text('{"name": "bad", "agents": ["./agents"]}')
    good = write_plugin(tmp_path, "good", {"agents/b.md": "---\nname: b\ndescription: B.\n---\n"})
    cat = load_catalog([], plugins=[bad, good], version=VERSION)
    assert cat.names == ("good:b",)
    (d,) = [d for d in cat.diagnostics if d.code == "plugin-invalid-manifest"]
    assert d.severity == "error" and d.path == bad / ".claude-plugin" / "plugin.json"
    assert "./agents" in d.message and ".md" in d.message


def skills_folder(tmp_path: Path, descriptions: list[int]) -> Path:
    agents = tmp_path / ".claude" / "agents"
    agents.mkdir(parents=True)
    for i, length in enumerate(descriptions):
        folder = tmp_path / ".claude" / "skills" / f"s{i:07d}"
        folder.mkdir(parents=True)
        (folder / "SKILL.md").write_text(skill_file("x" * length), encoding="utf-8")
    return agents


@pytest.mark.parametrize(
    ("descriptions", "in_full"),
    [  # measured on 2.1.332 (any model): the same counts from the real CLI
        ([200] * 200, 107),
        ([400] * 100, 56),
        ([100] * 200, 200),
        ([1200] * 19 + [866], 20),
        ([1200] * 19 + [867], 19),
        ([580] * 38 + [1379], 39),
        ([580] * 38 + [1380], 38),
    ],
)
def test_beyond_the_skill_lists_budget_skills_are_listed_by_name_only(
    tmp_path: Path, descriptions: list[int], in_full: int
) -> None:
    cat = load_catalog([skills_folder(tmp_path, descriptions)], version=VERSION)
    lines = [s.line for s in cat.skills]
    assert sum(": " in line for line in lines) == in_full
    assert all(": " in line for line in lines[:in_full])
    assert lines[in_full:] == [f"- {s.name}" for s in cat.skills[in_full:]]


def test_a_shorter_skill_after_one_past_the_budget_is_still_listed_in_full(tmp_path: Path) -> None:
    # measured on 2.1.332: the 20th (900 characters) does not fit, the 21st (10) still does
    cat = load_catalog([skills_folder(tmp_path, [1200] * 19 + [900, 10])], version=VERSION)
    assert [": " in s.line for s in cat.skills] == [True] * 19 + [False, True]
