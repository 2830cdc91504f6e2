"""The user's project around the catalog in the captured profile (issue 18, item 3): the real CLI
2.1.332 runs against agenteval's loopback capture server in a scratch project holding the user's
CLAUDE.md files and a git repository with a fixed status; the replayed request then carries them
as the CLI sends them."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_support import claude_path

from agenteval.claude_code_install import locate
from agenteval.errors import RouterError
from agenteval.routing.api import PromptRouter
from agenteval.routing.profiles.capture import CaptureError, capture_requests
from agenteval.routing.profiles.listing import render_listing
from agenteval.routing.profiles.locate import capture_profile, differing_paths
from agenteval.routing.profiles.profile import Profile, ProfileStore, Slot, render
from agenteval.routing.profiles.project import (
    NO_CONTEXT,
    ProjectContext,
    read_project,
    write_project,
)
from agenteval.views import AgentView

SENTENCE = "Always use the zebra-agent for database migrations."
AGENTS = (AgentView(name="zebra-agent", description="Runs migrations.", tools_text="Read"),)
CASE = "please migrate the orders table"


def user_project(root: Path, *, git: bool = True) -> Path:
    """A user's project with both CLAUDE.md files and, if ``git``, a git repository."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "CLAUDE.md").write_text(f"# Team notes\n\n{SENTENCE}\n", encoding="utf-8")
    (root / ".claude").mkdir(exist_ok=True)
    (root / ".claude" / "CLAUDE.md").write_text("Prefer small commits.\n", encoding="utf-8")
    if git:
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def parts(body: dict[str, Any]) -> int:
    """System blocks plus the content blocks of every message."""
    system = body.get("system") or []
    return len(system) + sum(
        len(m["content"]) if isinstance(m["content"], list) else 1 for m in body["messages"]
    )


def body_of(capture: Any) -> dict[str, Any]:
    return {k: v for k, v in capture.request.body.items() if k != "metadata"}


@pytest.fixture(scope="module")
def with_context(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Profile, dict[str, Any], dict[str, Any]]:
    """A profile captured in the user's project context, what the CLI sent for CASE in that
    context, and what it sent for CASE with no context (one scratch project path for all)."""
    root = tmp_path_factory.mktemp("context")
    context = read_project(user_project(root / "user"))
    cli = claude_path()
    store = ProfileStore(root=root / "profiles")
    scratch = {"scratch_root": root / "scratch", "scratch_name": "project"}
    profile, _ = asyncio.run(
        capture_profile(locate(cli), AGENTS, store=store, context=context, **scratch)  # type: ignore[arg-type]
    )
    (actual,) = asyncio.run(capture_requests(cli, AGENTS, [CASE], context=context, **scratch))  # type: ignore[arg-type]
    (bare,) = asyncio.run(capture_requests(cli, AGENTS, [CASE], **scratch))  # type: ignore[arg-type]
    return profile, body_of(actual), body_of(bare)


def test_a_claude_md_sentence_reaches_the_replayed_request_as_the_cli_sends_it(
    with_context: tuple[Profile, dict[str, Any], dict[str, Any]],
) -> None:
    profile, actual, bare = with_context
    replay = render(profile, render_listing(AGENTS, profile.builtins), CASE)
    assert set(differing_paths(replay, actual)) <= set(profile.volatile)
    user_turn = [b["text"] for b in replay["messages"][0]["content"]]
    assert any(SENTENCE in t and t.startswith("<system-reminder>") for t in user_turn[:-1])
    assert SENTENCE not in json.dumps(bare)
    # the CLAUDE.md block and the git-status block: two parts more than without the context
    assert parts(replay) == parts(actual) == parts(bare) + 2
    assert profile.context == "CLAUDE.md (2 files), git"


def test_the_context_line_names_the_files_and_git(tmp_path: Path) -> None:
    assert read_project(user_project(tmp_path / "a")).describe() == "CLAUDE.md (2 files), git"
    assert read_project(tmp_path).describe() == "none"
    (tmp_path / "CLAUDE.md").write_text("x", encoding="utf-8")
    assert read_project(tmp_path).describe() == "CLAUDE.md (1 file)"
    assert NO_CONTEXT.describe() == "none" and NO_CONTEXT.digest == ""


def test_the_scratch_repository_has_a_fixed_clean_status(tmp_path: Path) -> None:
    context = read_project(user_project(tmp_path / "user"))
    heads = []
    for name in ("one", "two"):
        project = tmp_path / name
        project.mkdir()
        write_project(context, project)
        (project / ".claude" / "agents").mkdir(parents=True)
        (project / ".claude" / "agents" / "a.md").write_text("---\n---\n", encoding="utf-8")
        git = ["git", "-C", str(project)]
        status = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
        assert status.stdout == ""
        heads.append(subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True))
        copied = (project / "CLAUDE.md").read_bytes()
        assert copied == (tmp_path / "user" / "CLAUDE.md").read_bytes()
    assert heads[0].stdout == heads[1].stdout


