"""The Anthropic router through the real SDK against the loopback stub (never the network).

Covers every answer shape, the request the API receives, token and cost accounting, and every
fault the stub can script. Runs go through `agenteval.pipeline.run_eval`, so results.jsonl and
summary.json are checked as a user would see them.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import run_config
from stub_anthropic import Fault, Reply, StubAnthropic, answers, count_input_tokens

from agenteval.cases import Case
from agenteval.cases.examples import extract_examples
from agenteval.catalog import load_catalog
from agenteval.config import EvalConfig
from agenteval.models.anthropic import AnthropicClient
from agenteval.pipeline import RunOutcome
from agenteval.record.store import load_record
from agenteval.routing import RouteRequest
from agenteval.routing.api import PromptRouter
from agenteval.views import AgentView, CatalogView, Holdout

KEY = "sk-ant-test-router-0123456789abcdef"

# Names chosen so that a case-sensitive sort (Beta, alpha, gamma) differs from Claude Code's
# case-insensitive one (alpha, Beta, gamma).
AGENTS: dict[str, tuple[str, str | None]] = {
    "gamma-tester": ("Use this agent to write and fix unit tests.", None),
    "Beta-reviewer": ("Use this agent to review diffs for bugs.", "Read, Grep"),
    "alpha-writer": ("Use this agent to write user documentation.", "Read, Write"),
}
DATASET = {
    "d-docs": ("Write a getting-started guide for the CLI.", "alpha-writer"),
    "d-review": ("Look over my pull request for off-by-one bugs.", "Beta-reviewer"),
    "d-tests": ("Add pytest cases for the date parser.", "gamma-tester"),
    "d-chat": ("What does HTTP 418 mean?", "none"),
    "d-docs2": ("Document the config file keys in the user guide.", "alpha-writer"),
    "d-review2": ("Is this diff safe to merge? It touches the cache.", "Beta-reviewer"),
}
PROMPT = {cid: prompt for cid, (prompt, _) in DATASET.items()}


def example_user(agent: str, i: int) -> str:
    return f"Please handle task number {i} for {agent}, it is urgent."


def write_project(root: Path, examples: int = 3) -> Path:
    """A three-agent catalog (with `examples` example blocks each) and a six-case dataset."""
    (root / "agents").mkdir(parents=True, exist_ok=True)
    for name, (lead, tools) in AGENTS.items():
        blocks = [
            "<example>\n"
            f"Context: situation {i} of {name}.\n"
            f'user: "{example_user(name, i)}"\n'
            f'assistant: "ASSIST-{name}-{i}: I will use the {name} agent."\n'
            f"<commentary>\nCOMMENT-{name}-{i}: this is {name} work.\n</commentary>\n"
            "</example>"
            for i in range(1, examples + 1)
        ]
        description = "\n\n".join([lead, *blocks])
        front = [f"name: {name}", f"description: {json.dumps(description)}"]
        if tools:
            front.append(f"tools: {tools}")
        text = "---\n" + "\n".join(front) + f"\n---\n\nYou are {name}.\n"
        (root / "agents" / f"{name.lower()}.md").write_text(text, encoding="utf-8")
    (root / "datasets").mkdir(exist_ok=True)
    lines = ["cases:"]
    for cid, (prompt, expected) in DATASET.items():
        lines += [
            f"  - id: {cid}",
            f"    prompt: {json.dumps(prompt)}",
            f"    expected: {expected}",
        ]
    (root / "datasets" / "cases.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path)


def config(**overrides: Any) -> EvalConfig:
    router = {"backend": "anthropic", **overrides.pop("router", {})}
    values: dict[str, Any] = {
        "name": "t",
        "agents": ["agents"],
        "datasets": ["datasets/cases.yaml"],
        "holdout": "none",
        "examples": False,
        "concurrency": 4,
        "router": router,
    }
    return EvalConfig(**(values | overrides))


def run(**overrides: Any) -> tuple[RunOutcome, dict[tuple[str, int], dict[str, Any]]]:
    spec_keys = {"only", "limit", "resume"}
    spec = {k: overrides.pop(k) for k in list(overrides) if k in spec_keys}
    outcome = run_config(config(**overrides), **spec)
    return outcome, rows_of(outcome.run_dir)


def rows_of(run_dir: Path) -> dict[tuple[str, int], dict[str, Any]]:
    lines = (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    keyed = {(r["case_id"], r["trial"]): r for r in rows}
    assert len(keyed) == len(rows), "a (case, trial) was written twice"
    return keyed


def row(rows: dict[tuple[str, int], dict[str, Any]], case_id: str) -> dict[str, Any]:
    return rows[(f"cases/{case_id}", 0)]


def last_block(body: dict[str, Any]) -> dict[str, Any]:
    return body["messages"][-1]["content"][-1]


def prefix_json(body: dict[str, Any]) -> str:
    """Everything the API sees except the case's own block, as canonical JSON bytes."""
    messages = [dict(m) for m in body["messages"]]
    messages[-1] = {**messages[-1], "content": messages[-1]["content"][:-1]}
    return json.dumps({**body, "messages": messages}, sort_keys=True)


