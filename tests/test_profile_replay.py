"""The API router replaying the installed Claude Code's captured profile through the real SDK,
against the loopback stub: the request it sends equals what the CLI itself sent for the case;
with no CLI it falls back to `approximate` and says so; placements, fingerprints, estimates."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import claude_path
from click.testing import CliRunner
from stub_anthropic import Reply, StubAnthropic

from agenteval.cases import Case
from agenteval.claude_code_install import find_binary, locate
from agenteval.models.anthropic import AnthropicClient
from agenteval.routing import RouteRequest
from agenteval.routing.api import PromptRouter
from agenteval.routing.profiles.capture import capture_requests
from agenteval.routing.profiles.locate import capture_profile, differing_paths
from agenteval.routing.profiles.profile import ProfileStore
from agenteval.routing.profiles.source import PROBE, PROBE_SKILLS, ProfileSource
from agenteval.views import AgentView, CatalogView

KEY = "sk-ant-test-replay-0123456789abcdef"
AGENTS = (
    AgentView(name="frontend-dev", description="CSS and React.\nTwo lines", tools_text="Read"),
    AgentView(name="zz-last", description='Quotes " and colons: fine', tools_text="All tools"),
)
SKILLS = (  # in the CLI's order (`catalog.skills` reads them so)
    AgentView(name="a-first", description="Listed first.", tools_text="", kind="skill"),
    AgentView(name="release-notes", description="Notes &lt;b&gt;.", tools_text="", kind="skill"),
)
CASE = "please fix the flaky integration test in CI"


def case(prompt: str = CASE) -> Case:
    return Case(id="c1", prompt=prompt, expected=("zz-last",), origin="dataset", source="s")


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A profile store holding the CLI's profile for `sonnet` (captured with agenteval's probe
    agent), and what the CLI itself sent for CASE with AGENTS, in one scratch project path (the
    path is part of the request)."""
    root = tmp_path_factory.mktemp("replay")
    store = root / "profiles"
    cli = claude_path()
    asyncio.run(
        capture_profile(
            locate(cli),
            PROBE,
            alias="sonnet",
            store=ProfileStore(root=store),
            scratch_root=root,
            scratch_name="project",
            skills=PROBE_SKILLS,
        )
    )
    (actual,) = asyncio.run(
        capture_requests(
            cli, AGENTS, [CASE], model="sonnet", scratch_root=root, scratch_name="project"
        )
    )
    (skilled,) = asyncio.run(
        capture_requests(
            cli,
            AGENTS,
            [CASE],
            model="sonnet",
            scratch_root=root,
            scratch_name="project",
            skills=SKILLS,
        )
    )
    SKILLED_BODY.update({k: v for k, v in skilled.request.body.items() if k != "metadata"})
    body = {k: v for k, v in actual.request.body.items() if k != "metadata"}
    return store, body


def route(router: PromptRouter, request: RouteRequest) -> Any:
    async def go() -> Any:
        try:
            return await router.route(request)
        finally:
            await router.aclose()

    return asyncio.run(go())


def router_for(stub: StubAnthropic, store: Path, placement: str = "exact") -> PromptRouter:
    source = ProfileSource(
        find_binary(claude_path()),
        alias="sonnet",
        placement=placement,
        store=ProfileStore(root=store),
    )
    client = AnthropicClient(api_key=KEY, base_url=stub.base_url)
    router = PromptRouter(client, model="sonnet", profiles=source)
    router.prepare(lambda message: None)
    return router


def test_the_api_router_sends_what_the_cli_sent_for_the_case(
    stub: StubAnthropic, captured: tuple[Path, dict[str, Any]]
) -> None:
    store, actual = captured
    stub.responder = lambda req: Reply.tool(
        "Agent", {"description": "fix", "prompt": "Fix the flaky test", "subagent_type": "zz-last"}
    )
    router = router_for(stub, store)
    view = CatalogView(fold=None, agents=AGENTS)
    decision = route(router, RouteRequest(case=case(), view=view))
    assert decision.agent == "zz-last" and decision.task_prompt == "Fix the flaky test"
    sent = stub.requests[-1]
    assert "stream" not in sent.body  # one whole message back: the same answer
    differ = set(differing_paths(sent.body, {k: v for k, v in actual.items() if k != "stream"}))
    volatile = set(router.profiles.profile().volatile)  # type: ignore[union-attr]
    assert differ <= volatile, differ  # only the CLI's per-request billing line may differ
    assert len(json.dumps(sent.body)) > 20_000  # the real prompt, not a paraphrase
    assert sent.headers["anthropic-beta"] == router.profiles.profile().headers["anthropic-beta"]  # type: ignore[union-attr]
    described = router.describe()
    assert described["prompt"] == "claude-code" and described["profile"] in claude_version()
    assert described["alias_source"].startswith("Claude Code ")
    assert router.model == actual["model"]