def test_a_changed_claude_md_is_captured_again(tmp_path: Path) -> None:
    project = user_project(tmp_path / "user", git=False)
    before = read_project(project)
    (project / "CLAUDE.md").write_text("Use the yak-agent instead.\n", encoding="utf-8")
    after = read_project(project)
    assert before.digest != after.digest
    store = ProfileStore(root=tmp_path / "profiles")
    fake_cli = tmp_path / "claude"
    fake_cli.write_text("#!/bin/sh\necho '9.9.9 (Claude Code)'\n", encoding="utf-8")
    fake_cli.chmod(0o755)
    stored = Profile(
        cli_version="9.9.9",
        alias=None,
        model="m",
        shape="agents",
        body={},
        headers={},
        listing=Slot(path=("system", 0, "text"), start=0, end=1),
        request=Slot(path=("messages", 0, "content", 0, "text"), start=0, end=1),
        context=before.describe(),
        context_digest=before.digest,
    )
    store.save(stored)
    got, _ = asyncio.run(capture_profile(locate(fake_cli), AGENTS, store=store, context=before))
    assert got == stored
    with pytest.raises(CaptureError):  # the fake CLI cannot be captured: it was asked to
        asyncio.run(capture_profile(locate(fake_cli), AGENTS, store=store, context=after))


def test_project_context_is_a_validated_router_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    with pytest.raises(RouterError, match="project_context"):
        PromptRouter.from_options({"client": "mock", "project_context": "sometimes"})
    on = PromptRouter.from_options({"client": "mock"})
    off = PromptRouter.from_options({"client": "mock", "project_context": False})
    assert on.profiles is not None and off.profiles is not None
    assert on.profiles.context == read_project(tmp_path)
    assert off.profiles.context == ProjectContext()


INSTRUCTIONS = {  # path below the top folder -> its sentinel; `pkg` is the project
    "CLAUDE.md": "TOP-NOTE",
    "repo/.claude/CLAUDE.md": "REPO-DOT-NOTE",
    "repo/.claude/rules/sub/style.md": "REPO-RULE-NOTE",
    "repo/CLAUDE.local.md": "REPO-LOCAL-NOTE",
    "repo/pkg/CLAUDE.md": "PKG-NOTE",
    "repo/pkg/.claude/rules/tests.md": "PKG-RULE-NOTE",
    "repo/pkg/CLAUDE.local.md": "PKG-LOCAL-NOTE",
    "repo/pkg/child/CLAUDE.md": "CHILD-NOTE",  # below the project: not read at start
}


def sentinels_in(body: dict[str, Any]) -> list[str]:
    text = json.dumps(body)
    found = [(text.find(s), s) for s in INSTRUCTIONS.values() if s in text]
    return [s for _, s in sorted(found)]


def test_every_instruction_file_above_and_in_the_project_is_laid_out_as_the_cli_reads_it(
    tmp_path: Path,
) -> None:
    from agenteval.routing.cli_process import isolated_env, scratch
    from agenteval.routing.cli_stream import claude_args
    from agenteval.routing.profiles.capture import CAPTURE_KEY, CaptureServer

    top = tmp_path / "top"
    for rel, sentinel in INSTRUCTIONS.items():
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_text(f"{sentinel}: follow this.\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(top / "repo")], check=True)
    project = top / "repo" / "pkg"
    context = read_project(project)
    rels = {rel for rel, _ in context.files}
    assert {"../../CLAUDE.md", "../CLAUDE.local.md", "CLAUDE.local.md"} <= rels
    assert "child/CLAUDE.md" not in rels and context.git
    # what the CLI reads in the user's own folders...
    with CaptureServer() as server, scratch(tmp_path) as s:
        env = isolated_env(s, base_url=server.base_url, api_key=CAPTURE_KEY)
        done = subprocess.run(
            claude_args(claude_path(), CASE, None), cwd=project, env=env, capture_output=True
        )
        assert done.returncode == 0, done.stderr[-2000:]
        direct = sentinels_in(dict(server.messages[0].body or {}))
    assert direct == [s for s in INSTRUCTIONS.values() if s != "CHILD-NOTE"]
    # ...is what it reads in the scratch project, in the same order
    (laid_out,) = asyncio.run(capture_requests(claude_path(), AGENTS, [CASE], context=context))
    assert sentinels_in(body_of(laid_out)) == direct