# ------------------------------------------------------------------------------------------
# Answer shapes
# ------------------------------------------------------------------------------------------

SHAPES = [
    # (id, reply, builtins, expected label, expected agent, expected raw substring)
    ("agent-tool", Reply.route("Beta-reviewer"), False, "Beta-reviewer", "Beta-reviewer", None),
    (
        "legacy-task-tool",
        Reply.route("Beta-reviewer", tool_name="Task"),
        False,
        "Beta-reviewer",
        "Beta-reviewer",
        None,
    ),
    ("text-only", Reply.text("I'll answer this myself."), False, "none", None, None),
    ("not-in-catalog", Reply.route("ghost-agent"), False, "invalid", "ghost-agent", "ghost-agent"),
    (
        "subagent-type-omitted",
        Reply.tool("Agent", {"description": "review it", "prompt": "review the diff"}),
        False,
        "none",
        None,
        "general-purpose",
    ),
    ("builtin-explore", Reply.route("Explore"), True, "none", None, "Explore"),
    ("other-case", Reply.route("BETA-REVIEWER"), False, "Beta-reviewer", "Beta-reviewer", None),
    (
        "skill-outside-the-catalog",
        Reply.tool("Skill", {"skill": "release-notes"}),
        False,
        "none",
        None,
        "skill:release-notes",
    ),
    (
        "non-delegation-tool",
        Reply.tool("Read", {"file_path": "/etc/hosts"}, text="Let me look first."),
        False,
        "none",
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("reply", "builtins", "label", "agent", "raw"),
    [s[1:] for s in SHAPES],
    ids=[s[0] for s in SHAPES],
)
def test_answer_shape_is_labelled(project, stub, reply, builtins, label, agent, raw):
    stub.responder = answers({PROMPT["d-review"]: reply}, default="none")
    outcome, rows = run(router={"builtins": builtins})
    r = row(rows, "d-review")
    assert (r["label"], r["agent"], r["error"]) == (label, agent, None)
    if raw is not None:
        assert raw in r["raw"]
    if label == "Beta-reviewer":
        assert r["correct"] is True
    assert outcome.record.status == "complete"
    # every other case answered with text: handled inline
    assert row(rows, "d-chat")["label"] == "none" and row(rows, "d-chat")["correct"] is True
    listed = re.findall(r"^- ([^\s:]+): ", last_user_blocks(stub)[0]["text"], re.M)
    assert ("Explore" in listed) is builtins


def last_user_blocks(stub: StubAnthropic) -> list[dict[str, Any]]:
    return stub.calls[0].body["messages"][-1]["content"]


def test_thinking_text_and_tool_use_give_agent_and_rationale(project, stub):
    reply = Reply.route(
        "alpha-writer", rationale="A user guide is docs work.", thinking="PRIVATE-THOUGHTS"
    )
    stub.responder = answers({PROMPT["d-docs"]: reply}, default="none")
    _, rows = run()
    r = row(rows, "d-docs")
    assert (r["label"], r["agent"], r["correct"]) == ("alpha-writer", "alpha-writer", True)
    assert r["rationale"] == "A user guide is docs work."
    assert "PRIVATE-THOUGHTS" not in json.dumps(r)
    assert json.loads(r["raw"])["subagent_type"] == "alpha-writer"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("This is a review request.\nBeta-reviewer", "Beta-reviewer"),
        ("Reviews go to the reviewer.\nAnswer: `beta-REVIEWER`.", "Beta-reviewer"),
        ("Nothing here fits an agent.\nnone", "none"),
        ("It is a documentation task.\nno-such-writer", "invalid"),
    ],
)
def test_classify_mode_reads_the_name_on_the_last_line(project, stub, text, label):
    stub.responder = answers({PROMPT["d-review"]: Reply.text(text)}, default="none")
    _, rows = run(router={"prompt": "classify"})
    r = row(rows, "d-review")
    assert (r["label"], r["error"]) == (label, None)
    body = stub.calls[0].body
    assert "tools" not in body and "tool_choice" not in body
    (system,) = body["system"]
    assert system["cache_control"] == {"type": "ephemeral"}
    assert "- Beta-reviewer: Use this agent to review diffs" in system["text"]
    assert last_block(body)["text"] in PROMPT.values()


