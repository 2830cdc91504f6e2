"""The claude-cli router: the real Claude Code CLI, headless, against a loopback server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import ErrorServer, claude_path, delegating_reply, processes_mentioning
from conftest import run_config
from stub_anthropic import Reply, StubAnthropic, StubRequest, count_input_tokens
from stub_anthropic import _output_tokens as stub_output_tokens

from agenteval.cases import Case
from agenteval.claude_code_install import find_binary
from agenteval.config import EvalConfig, RouterConfig
from agenteval.errors import RouterError
from agenteval.models.client import FatalModelError
from agenteval.record.store import read_results
from agenteval.routing import Decision, RouteRequest, make_router
from agenteval.routing.claude_cli import ClaudeCliRouter
from agenteval.routing.cli_process import (
    agent_file_text,
    isolated_env,
    remove_stale,
    scratch,
    write_agent_files,
    write_hold_hook,
)
from agenteval.routing.cli_stream import StreamReader, claude_args, run_claude
from agenteval.routing.picks import Pick
from agenteval.routing.profiles.capture import CaptureServer
from agenteval.routing.profiles.locate import differing_paths
from agenteval.views import AgentView, CatalogView

KEY = "sk-ant-test-claude-cli-SECRET-0123456789"
VIEW = CatalogView(
    fold=None,
    agents=(
        AgentView(
            name="frontend-dev",
            description="Use for CSS and React work.\n<example>user: fix the navbar</example>",
            tools_text="Read, Edit",
        ),
        AgentView(
            name="db-architect",
            description='Schemas, "migrations" --- and indexes: all of it',
            tools_text="All tools except Bash",
        ),
        AgentView(name="code-reviewer", description="Reviews diffs.", tools_text="All tools"),
    ),
)
TABLE = {
    "fix the flexbox gap on the landing page": "frontend-dev",
    "add an index to the orders table": "db-architect",
    "review my last commit": "code-reviewer",
    "what is 2 + 2?": None,
    "find where the config is loaded": "Explore",
}


def case(prompt: str, i: int = 0) -> Case:
    expected = TABLE.get(prompt) or "none"
    return Case(id=f"c{i}", prompt=prompt, expected=(expected,), origin="dataset", source="t")


def router(
    server: CaptureServer, tmp_path: Path, key: str = KEY, **options: object
) -> ClaudeCliRouter:
    r = ClaudeCliRouter(
        api_key=key,
        claude=claude_path(),
        base_url=server.base_url,
        scratch_dir=tmp_path / "scratch",
        **options,  # type: ignore[arg-type]
    )
    r.prepare(lambda message: None)
    return r


def test_routes_each_case_to_what_the_server_told_it(tmp_path: Path) -> None:
    with CaptureServer(reply=delegating_reply(TABLE)) as server:
        r = router(server, tmp_path)

        async def run_all() -> list:
            return await asyncio.gather(
                *(r.route(RouteRequest(case=case(p, i), view=VIEW)) for i, p in enumerate(TABLE))
            )

        decisions = dict(zip(TABLE, asyncio.run(run_all()), strict=True))
        time.sleep(1)  # a subagent or follow-up request the CLI started would arrive by now
        sent = server.messages
    for prompt, agent in TABLE.items():
        d = decisions[prompt]
        assert d.error is None, d.error
        if agent is None:
            assert d.agent is None and "myself" in d.rationale
        elif agent == "Explore":  # a built-in took it: none, with its name kept
            assert d.agent is None and json.loads(d.raw)["subagent_type"] == "Explore"
        else:
            assert d.agent == agent
            assert d.task_prompt == f"Handle for the user: {prompt}"
            assert json.loads(d.raw)["prompt"] == d.task_prompt
        assert d.usage.input_tokens > 0
    # every case's request reached the server with the whole view listed, as the CLI read it
    assert len(sent) == len(TABLE)  # one request per case: the hook held every delegation
    for m in sent:
        text = json.dumps(m.body)
        for a in VIEW.agents:
            assert json.dumps(f"- {a.name}: {a.description} (Tools: {a.tools_text})")[1:-1] in text


def test_the_hold_hook_leaves_the_routing_request_unchanged(tmp_path: Path) -> None:
    cli = claude_path()

    async def body(hook: bool) -> dict:
        with CaptureServer(reply=delegating_reply(TABLE)) as server:
            with scratch(tmp_path, name="same") as s:
                write_agent_files(VIEW.agents, s.agents_dir)
                if hook:
                    write_hold_hook(s)
                env = isolated_env(s, base_url=server.base_url, api_key=KEY)
                args = claude_args(cli, "review my last commit", None)
                out = await run_claude(args, cwd=s.project, env=env, deadline_s=60)
            assert out.delegation is not None and out.delegation.label == "code-reviewer"
            return {k: v for k, v in server.messages[0].body.items() if k != "metadata"}

    with_hook, without = asyncio.run(body(True)), asyncio.run(body(False))
    assert list(differing_paths(with_hook, without)) == []


def test_registered_as_claude_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    r = make_router("claude-cli", {"model": "haiku", "timeout_s": 12})
    assert isinstance(r, ClaudeCliRouter)
    r.prepare(lambda message: None)
    assert r.describe()["cli_version"] == r.cli_version
    assert r.deadline_s == 12 and r.alias == "haiku"
    other = make_router("claude-cli", {"model": "sonnet"})
    assert isinstance(other, ClaudeCliRouter)
    other.prepare(lambda message: None)
    assert other.fingerprint != r.fingerprint


def test_needs_a_key_and_an_executable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    with pytest.raises(RouterError, match="ANTHROPIC_API_KEY is not set"):
        ClaudeCliRouter.from_options({})
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(tmp_path / "nope"))
    with pytest.raises(RouterError, match=r"AGENTEVAL_CLAUDE = .*nope is not an executable") as e:
        find_binary()
    assert "npm install --prefix .tools" in str(e.value)


def test_a_hung_cli_is_killed_at_the_deadline_with_no_process_left(tmp_path: Path) -> None:
    with CaptureServer(latency_s=60) as server:
        r = router(server, tmp_path, deadline_s=8)  # time enough to reach the server under load
        start = time.perf_counter()
        d = asyncio.run(r.route(RouteRequest(case=case("review my last commit"), view=VIEW)))
        took = time.perf_counter() - start
        assert server.messages, "the CLI never reached the server: the test proves nothing"
    assert d.error is not None and "8 s deadline" in d.error
    assert took < 20
    time.sleep(0.2)
    assert processes_mentioning(str(tmp_path / "scratch")) == []


def test_a_refused_key_stops_the_run_at_once_instead_of_the_clis_ten_retries(
    tmp_path: Path,
) -> None:
    with ErrorServer(401, "authentication_error") as server:
        r = router(server, tmp_path)  # type: ignore[arg-type]
        start = time.perf_counter()
        with pytest.raises(FatalModelError, match="HTTP 401"):
            asyncio.run(r.route(RouteRequest(case=case("review my last commit"), view=VIEW)))
        assert time.perf_counter() - start < 30  # the CLI alone would back off for minutes
        assert 1 <= server.posts <= 3


def test_a_bad_request_is_an_error_on_that_case(tmp_path: Path) -> None:
    with ErrorServer(400, "invalid_request_error") as server:
        r = router(server, tmp_path)  # type: ignore[arg-type]
        d = asyncio.run(r.route(RouteRequest(case=case("review my last commit"), view=VIEW)))
    assert d.error is not None and d.agent is None, d
    assert "claude ended with" in d.error and "refused by the test server" in d.error


def test_overloads_the_cli_retries_end_as_an_error_on_that_case(tmp_path: Path) -> None:
    with ErrorServer(529, "overloaded_error") as server:
        r = router(server, tmp_path, deadline_s=30)  # type: ignore[arg-type]
        seen: list[int] = []
        r.on_overload(lambda: seen.append(1))
        d = asyncio.run(r.route(RouteRequest(case=case("review my last commit"), view=VIEW)))
    # the CLI gives up on repeated 529s well before the deadline: its error, not a kill, ends it
    assert (d.error or "").startswith("claude ended with api_error (HTTP 529)"), d
    assert len(seen) >= 1 and server.posts >= 2


def test_the_api_key_appears_in_no_file_written(tmp_path: Path) -> None:
    with CaptureServer(reply=delegating_reply(TABLE)) as server:
        r = router(server, tmp_path, keep_scratch=True)
        d = asyncio.run(r.route(RouteRequest(case=case("what is 2 + 2?"), view=VIEW)))
        assert server.messages[0].headers.keys() <= {"anthropic-beta", "anthropic-version"}
    assert d.error is None
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == ".claude.json" for p in written), "the CLI wrote nothing: no proof"
    for path in written:
        data = path.read_bytes()
        assert KEY.encode() not in data and KEY[-20:].encode() not in data, path


def test_agent_files_keep_frontmatter_breakers_inside_strings() -> None:
    text = agent_file_text(VIEW.agents[1])
    frontmatter = text.split("---\n")[1]
    assert "---" not in frontmatter.replace("\\x2d", "")
    assert text.count("\n---\n") == 1 and text.startswith("---\n")
    assert 'disallowedTools: "Bash"' in text


def test_stream_reader_stops_at_the_first_delegation_and_counts_usage_once() -> None:
    reader = StreamReader()
    init = {"type": "system", "subtype": "init", "model": "m-1", "agents": ["a", "Explore"]}
    usage = {"input_tokens": 100, "output_tokens": 3, "cache_read_input_tokens": 7}
    text = {"type": "text", "text": "Let me delegate."}
    tool = {
        "type": "tool_use",
        "name": "Agent",
        "input": {"subagent_type": "a", "prompt": "do X", "description": "x"},
    }
    events = [
        init,
        {"type": "assistant", "message": {"id": "m1", "content": [text], "usage": usage}},
        {"type": "assistant", "message": {"id": "m1", "content": [tool], "usage": usage}},
    ]
    assert [reader.feed(e) for e in events] == [False, False, True]
    assert reader.delegation == Pick(label="a", prompt="do X", description="x", tool="Agent")
    assert reader.usage.input_tokens == 100 and reader.usage.cache_read_tokens == 7
    assert reader.listed == ("a", "Explore") and reader.model == "m-1"


def test_stream_reader_stops_at_a_skill_call_and_names_the_skill_apart_from_agents() -> None:
    reader = StreamReader()
    tool = {"type": "tool_use", "name": "Skill", "input": {"skill": "release-notes", "args": "v2"}}
    message = {"id": "m1", "content": [tool], "usage": {"input_tokens": 10}}
    assert reader.feed({"type": "assistant", "message": message}) is True
    assert reader.delegation == Pick(label="skill:release-notes", prompt="v2", tool="Skill")


def test_stream_reader_reports_a_failed_result() -> None:
    reader = StreamReader()
    failed = {
        "type": "result",
        "subtype": "success",
        "is_error": True,
        "terminal_reason": "api_error",
        "api_error_status": 401,
        "result": "Invalid API key",
        "total_cost_usd": 0,
    }
    assert reader.feed(failed)
    assert reader.error is not None and "api_error (HTTP 401): Invalid API key" in reader.error
    ok = StreamReader()
    assert ok.feed({"type": "result", "subtype": "success", "result": "4", "total_cost_usd": 0.5})
    assert ok.error is None and ok.delegation is None and ok.cost_usd == 0.5


AGENT_FILE = """---
name: {name}
description: {description}
tools: Read, Edit
---
You are {name}.
"""
DATASET = """cases:
  - id: css
    prompt: "fix the flexbox gap on the landing page"
    expected: frontend-dev
  - id: index
    prompt: "add an index to the orders table"
    expected: db-architect
  - id: math
    prompt: "what is 2 + 2?"
    expected: none
  - id: explore
    prompt: "find where the config is loaded"
    expected: none
