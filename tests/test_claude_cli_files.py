"""The claude-cli router's scratch project holds the user's own agent files, byte for byte at
their relative paths; a holdout fold cuts only the held-out `<example>` spans from the raw text."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from cli_support import claude_path, delegating_reply
from test_claude_cli import KEY, router

from agenteval.cases import Case
from agenteval.catalog import load_catalog
from agenteval.routing import Decision, RouteRequest
from agenteval.routing.claude_cli import ClaudeCliRouter
from agenteval.routing.cli_files import write_install
from agenteval.routing.cli_process import agent_file_text
from agenteval.routing.profiles.capture import CaptureServer, Events
from agenteval.views import CatalogView, Holdout, build_views

REVIEWER = """---
name: reviewer
description: |
  Reviews code.
  <example>
  user: "check my diff"
  assistant: "I'll use the reviewer agent."
  </example>
  <example>
  user: "is this PR ok"
  assistant: "Launching the reviewer agent."
  </example>
tools: Read, Grep
---
You review code.
"""
WRITER = """---
name: writer
description: Writes docs.   # a comment the CLI drops
---
You write.
"""
# The held-out example holds `\\"`, which the recovered description reads as `"`: its text
# cannot be found in the raw file as it stands.
ESCAPED = """---
name: documenter
description: "Documents APIs. <example>user: \\"document the API\\"</example> \
<example>user: \\"write the README\\"</example>"
---
You document.
"""
# A leading blank line: agenteval's reading still finds the agent, Claude Code skips the file.
BLANK_FIRST = "\n" + WRITER.replace("writer", "blank-first")


def write_user_agents(view: CatalogView, agents_dir: Path) -> tuple[str, ...]:
    """Lay the view out in a scratch folder; its agent files are copied to ``agents_dir``."""
    root = agents_dir.parent / f"{agents_dir.name}-scratch"
    notes = write_install(view, root).notes
    shutil.copytree(root / "project" / ".claude" / "agents", agents_dir, dirs_exist_ok=True)
    return notes


def catalog_folder(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "agents"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(text.encode("utf-8"))
    return root


def example_cases(names: tuple[str, ...]) -> list[Case]:
    return [
        Case(
            id=f"{name}-{i}",
            prompt=f"{name} {i}",
            expected=(name,),
            origin="example",
            source="t",
            agent=name,
            example_index=i,
        )
        for name in names
        for i in (1, 2)
    ]


def test_the_users_files_are_copied_byte_for_byte_at_their_relative_paths(
    tmp_path: Path,
) -> None:
    files = {"team/reviewer.md": REVIEWER, "writer.md": WRITER}
    root = catalog_folder(tmp_path, files)
    view = build_views(load_catalog([root]), Holdout()).by_fold[None]
    out = tmp_path / "project" / ".claude" / "agents"
    assert write_user_agents(view, out) == ()
    written = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.md")}
    assert written == {rel: text.encode("utf-8") for rel, text in files.items()}


def test_a_holdout_fold_cuts_only_the_held_out_example_from_the_raw_text(tmp_path: Path) -> None:
    root = catalog_folder(tmp_path, {"team/reviewer.md": REVIEWER})
    views = build_views(load_catalog([root]), Holdout(k=2), example_cases(("reviewer",)))
    blocks = {
        "check my diff": '<example>\n  user: "check my diff"\n  assistant: "I\'ll use the '
        'reviewer agent."\n  </example>',
        "is this PR ok": '<example>\n  user: "is this PR ok"\n  assistant: "Launching the '
        'reviewer agent."\n  </example>',
    }
    seen = set()
    for fold in (f for f in views.by_fold if f is not None):
        view = views.by_fold[fold]
        (held,) = [u for u in blocks if u not in view.agents[0].description]
        out = tmp_path / f"fold{fold}"
        assert write_user_agents(view, out) == ()
        assert (out / "team" / "reviewer.md").read_text(encoding="utf-8") == REVIEWER.replace(
            blocks[held], ""
        )
        seen.add(held)
    assert seen == set(blocks)  # both folds, one example each


def test_a_held_out_span_not_found_in_the_raw_text_falls_back_and_says_so(
    tmp_path: Path,
) -> None:
    root = catalog_folder(tmp_path, {"documenter.md": ESCAPED})
    views = build_views(load_catalog([root]), Holdout(k=2), example_cases(("documenter",)))
    view = next(v for f, v in views.by_fold.items() if f is not None)
    out = tmp_path / "out"
    notes = write_user_agents(view, out)
    assert len(notes) == 1 and "documenter.md" in notes[0] and "agenteval's reading" in notes[0]
    assert (out / "documenter.md").read_text(encoding="utf-8") == agent_file_text(view.agents[0])


def test_the_router_scores_what_the_cli_lists_not_agentevals_reading(tmp_path: Path) -> None:
    root = catalog_folder(tmp_path, {"blank-first.md": BLANK_FIRST, "writer.md": WRITER})
    view = build_views(load_catalog([root]), Holdout()).by_fold[None]
    assert view.names == {"blank-first", "writer"}  # the emulated reading lists both
    table = {"write the changelog": "blank-first", "write the docs": "writer"}

    def reply(body: dict[str, Any]) -> Events:
        """Delegate as `table` says, but only to an agent the request lists."""
        text = json.dumps(body)
        return delegating_reply({p: a for p, a in table.items() if f"- {a}: " in text})(body)

    with CaptureServer(reply=reply) as server:
        r = ClaudeCliRouter(
            api_key=KEY, claude=claude_path(), base_url=server.base_url, scratch_dir=tmp_path / "s"
        )
        r.prepare(lambda message: None)

        def route(prompt: str) -> Decision:
            expected = (table[prompt],)
            case = Case(id=prompt, prompt=prompt, expected=expected, origin="dataset", source="t")
            return asyncio.run(r.route(RouteRequest(case=case, view=view)))

        skipped, read = route("write the changelog"), route("write the docs")
    assert skipped.error is None and skipped.agent is None, skipped  # the CLI skipped the file
    assert read.error is None and read.agent == "writer", read


def test_a_hand_built_view_is_written_as_agentevals_reading(tmp_path: Path) -> None:
    from test_claude_cli import VIEW

    assert isinstance(VIEW, CatalogView)
    assert write_user_agents(VIEW, tmp_path) == ()
    texts = sorted(p.read_text(encoding="utf-8") for p in tmp_path.glob("*.md"))
    assert texts == sorted(agent_file_text(a) for a in VIEW.agents)


FIXTURES = Path(__file__).parent / "fixtures"
PROJECT_AGENTS = FIXTURES / "skills" / "project" / ".claude" / "agents"
TINYPLUG = FIXTURES / "plugins" / "tinyplug"
INSTALLED = {
    "use the project skill": "skill:helper",
    "run the plugin skill": "skill:tinyplug:deploy",
    "migrate with the nested alpha": "tinyplug:sub:alpha",
    "ask the project agent": "helper",
    "make a chart": "skill:dataviz",  # a skill the CLI brings, not the catalog
}


def route_installed(
    tmp_path: Path, view: CatalogView, table: dict[str, str], **options: Any
) -> tuple[dict[str, Decision], list[dict[str, Any]]]:
    with CaptureServer(reply=delegating_reply(table)) as server:
        r = router(server, tmp_path, **options)

        def route(prompt: str) -> Decision:
            case = Case(id=prompt, prompt=prompt, expected=("x",), origin="dataset", source="t")
            return asyncio.run(r.route(RouteRequest(case=case, view=view)))

        decisions = {p: route(p) for p in table}
        sent = [dict(m.body or {}) for m in server.messages]
    return decisions, sent


def test_plugins_skills_and_commands_are_installed_and_a_skill_call_ends_the_case(
    tmp_path: Path,
) -> None:
    catalog = load_catalog([PROJECT_AGENTS], plugins=[TINYPLUG])
    view = build_views(catalog, Holdout()).by_fold[None]
    decisions, sent = route_installed(tmp_path, view, INSTALLED)
    for prompt, label in INSTALLED.items():
        d = decisions[prompt]
        assert d.error is None, d.error
        if label == "skill:dataviz":
            assert d.agent is None and "dataviz (not in the catalog)" in d.rationale
        else:
            assert d.agent == label
    assert decisions["use the project skill"].task_prompt == "use the project skill"
    assert len(sent) == len(INSTALLED)  # the hook held every Agent and Skill call
    text = json.dumps(sent[0], ensure_ascii=False)
    assert catalog.claude_code is not None
    for agent in catalog.claude_code.agents:  # (a generic description is the CLI's own text)
        shown = f"- {agent.name}: " if "(no description;" in agent.line else agent.line
        assert json.dumps(shown, ensure_ascii=False)[1:-1] in text, agent.name
    for skill in catalog.skills:  # every skill and command, plugin ones by their full name
        assert json.dumps(skill.line, ensure_ascii=False)[1:-1] in text, skill.name


def test_a_holdout_fold_cuts_a_skills_example_from_its_raw_file(tmp_path: Path) -> None:
    project = tmp_path / "p" / ".claude"
    skill = (
        "---\nname: notes\ndescription: |\n  Writes release notes.\n"
        '  <example>\n  user: "notes for v2"\n  </example>\n'
        '  <example>\n  user: "changelog please"\n  </example>\n---\nBody.\n'
    )
    (project / "skills" / "notes").mkdir(parents=True)
    (project / "skills" / "notes" / "SKILL.md").write_text(skill, encoding="utf-8")
    (project / "agents").mkdir()
    (project / "agents" / "writer.md").write_text(WRITER, encoding="utf-8")
    catalog = load_catalog([project / "agents"])
    cases = [
        Case(
            id=f"n{i}",
            prompt=f"n{i}",
            expected=("skill:notes",),
            origin="example",
            source="t",
            agent="skill:notes",
            example_index=i,
        )
        for i in (1, 2)
    ]
    views = build_views(catalog, Holdout(k=2), cases)
    cut = set()
    for fold, view in views.by_fold.items():
        if fold is None:
            continue
        install = write_install(view, tmp_path / f"f{fold}")
        assert install.notes == ()
        text = (tmp_path / f"f{fold}/project/.claude/skills/notes/SKILL.md").read_text()
        held = [u for u in ('"notes for v2"', '"changelog please"') if u not in text]
        assert len(held) == 1 and text.startswith("---\nname: notes\n")
        cut.update(held)
    assert cut == {'"notes for v2"', '"changelog please"'}


def test_the_projects_claude_md_reaches_the_clis_request(tmp_path: Path) -> None:
    from agenteval.routing.profiles.project import ProjectContext

    rule = "Always use the helper agent for questions about widgets."
    context = ProjectContext(files=(("CLAUDE.md", rule.encode()),), git=True)
    view = build_views(load_catalog([PROJECT_AGENTS]), Holdout()).by_fold[None]
    _, sent = route_installed(tmp_path, view, {"widgets?": "helper"}, context=context)
    text = json.dumps(sent[0], ensure_ascii=False)
    assert rule in text and "Is a git repository: true" in text
    _, bare = route_installed(tmp_path, view, {"widgets?": "helper"})
    assert rule not in json.dumps(bare[0], ensure_ascii=False)