def test_answer_cut_off_at_max_tokens_is_an_error_not_none(project, stub):
    truncated = Reply.content(
        [
            {
                "type": "thinking",
                "thinking": "Let me weigh every agent in turn " * 20,
                "signature": "stubsig",
            }
        ],
        stop_reason="max_tokens",
    )
    stub.responder = answers({PROMPT["d-review"]: truncated}, default="none")
    _, rows = run()
    r = row(rows, "d-review")
    assert r["label"] is None and r["error"] is not None and "max_tokens" in r["error"]


def test_legacy_prompt_mode_offers_task_tool_with_the_catalog(project, stub):
    _, rows = run(router={"prompt": "claude-code-legacy"})
    body = stub.calls[0].body
    (tool,) = body["tools"]
    assert tool["name"] == "Task"
    listed = re.findall(r"^- ([^\s:]+): ", tool["description"], re.M)
    assert listed == ["alpha-writer", "Beta-reviewer", "gamma-tester"]
    assert "- alpha-writer: Use this agent to write user documentation." in tool["description"]
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    # the stub answers with the request's own delegation tool (Task): every answer is scored
    assert all(r["label"] in {*AGENTS, "none"} and r["error"] is None for r in rows.values())
    assert stub.calls[0].delegation_tool == "Task"


# ------------------------------------------------------------------------------------------
# The request
# ------------------------------------------------------------------------------------------


def test_request_has_agent_tool_auto_choice_and_no_sampling_params(project, stub):
    run()
    assert stub.count_endpoint("messages") == len(DATASET)
    for call in stub.calls:
        body = call.body
        assert set(body) == {"model", "max_tokens", "system", "messages", "tools", "tool_choice"}
        assert not {"temperature", "top_p", "top_k"} & set(body)
        assert body["model"] == "claude-sonnet-5-5"  # the default alias, resolved
        assert body["tool_choice"] == {"type": "auto"}
        (tool,) = body["tools"]
        assert tool["name"] == "Agent"
        props = tool["input_schema"]["properties"]
        assert {"subagent_type", "description", "prompt"} <= set(props)
        assert "subagent_type" not in tool["input_schema"]["required"]  # optional today
    assert {r.api_key for r in stub.requests} == {KEY}