"""


def project(tmp_path: Path) -> EvalConfig:
    agents = tmp_path / "agents"
    agents.mkdir()
    for name, text in (("frontend-dev", "CSS and React work."), ("db-architect", "Schemas.")):
        (agents / f"{name}.md").write_text(AGENT_FILE.format(name=name, description=text))
    (tmp_path / "cases.yaml").write_text(DATASET, encoding="utf-8")
    return EvalConfig(
        name="cli",
        agents=[str(agents)],
        datasets=[str(tmp_path / "cases.yaml")],
        examples=False,
        cache=False,  # so a resume can only skip a case by knowing it is done
        concurrency=2,
        out=str(tmp_path / "reports"),
    )


def test_a_pipeline_run_and_its_resume_start_no_process_for_finished_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    with CaptureServer(reply=delegating_reply(TABLE)) as server:
        config = project(tmp_path)
        router_config = RouterConfig(backend="claude-cli", base_url=server.base_url)
        config = config.model_copy(update={"router": router_config})
        first = run_config(config)
        assert first.record.status == "complete", first.record.stopped_reason
        labels = {
            r.trial.case_id.removeprefix("cases/"): r.trial.label
            for r in read_results(first.run_dir)
        }
        assert labels == {
            "css": "frontend-dev",
            "index": "db-architect",
            "math": "none",
            "explore": "none",
        }
        assert len(server.messages) == 4
        # as if killed after two cases: resume runs the other two only
        results = first.run_dir / "results.jsonl"
        lines = results.read_text(encoding="utf-8").splitlines(keepends=True)
        results.write_text("".join(lines[:2]), encoding="utf-8")
        again = run_config(config, resume=first.run_dir)
        assert again.record.status == "complete"
        assert len(server.messages) == 6
        assert len(read_results(first.run_dir)) == 4
    assert again.record.router["backend"] == "claude-cli"
    assert again.record.router["cli_version"] == again.record.versions["claude-code"]
    notes = " ".join(first.record.notes)
    version = again.record.router["cli_version"]
    assert f"prompt: Claude Code {version} itself" in notes and "project context: none" in notes
    assert "lists the catalog as agenteval reads it" in notes  # the self-check ran


def test_the_project_context_is_read_from_the_project_and_can_be_switched_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "CLAUDE.md").write_text("Use db-architect for SQL.\n", encoding="utf-8")
    on = ClaudeCliRouter.from_options({"claude": str(claude_path())})
    off = ClaudeCliRouter.from_options({"claude": str(claude_path()), "project_context": False})
    assert on.context.files == (("CLAUDE.md", b"Use db-architect for SQL.\n"),)
    assert off.context.empty
    on.prepare(lambda message: None)
    off.prepare(lambda message: None)
    assert on.describe()["project_context"] == "CLAUDE.md (1 file)"
    assert off.describe()["project_context"] == "none"
    assert on.fingerprint != off.fingerprint  # cached answers are not shared between them


def test_the_budget_holds_for_claude_cli_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    with CaptureServer(reply=delegating_reply(TABLE)) as server:
        r = router(server, tmp_path)
        request = RouteRequest(case=case("fix the flexbox gap on the landing page"), view=VIEW)
        bound = asyncio.run(r.cost_bound(request))
        decision = asyncio.run(r.route(request))
        assert bound is not None and decision.cost_usd is not None
        assert bound >= decision.cost_usd > 0  # the reservation covers what the case cost
        # the bound follows the request the CLI lays out: a longer request, a larger bound
        longer = RouteRequest(case=case("fix the flexbox gap " * 400), view=VIEW)
        assert asyncio.run(r.cost_bound(longer)) > bound
        messages_before = len(server.messages)
        base = project(tmp_path).model_copy(
            update={"router": RouterConfig(backend="claude-cli", base_url=server.base_url)}
        )
        # below one case's worst case: no process starts, and the run says why
        poor = run_config(base, max_cost_usd=bound / 10)
        assert poor.record.status != "complete"
        assert "budget" in (poor.record.stopped_reason or "")
        assert len(server.messages) == messages_before
        assert read_results(poor.run_dir) == []
        # room for one worst case at a time: every case runs, and the spend stays inside
        enough = run_config(
            base.model_copy(update={"out": str(tmp_path / "r2")}), max_cost_usd=bound * 1.5
        )
        assert enough.record.status == "complete", enough.record.stopped_reason
        assert 0 < (enough.record.cost_usd or 0) <= bound * 1.5


def processes_holding(secret: str) -> list[int]:
    """Live processes (not this one) whose environment holds ``secret``."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            with contextlib.suppress(OSError):
                if secret.encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
    return found