SKILLED_BODY: dict[str, Any] = {}  # what the CLI sent for CASE with AGENTS and SKILLS


def test_the_catalogs_skills_are_laid_out_as_the_cli_lays_them_out(
    stub: StubAnthropic, captured: tuple[Path, dict[str, Any]]
) -> None:
    store, _ = captured
    stub.responder = lambda req: Reply.tool("Skill", {"skill": "release-notes"})
    router = router_for(stub, store)
    view = CatalogView(fold=None, agents=AGENTS, skills=SKILLS)
    decision = route(router, RouteRequest(case=case(), view=view))
    assert decision.agent == "skill:release-notes"
    sent = stub.requests[-1].body
    differ = set(differing_paths(sent, {k: v for k, v in SKILLED_BODY.items() if k != "stream"}))
    assert differ <= set(router.profiles.profile().volatile), differ  # type: ignore[union-attr]
    listed = json.dumps("- a-first: Listed first.\n- release-notes: Notes &lt;b&gt;.\n")
    assert listed[1:-1] in json.dumps(sent)


def claude_version() -> str:
    import subprocess

    return subprocess.run([claude_path(), "--version"], capture_output=True, text=True).stdout


def test_a_built_in_pick_is_none_with_its_name_kept(
    stub: StubAnthropic, captured: tuple[Path, dict[str, Any]]
) -> None:
    store, _ = captured
    router = router_for(stub, store)
    builtin = sorted(router.builtin_names)[0]
    stub.responder = lambda req: Reply.tool(
        "Agent", {"description": "x", "prompt": "y", "subagent_type": builtin}
    )
    view = CatalogView(fold=None, agents=AGENTS)
    decision = route(router, RouteRequest(case=case(), view=view))
    assert decision.agent is None and decision.raw == builtin


def test_placement_and_profile_are_in_the_fingerprint_and_cacheable_moves_the_list(
    stub: StubAnthropic, captured: tuple[Path, dict[str, Any]]
) -> None:
    store, _ = captured
    exact, cacheable = router_for(stub, store), router_for(stub, store, "cacheable")
    assert exact.fingerprint != cacheable.fingerprint
    view = CatalogView(fold=None, agents=AGENTS)
    request = RouteRequest(case=case(), view=view)
    moved = cacheable.chat_request(request).params()
    first = moved["messages"][0]["content"][0]
    assert "- zz-last: " in first["text"] and first["cache_control"] == {"type": "ephemeral"}
    assert cacheable.describe()["placement"] == "cacheable"
    approximate = PromptRouter(AnthropicClient(api_key=KEY, base_url=stub.base_url))
    assert approximate.fingerprint != exact.fingerprint
    # another view of the same shape: same profile, only the listing changed
    other = RouteRequest(case=case(), view=CatalogView(fold=1, agents=AGENTS[:1]))
    assert exact.request_key(other) != exact.request_key(request)


def test_without_a_cli_the_router_is_approximate_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(tmp_path / "no-such-claude"))
    router = PromptRouter.from_options({}, offline=True)
    described = router.describe()
    assert router.mode == "approximate" and described["profile"] == "approximate"
    assert "no-such-claude" in described["approximate_reason"]
    assert described["alias_source"].startswith("data/models.yaml")
    explicit = PromptRouter.from_options({"prompt": "approximate"}, offline=True)
    assert explicit.fingerprint == router.fingerprint  # one layout, whatever led to it