def test_catalog_block_lists_agents_sorted_case_insensitively_and_is_cached(project, stub):
    run()
    blocks = stub.calls[0].body["messages"][-1]["content"]
    assert len(blocks) == 2
    catalog = blocks[0]
    assert catalog["cache_control"] == {"type": "ephemeral"}
    assert catalog["text"].startswith("<system-reminder>\n")
    assert catalog["text"].endswith("</example> (Tools: All tools)\n</system-reminder>")
    listed = re.findall(r"^- ([^\s:]+): ", catalog["text"], re.M)
    assert listed == ["alpha-writer", "Beta-reviewer", "gamma-tester"]
    assert listed != sorted(listed)  # a case-sensitive sort would put Beta first
    text = catalog["text"]
    assert "- alpha-writer: Use this agent to write user documentation.\n\n<example>" in text
    assert "(Tools: Read, Write)" in text and "(Tools: Read, Grep)" in text
    assert re.search(
        r"COMMENT-gamma-tester-3: this is gamma-tester work\.\n</commentary>\n"
        r"</example> \(Tools: All tools\)$",
        text,
        re.M,
    )
    # nothing of a file but name, description and tools reaches the model
    assert "You are alpha-writer" not in json.dumps(stub.calls[0].body)


def test_case_prompt_is_the_last_block_and_never_carries_the_answer(project, stub):
    _, rows = run(examples=True)
    catalog = load_catalog([project / "agents"])
    examples = {
        (a.name, ex.index): ex for a in catalog.agents for ex in extract_examples(a, catalog.names)
    }
    by_prompt = {r["prompt"]: r for r in rows.values()}
    assert len(by_prompt) == len(rows) == 9 + len(DATASET)
    for call in stub.calls:
        final = last_block(call.body)
        assert set(final) == {"type", "text"}  # no cache_control on the changing part
        r = by_prompt[final["text"]]
        if r["origin"] != "example":
            continue
        ex = examples[(r["owner"], r["example_index"])]
        assert final["text"] == ex.user
        assert ex.assistant and ex.assistant not in final["text"] and "ASSIST-" not in final["text"]
        assert ex.commentary and "COMMENT-" not in final["text"]
        assert "Context:" not in final["text"]  # context is sent only when the config asks


def test_kfold_holds_the_example_out_and_shares_one_prefix_per_fold(project, stub):
    _, rows = run(examples=True, holdout="kfold:3")
    holdout = Holdout.parse("kfold:3")
    fold_of = {}
    for r in rows.values():
        case = Case(
            id=r["case_id"],
            prompt=r["prompt"],
            expected=tuple(r["expected"]),
            origin=r["origin"],
            source=r["source"],
            agent=r["owner"],
            example_index=r["example_index"],
        )
        fold_of[r["prompt"]] = holdout.fold_of(case)
    prefixes: dict[int | None, set[str]] = {}
    for call in stub.calls:
        prompt = last_block(call.body)["text"]
        catalog_text = call.body["messages"][-1]["content"][0]["text"]
        if fold_of[prompt] is not None:
            r = next(r for r in rows.values() if r["prompt"] == prompt)
            owner, i = r["owner"], r["example_index"]
            assert prompt not in catalog_text
            assert f"ASSIST-{owner}-{i}:" not in catalog_text
            assert f"COMMENT-{owner}-{i}:" not in catalog_text
        else:  # dataset cases see every example
            assert all(example_user(a, 1) in catalog_text for a in AGENTS)
        prefixes.setdefault(fold_of[prompt], set()).add(prefix_json(call.body))
    assert len(prefixes) >= 3  # the full view plus at least two folds were used
    assert all(len(p) == 1 for p in prefixes.values()), "one fold, one byte-identical prefix"
    assert len({next(iter(p)) for p in prefixes.values()}) == len(prefixes)


def test_holdout_none_shows_the_example_under_test(project, stub):
    """The control for the kfold test: without holdout the example is in the catalog."""
    run(examples=True)
    call = next(c for c in stub.calls if c.prompt == example_user("alpha-writer", 2))
    assert example_user("alpha-writer", 2) in call.body["messages"][-1]["content"][0]["text"]