def test_no_process_outlives_a_case_at_concurrency_16(tmp_path: Path) -> None:
    prompts = [p for p, agent in TABLE.items() if agent in VIEW.names]
    key = f"{KEY}-{uuid.uuid4().hex}"  # this test's alone: other runs on the machine use KEY
    with CaptureServer(reply=delegating_reply(TABLE)) as server:
        r = router(server, tmp_path, key)
        limit = asyncio.Semaphore(16)

        async def one(i: int) -> Decision:
            async with limit:
                request = RouteRequest(case=case(prompts[i % len(prompts)], i), view=VIEW)
                return await r.route(request)

        async def run_all() -> list[Decision]:
            return await asyncio.gather(*(one(i) for i in range(32)))

        decisions = asyncio.run(run_all())
        assert len(server.messages) == 32  # every case reached its delegation, held by the hook
    assert [d.error for d in decisions if d.error] == []
    assert {d.agent for d in decisions} == set(VIEW.names)
    time.sleep(0.5)
    assert processes_mentioning(str(tmp_path / "scratch")) == []
    assert processes_holding(key) == []
    assert list((tmp_path / "scratch").iterdir()) == []


ROUTE_IN_A_CHILD = """
import asyncio, sys
from pathlib import Path
from test_claude_cli import VIEW, case
from agenteval.routing import RouteRequest
from agenteval.routing.claude_cli import ClaudeCliRouter

r = ClaudeCliRouter(api_key=sys.argv[1], claude=sys.argv[2], base_url=sys.argv[3],
                    scratch_dir=Path(sys.argv[4]))
r.prepare(lambda message: None)

async def main():
    requests = [RouteRequest(case=case("review my last commit", i), view=VIEW) for i in range(4)]
    await asyncio.gather(*(r.route(q) for q in requests))

asyncio.run(main())
"""