def test_estimate_prices_both_placements(
    demo_project: Path, captured: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agenteval.cli import main

    store, _ = captured
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    monkeypatch.setenv("AGENTEVAL_CACHE_DIR", str(store.parent))
    result = CliRunner().invoke(main, ["estimate", "--limit", "6"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = {ln.split(":", 1)[0]: ln for ln in result.output.splitlines() if ":" in ln}
    assert "placement exact" in lines and "placement cacheable" in lines, result.output
    exact = float(lines["placement exact"].rsplit("$", 1)[1].split()[0])
    cacheable = float(lines["placement cacheable"].rsplit("$", 1)[1].split()[0])
    assert cacheable < exact  # the listing is read from the cache instead of sent fresh
    assert "Claude Code" in result.output


def test_capture_command_stores_a_profile_and_says_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agenteval.cli import main
    from agenteval.routing.profiles.profile import cache_dir

    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    first = CliRunner().invoke(main, ["capture", "--model", "haiku"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "first profile of this model" in first.output and "haiku = claude-" in first.output
    (stored,) = (cache_dir() / "profiles").glob("*--haiku--agents.json")
    # an older CLI's profile of the same model is the one the next capture compares against
    old = ProfileStore(root=stored.parent).load(stored.name.split("--")[0], "haiku", "agents")
    assert old is not None
    older = dataclasses.replace(old, cli_version="2.1.0", body={**old.body, "max_tokens": 1000})
    ProfileStore(root=stored.parent).save(older)
    stored.unlink()
    again = CliRunner().invoke(main, ["capture", "--model", "haiku"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert f"2.1.0 → {old.cli_version}: max_tokens 1000 → {old.body['max_tokens']}" in again.output


def test_capture_without_a_cli_is_one_error_line_with_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agenteval.cli import main

    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(tmp_path / "missing"))
    result = CliRunner().invoke(main, ["capture"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: ") and "npm install" in line


def test_runs_record_and_say_which_prompt_they_used(
    demo_project: Path,
    stub: StubAnthropic,
    captured: tuple[Path, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agenteval.cli import main
    from agenteval.record.store import load_record, read_results

    runs = iter(range(100))

    def run(*args: str) -> Path:
        out = Path("reports") / f"run{next(runs)}"
        result = CliRunner().invoke(
            main, ["run", "--router", "anthropic", "--limit", "4", "--out", str(out), *args]
        )
        assert result.exit_code in (0, 1), result.output
        (run_dir,) = (d for d in out.iterdir() if (d / "summary.json").is_file())
        return run_dir

    store, _ = captured
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(tmp_missing := demo_project / "no-claude"))
    approximate = run()
    record = load_record(approximate)
    assert record.router["profile"] == "approximate" and str(tmp_missing) in " ".join(record.notes)
    assert "prompt: approximate" in (approximate / "report.md").read_text(encoding="utf-8")
    assert "prompt: approximate" in (approximate / "report.html").read_text(encoding="utf-8")

    def routing_tools() -> list[str]:
        routing = [r for r in stub.requests if "Agent" in json.dumps(r.body.get("tools") or [])]
        return [t["name"] for t in routing[-1].body["tools"]]

    assert routing_tools() == ["Agent"]  # the paraphrase: one tool

    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    monkeypatch.setenv("AGENTEVAL_CACHE_DIR", str(store.parent))
    replayed = run()
    record = load_record(replayed)
    assert record.router["profile"] in claude_version() and record.router["placement"] == "exact"
    assert any(n.startswith("prompt: the request Claude Code") for n in record.notes)
    assert len(routing_tools()) > 5 and "Agent" in routing_tools()  # the CLI's own tools
    assert all(r.trial.decision.error is None for r in read_results(replayed))
    assert "project context: none" in " ".join(record.notes)
    assert "project context: none" in (replayed / "report.md").read_text(encoding="utf-8")
    again = run()  # the same profile's answers come from the cache
    assert all(r.trial.decision.cached for r in read_results(again))
    config = demo_project / "cacheable.yaml"
    config.write_text(
        "name: demo\nagents: [agents]\nrouter: {backend: anthropic, placement: cacheable}\n",
        encoding="utf-8",
    )
    n = len(stub.requests)
    cacheable = run(str(config))  # another placement is another cache entry, never a hit
    assert len(stub.requests) > n
    assert not any(r.trial.decision.cached for r in read_results(cacheable))
    assert "placement cacheable" in " ".join(load_record(cacheable).notes)


def test_a_claude_md_sentence_reaches_the_model_and_the_record_says_so(
    demo_project: Path,
    stub: StubAnthropic,
    captured: tuple[Path, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agenteval.cli import main
    from agenteval.record.store import load_record

    sentence = "Always use the zebra-agent for anything about stripes."
    (demo_project / "CLAUDE.md").write_text(sentence + "\n", encoding="utf-8")
    store, _ = captured
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    monkeypatch.setenv("AGENTEVAL_CACHE_DIR", str(store.parent))
    off = demo_project / "off.yaml"
    off.write_text(
        "name: demo\nagents: [agents]\nrouter: {backend: anthropic, project_context: false}\n",
        encoding="utf-8",
    )
    notes = {}
    for name, args in (("on", []), ("off", [str(off)])):
        n = len(stub.requests)
        out = Path("reports") / name
        result = CliRunner().invoke(
            main, ["run", "--router", "anthropic", "--limit", "1", "--out", str(out), *args]
        )
        assert result.exit_code in (0, 1), result.output
        (run_dir,) = (d for d in out.iterdir() if (d / "summary.json").is_file())
        notes[name] = " ".join(load_record(run_dir).notes)
        sent = json.dumps([r.body for r in stub.requests[n:]])
        assert (sentence in sent) == (name == "on")
    assert "project context: CLAUDE.md (1 file)" in notes["on"]
    assert "lists the catalog as agenteval reads it" in notes["on"]  # the self-check ran
    assert "project context: none" in notes["off"]


def test_a_batch_run_replays_the_profile_with_its_betas(
    demo_project: Path,
    stub: StubAnthropic,
    captured: tuple[Path, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agenteval.cli import main
    from agenteval.record.store import read_results

    store, _ = captured
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    monkeypatch.setenv("AGENTEVAL_CACHE_DIR", str(store.parent))
    config = demo_project / "batch.yaml"
    config.write_text(
        "name: demo\nagents: [agents]\nbatch: true\nbatch_poll_s: 0.05\n"
        "router: {backend: anthropic}\nout: reports\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["run", str(config), "--limit", "3", "--plain", "--no-cache"])
    assert result.exit_code in (0, 1), result.output
    assert stub.batches_created == 1
    (create,) = [r for r in stub.requests if r.path.endswith("/batches") and r.method == "POST"]
    params = create.body["requests"][0]["params"]
    assert "stream" not in params and any(m["role"] == "system" for m in params["messages"])
    assert "context_management" in params  # the CLI's newer fields, as it sent them
    assert create.headers["anthropic-beta"]  # mid-conversation system messages need the beta
    (run_dir,) = (d for d in (demo_project / "reports").iterdir() if d.is_dir())
    rows = read_results(run_dir)
    assert len(rows) == 3 and all(r.trial.decision.error is None for r in rows)


def test_a_plugin_catalog_is_sent_as_the_cli_sends_it_with_the_plugin_loaded(
    stub: StubAnthropic, captured: tuple[Path, dict[str, Any]]
) -> None:
    from agenteval.catalog import load_catalog
    from agenteval.routing.cli_files import install_files
    from agenteval.views import Holdout, build_views

    store, _ = captured
    plugin = store.parent / "plugin-src" / "shipit"
    files = {
        ".claude-plugin/plugin.json": '{"name": "shipit", "version": "1.0.0"}',
        "agents/b-deployer.md": "---\nname: deployer\ndescription: Ships builds.\n---\nBody.\n",
        "agents/ops/a-pager.md": "---\nname: pager\ndescription: Pages.\ntools: Read\n---\n",
        "skills/rollback/SKILL.md": "---\nname: rollback\ndescription: Rolls back a deploy.\n---\n",
    }
    for rel, text in files.items():
        (plugin / rel).parent.mkdir(parents=True, exist_ok=True)
        (plugin / rel).write_text(text, encoding="utf-8")
    view = build_views(load_catalog([plugin]), Holdout()).by_fold[None]
    assert view.names == {"shipit:deployer", "shipit:ops:pager", "skill:shipit:rollback"}
    (actual,) = asyncio.run(
        capture_requests(
            claude_path(),
            (),
            [CASE],
            model="sonnet",
            scratch_root=store.parent,
            scratch_name="project",
            install=install_files(view),
        )
    )
    assert set(actual.listed) >= {"shipit:deployer", "shipit:ops:pager"}
    stub.responder = lambda req: Reply.tool(
        "Agent", {"description": "d", "prompt": "p", "subagent_type": "shipit:ops:pager"}
    )
    router = router_for(stub, store)
    decision = route(router, RouteRequest(case=case(), view=view))
    assert decision.agent == "shipit:ops:pager"
    cli_body = {k: v for k, v in actual.request.body.items() if k not in ("metadata", "stream")}
    differ = set(differing_paths(stub.requests[-1].body, cli_body))
    assert differ <= set(router.profiles.profile().volatile), differ  # type: ignore[union-attr]