# ------------------------------------------------------------------------------------------
# Usage and cost
# ------------------------------------------------------------------------------------------

SONNET = (2.0, 10.0)  # USD per million tokens, input / output (data/models.yaml)


def expected_cost(usage: dict[str, int], rates: tuple[float, float] = SONNET) -> float:
    rate_in, rate_out = rates
    return (
        usage["input_tokens"] * rate_in
        + usage["cache_write_tokens"] * rate_in * 1.25
        + usage["cache_read_tokens"] * rate_in * 0.1
        + usage["output_tokens"] * rate_out
    ) / 1_000_000


def test_usage_and_cost_are_recorded_per_trial_and_summed(project, stub):
    stub.latency = 0.02
    outcome, rows = run(concurrency=2)
    by_prompt = {c.prompt: c for c in stub.calls}
    for r in rows.values():
        u = r["usage"]
        body = by_prompt[r["prompt"]].body
        # the stub's accounting: input + cache write + cache read = every prompt token
        sent = u["input_tokens"] + u["cache_write_tokens"] + u["cache_read_tokens"]
        assert sent == count_input_tokens(body)
        assert u["output_tokens"] > 0 and u["input_tokens"] > 0
        assert r["cost_usd"] == pytest.approx(expected_cost(u), rel=1e-9)
    assert sum(r["usage"]["cache_write_tokens"] > 0 for r in rows.values()) == 1
    assert all(
        r["usage"]["cache_read_tokens"] > 0
        for r in rows.values()
        if not r["usage"]["cache_write_tokens"]
    )
    record = load_record(outcome.run_dir)
    for field in ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens"):
        assert record.usage[field] == sum(r["usage"][field] for r in rows.values())
    assert record.cost_usd == pytest.approx(sum(r["cost_usd"] for r in rows.values()), abs=1e-6)
    assert record.router["price_known"] is True


def test_unknown_model_counts_tokens_and_never_guesses_a_cost(project, stub):
    outcome, rows = run(router={"model": "claude-unknown-9"})
    assert {c.model for c in stub.calls} == {"claude-unknown-9"}
    assert all(r["usage"]["output_tokens"] > 0 and r["cost_usd"] is None for r in rows.values())
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    assert summary["cost_usd"] is None
    assert summary["usage"]["input_tokens"] > 0
    assert summary["router"]["price_known"] is False
    html = (outcome.run_dir / "report.html").read_text()
    assert re.search(r"cost <b>unknown</b>", html)


def test_price_override_from_config(project, stub):
    prices = {"claude-unknown-9": {"input": 3.0, "output": 7.0}, "opus": {"input": 50, "output": 0}}
    _, rows = run(router={"model": "claude-unknown-9", "prices": prices})
    for r in rows.values():
        assert r["cost_usd"] == pytest.approx(expected_cost(r["usage"], (3.0, 7.0)), rel=1e-9)
    _, rows = run(router={"model": "opus", "prices": prices})
    assert {c.model for c in stub.calls[-len(DATASET) :]} == {"claude-opus-5-5"}
    for r in rows.values():
        assert r["cost_usd"] == pytest.approx(expected_cost(r["usage"], (50.0, 0.0)), rel=1e-9)


def test_bad_price_override_is_a_config_error(project, stub):
    from agenteval.errors import ConfigError

    with pytest.raises(ConfigError, match=r"router\.prices\.sonnet"):
        run(router={"prices": {"sonnet": {"input": 1.0}}})
    assert stub.count_endpoint("messages") == 0