def killed_run(tmp_path: Path, sig: signal.Signals) -> tuple[str, Path]:
    """Start four cases in a child agenteval, kill it with ``sig`` once they reached the API."""
    key, folder = f"{KEY}-{uuid.uuid4().hex}", tmp_path / "scratch"
    with CaptureServer(latency_s=120) as server:
        args = [key, str(claude_path()), server.base_url, str(folder)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        child = subprocess.Popen([sys.executable, "-c", ROUTE_IN_A_CHILD, *args], env=env)
        deadline = time.monotonic() + 60
        while len(server.messages) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(server.messages) == 4, "the cases never reached the server: no proof"
        child.send_signal(sig)
        child.wait(timeout=30)
        time.sleep(0.5)
    return key, folder


def test_sigterm_of_a_run_kills_its_cli_processes_and_removes_its_scratch(tmp_path: Path) -> None:
    key, folder = killed_run(tmp_path, signal.SIGTERM)
    assert processes_holding(key) == []
    assert list(folder.iterdir()) == []


def test_sigkill_of_a_run_kills_its_cli_processes_and_the_next_run_removes_its_scratch(
    tmp_path: Path,
) -> None:
    key, folder = killed_run(tmp_path, signal.SIGKILL)
    assert processes_holding(key) == []
    left = list(folder.iterdir())
    assert len(left) == 4  # nothing could clean up after a SIGKILL
    assert sorted(remove_stale(folder)) == sorted(left)
    assert list(folder.iterdir()) == []


def tool_calls_then_delegation(served: list[tuple[int, int]]) -> Callable[[StubRequest], Reply]:
    """Three tool calls of about 8,000 output tokens each, then the Agent call; ``served``
    gets the (input, output) tokens the stub billed, per request."""

    def respond(req: StubRequest) -> Reply:
        turn = sum(m["role"] == "assistant" for m in req.body["messages"])
        if turn < 3:
            read = {"type": "tool_use", "id": f"toolu_read_{turn}", "name": "Read"}
            blocks = [{"type": "text", "text": "x" * 32_000}, {**read, "input": {"file_path": "N"}}]
        else:
            blocks = [Reply.route("code-reviewer").build(req)[-1]]  # type: ignore[misc]
        served.append((count_input_tokens(req.body), stub_output_tokens(blocks)[0]))
        return Reply.content(blocks)

    return respond


def billing_stub(served: list[tuple[int, int]]) -> StubAnthropic:
    """The stub answering `tool_calls_then_delegation`, with no prompt caching (so what it
    billed is ``served``'s input and output tokens)."""
    return StubAnthropic(responder=tool_calls_then_delegation(served), cache_min_tokens=10**9)


def test_every_request_of_a_case_is_counted_and_reserved(tmp_path: Path) -> None:
    served: list[tuple[int, int]] = []
    with StubAnthropic(
        responder=tool_calls_then_delegation(served), cache_min_tokens=10**9
    ) as stub:
        r = router(stub, tmp_path)  # type: ignore[arg-type]
        request = RouteRequest(case=case("review my last commit"), view=VIEW)
        bound = asyncio.run(r.cost_bound(request))
        d = asyncio.run(r.route(request))
        model = stub.calls[0].model
    assert d.error is None and d.agent == "code-reviewer", d
    assert len(served) == 4
    assert d.usage.input_tokens == sum(i for i, _ in served)
    assert d.usage.output_tokens == sum(o for _, o in served)
    assert min(o for _, o in served[:3]) >= 8000
    billed = r.table.cost(
        str(model), input_tokens=d.usage.input_tokens, output_tokens=d.usage.output_tokens
    )
    assert billed is not None and d.cost_usd == pytest.approx(billed)
    assert bound is not None and bound >= d.cost_usd


def test_a_case_stops_at_max_turns_as_handled_by_the_main_model(tmp_path: Path) -> None:
    served: list[tuple[int, int]] = []
    with StubAnthropic(
        responder=tool_calls_then_delegation(served), cache_min_tokens=10**9
    ) as stub:
        r = router(stub, tmp_path, max_turns=2)  # type: ignore[arg-type]
        request = RouteRequest(case=case("review my last commit"), view=VIEW)
        one_turn = asyncio.run(router(stub, tmp_path, max_turns=1).cost_bound(request))  # type: ignore[arg-type]
        bound = asyncio.run(r.cost_bound(request))
        d = asyncio.run(r.route(request))
    assert len(served) == 2
    assert d.error is None and d.agent is None, d
    assert "2 turns" in d.rationale
    assert d.usage.output_tokens == sum(o for _, o in served)
    assert one_turn is not None and bound is not None and bound > 2 * one_turn


def test_a_run_records_what_the_api_billed_and_stays_inside_max_cost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    served: list[tuple[int, int]] = []
    with StubAnthropic(
        responder=tool_calls_then_delegation(served), cache_min_tokens=10**9
    ) as stub:
        r = router(stub, tmp_path)  # type: ignore[arg-type]
        bound = asyncio.run(r.cost_bound(RouteRequest(case=case("what is 2 + 2?"), view=VIEW)))
        assert bound is not None
        config = project(tmp_path).model_copy(
            update={"router": RouterConfig(backend="claude-cli", base_url=stub.base_url)}
        )
        max_cost = bound * 1.5
        run = run_config(config, max_cost_usd=max_cost)
        model = str(stub.calls[0].model)
    assert run.record.status == "complete", run.record.stopped_reason
    assert len(served) == 4 * 4  # four cases, four requests each
    billed = r.table.cost(
        model,
        input_tokens=sum(i for i, _ in served),
        output_tokens=sum(o for _, o in served),
    )
    assert billed is not None
    assert run.record.cost_usd == pytest.approx(billed)
    assert billed <= max_cost