# ------------------------------------------------------------------------------------------
# Faults
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 529, 500])
def test_transient_error_is_retried_by_the_sdk(project, stub, status):
    stub.responder = answers({PROMPT["d-review"]: "Beta-reviewer"}, default="none")
    stub.faults = [Fault.when(lambda r: r.prompt == PROMPT["d-review"], status, times=1)]
    outcome, rows = run()
    r = row(rows, "d-review")
    assert (r["label"], r["error"]) == ("Beta-reviewer", None)
    assert [c.prompt for c in stub.calls].count(PROMPT["d-review"]) == 2
    assert outcome.record.headline["errors"] == 0 and outcome.record.status == "complete"


def test_persistent_overload_is_an_error_on_one_trial_not_a_misroute(project, stub):
    stub.responder = answers({PROMPT["d-docs"]: "alpha-writer"}, default="first")
    stub.faults = [Fault.when(lambda r: r.prompt == PROMPT["d-review"], 529)]
    outcome, rows = run()
    r = row(rows, "d-review")
    assert r["label"] is None and r["correct"] is False
    assert r["error"].startswith("529 overloaded_error")
    assert [c.prompt for c in stub.calls].count(PROMPT["d-review"]) == 5  # 1 + 4 SDK retries
    others = [x for x in rows.values() if x["case_id"] != "cases/d-review"]
    assert len(rows) == len(DATASET) and all(x["error"] is None for x in others)
    h = outcome.record.headline
    assert (h["trials"], h["errors"], h["scored"]) == (len(DATASET), 1, len(DATASET) - 1)
    assert h["accuracy"] == pytest.approx(sum(x["correct"] for x in others) / len(others))
    assert outcome.record.status == "complete" and outcome.exit_code == 0
    card = outcome.record.scorecard
    assert card is not None and card.errors == 1


def test_run_cost_stays_known_when_a_trial_errors(project, stub):
    stub.faults = [Fault.when(lambda r: r.prompt == PROMPT["d-review"], 529)]
    outcome, rows = run()
    paid = [r["cost_usd"] for r in rows.values() if r["error"] is None]
    assert len(paid) == len(DATASET) - 1
    assert outcome.record.cost_usd is not None
    assert outcome.record.cost_usd == pytest.approx(sum(paid), abs=1e-6)


def route_one(stub: StubAnthropic, **router_options: Any):
    view = CatalogView(
        fold=None,
        agents=(AgentView(name="alpha-writer", description="Writes docs.", tools_text="Read"),),
    )
    case = Case(
        id="cases/x",
        prompt="write docs",
        expected=("alpha-writer",),
        origin="dataset",
        source="cases.yaml:1",
    )

    async def go():
        client = AnthropicClient(api_key=KEY, base_url=stub.base_url, **router_options)
        router = PromptRouter(client)
        try:
            return await router.route(RouteRequest(case=case, view=view))
        finally:
            await router.aclose()

    return asyncio.run(go())


def test_slow_answer_past_the_timeout_is_an_error(stub):
    stub.faults = [Fault.every(1, "slow", seconds=1.5)]
    start = time.monotonic()
    decision = route_one(stub, deadline_s=0.2, max_retries=0)
    assert time.monotonic() - start < 1.2
    assert decision.agent is None and decision.error is not None
    assert "deadline" in decision.error
    assert stub.count_endpoint("messages") == 1


def test_timeout_message_states_the_real_timeout(stub):
    stub.faults = [Fault.every(1, "slow", seconds=1.0)]
    decision = route_one(stub, deadline_s=0.2, max_retries=0)
    assert decision.error is not None and "0.2 s" in decision.error


def test_overload_callbacks_fire_for_every_retried_attempt(stub):
    stub.faults = [Fault.at([1], 429), Fault.at([2, 3], 529)]
    seen: list[int] = []
    view = CatalogView(
        fold=None, agents=(AgentView(name="alpha-writer", description="Docs.", tools_text="Read"),)
    )
    case = Case(
        id="cases/x",
        prompt="write docs",
        expected=("alpha-writer",),
        origin="dataset",
        source="cases.yaml:1",
    )

    async def go():
        client = AnthropicClient(api_key=KEY, base_url=stub.base_url)
        client.on_overload(lambda: seen.append(1))
        router = PromptRouter(client)
        try:
            return await router.route(RouteRequest(case=case, view=view))
        finally:
            await router.aclose()

    decision = asyncio.run(go())
    assert decision.error is None and decision.agent == "alpha-writer"
    assert len(seen) == 3 and stub.count_endpoint("messages") == 4


def test_malformed_response_is_a_retried_error_that_says_what_came_back(project, stub):
    from agenteval.models.anthropic import MALFORMED_RETRIES

    stub.faults = [Fault.when(lambda r: r.prompt == PROMPT["d-tests"], "malformed")]
    outcome, rows = run()
    r = row(rows, "d-tests")
    assert r["label"] is None and r["error"].startswith("malformed response (not JSON)")
    assert [c.prompt for c in stub.calls].count(PROMPT["d-tests"]) == 1 + MALFORMED_RETRIES
    assert outcome.record.headline["errors"] == 1 and len(rows) == len(DATASET)


def test_unknown_agent_answer_is_invalid(project, stub):
    stub.faults = [Fault.when(lambda r: r.prompt == PROMPT["d-tests"], "unknown_agent")]
    outcome, rows = run()
    r = row(rows, "d-tests")
    assert (r["label"], r["agent"], r["error"], r["correct"]) == (
        "invalid",
        "no-such-agent",
        None,
        False,
    )
    assert outcome.record.scorecard is not None
    assert outcome.record.headline["errors"] == 0


def test_spend_limit_stops_the_run_and_resume_finishes_it(project, stub):
    stub.latency = 0.02
    # the first three answers succeed, then the account hits its spend limit
    stub.faults = [Fault.every(1, "spend_limit", offset=3, times=1)]
    outcome, rows = run(concurrency=1)
    record = load_record(outcome.run_dir)
    assert record.status == "incomplete" and outcome.exit_code == 2
    assert "spend limit" in (record.stopped_reason or "")
    assert len(rows) == 3 and all(r["error"] is None for r in rows.values())
    assert stub.count_endpoint("messages") == 4  # nothing more was started after the fatal one
    # the limit is raised: resume finishes, with every case exactly once
    again, rows = run(concurrency=1, resume=outcome.run_dir)
    assert again.record.status == "complete" and again.record.stopped_reason is None
    assert sorted(k[0] for k in rows) == sorted(f"cases/{c}" for c in DATASET)


def test_spend_limit_without_retry_header_stops_promptly(project, stub, monkeypatch):
    import anthropic._base_client

    # keep the SDK's backoff short so that this test is quick whatever the outcome
    monkeypatch.setattr(anthropic._base_client, "INITIAL_RETRY_DELAY", 0.01)
    stub.faults = [Fault.every(1, "spend_limit")]
    start = time.monotonic()
    outcome, rows = run(concurrency=1)
    assert "spend limit" in (outcome.record.stopped_reason or "")
    assert stub.count_endpoint("messages") == 1  # not retried: it would keep failing
    assert time.monotonic() - start < 2.0


@pytest.mark.parametrize(
    ("status", "words"), [(401, "rejected the key"), (403, "rejected the key"), (404, "not found")]
)
def test_auth_and_model_errors_are_fatal(project, stub, status, words):
    stub.faults = [Fault.every(1, status)]
    outcome, rows = run(concurrency=2)
    assert rows == {}
    assert outcome.record.status == "incomplete" and outcome.exit_code == 2
    assert words in (outcome.record.stopped_reason or "")
    assert stub.count_endpoint("messages") <= 2  # no retries, nothing started afterwards
    assert "incomplete" in (outcome.run_dir / "report.html").read_text()


def test_missing_api_key_is_a_clear_router_error(project, monkeypatch):
    from agenteval.errors import RouterError

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(RouterError, match="ANTHROPIC_API_KEY is not set") as err:
        run()
    assert "export ANTHROPIC_API_KEY=" in str(err.value)
    assert not (project / "reports").exists()
