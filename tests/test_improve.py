"""`agenteval improve`: proposals from the stub, verified by the lexical router on held-out cases.

The catalog in fixtures/improve collides on purpose: api-builder's description speaks of
database work and db-tuner's says nothing, so database requests go to api-builder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from stub_anthropic import Reply, StubAnthropic

from agenteval.catalog import load_catalog
from agenteval.cli import main
from agenteval.improve.loop import held_out
from agenteval.improve.patch import apply_changes, rewrite_file

KEY = "sk-ant-test-improve-0123456789abcdef"
FIXTURE = Path(__file__).parent / "fixtures" / "improve"
GOOD = {
    "db-tuner": "Tunes relational databases: slow SQL queries, indexes, query plans, schema "
    "design and safe migrations.",
    "api-builder": "Builds HTTP APIs: REST endpoints, routes, request validation, "
    "authentication middleware and JSON error responses.",
}


def project(tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    shutil.copytree(FIXTURE, dest)
    return dest


def proposer(*answers: dict | str):
    """A stub that answers the n-th proposal request with the n-th answer (the last repeats)."""
    calls: list[str] = []

    def respond(req):
        calls.append(req.prompt)
        answer = answers[min(len(calls), len(answers)) - 1]
        return Reply.text(answer if isinstance(answer, str) else json.dumps(answer))

    respond.calls = calls  # type: ignore[attr-defined]
    return respond


def improve(root: Path, *args: str):
    return CliRunner().invoke(
        main,
        [
            "improve",
            "--agents",
            str(root / "agents"),
            "--dataset",
            str(root / "datasets" / "collide.yaml"),
            "--router",
            "lexical",
            "--targets",
            "1",
            "--out",
            str(root / "session"),
            *args,
        ],
        catch_exceptions=False,
    )


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


@pytest.fixture
def serve(monkeypatch):
    """Start the stub with a responder, pointed at by ANTHROPIC_BASE_URL; stopped after."""
    started: list[StubAnthropic] = []

    def start(responder) -> StubAnthropic:
        stub = StubAnthropic(responder=responder)
        stub.start()
        started.append(stub)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        return stub

    yield start
    for stub in started:
        stub.stop()


def test_an_accepted_change_fixes_held_out_cases_and_apply_writes_only_the_description(
    tmp_path, serve, key
):
    root = project(tmp_path)
    serve(proposer({"descriptions": GOOD, "why": "split the two"}))
    before = (root / "agents" / "api-builder.md").read_text(encoding="utf-8")
    result = improve(root)
    assert result.exit_code == 0, result.output
    assert "accepted: api-builder <-> db-tuner" in result.output
    session = json.loads((root / "session" / "improve.json").read_text())
    (accepted,) = [a for a in session["attempts"] if a["accepted"]]
    verdict = accepted["verdict"]
    assert verdict["p_value"] < 0.05 and verdict["delta"] > 0
    assert len(verdict["fixed"]) > 0 and verdict["broken"] == []
    assert all(held_out_id(root, i) for i in verdict["fixed"])  # fixed cases were held out
    assert session["accuracy_after"] > session["accuracy_before"]
    patch = (root / "session" / "changes.patch").read_text()
    assert "+description: |-" in patch and "Builds HTTP APIs" in patch
    # nothing written without --apply
    assert (root / "agents" / "api-builder.md").read_text(encoding="utf-8") == before
    report = (root / "session" / "report.md").read_text()
    assert "## Accepted changes (1)" in report and "significant gain" in report

    applied = improve(root, "--apply", "--out", str(root / "session2"))
    assert applied.exit_code == 0, applied.output
    after = (root / "agents" / "api-builder.md").read_text(encoding="utf-8")
    assert "# owner: platform-team" in after and "x-review: 2026-11" in after
    reread = load_catalog([root / "agents"])
    assert reread.claude_code is not None
    shown = reread.claude_code.get("api-builder")
    assert shown is not None and shown.description == GOOD["api-builder"]


def held_out_id(root: Path, case_id: str) -> bool:
    from agenteval.cases.datasets import load_dataset

    cases = {c.id: c for c in load_dataset(root / "datasets" / "collide.yaml").cases}
    return held_out(cases[case_id])


def test_a_leaking_proposal_is_rejected_and_the_next_attempt_is_tried(tmp_path, serve, key):
    from agenteval.cases.datasets import load_dataset

    root = project(tmp_path)
    secret = next(c for c in load_dataset(root / "datasets" / "collide.yaml").cases if held_out(c))
    leaking = {"descriptions": {"db-tuner": f"Use it for requests like: {secret.prompt}"}}
    responder = proposer(leaking, {"descriptions": GOOD})
    serve(responder)
    result = improve(root, "--attempts", "2")
    assert result.exit_code == 0, result.output
    assert f"misroutes: leakage: it repeats held-out case {secret.id}\n" in result.output
    assert "accepted: api-builder <-> db-tuner" in result.output
    assert len(responder.calls) == 2
    assert all(secret.prompt not in prompt for prompt in responder.calls)  # never shown


def test_a_stealing_proposal_is_rejected(tmp_path, serve, key):
    root = project(tmp_path)
    stealing = dict(GOOD)
    stealing["db-tuner"] += (  # the words of docs-writer's requests, which its description lacks
        " Also: install and usage sections, a first deploy walkthrough, the 2.0 release, public "
        "functions in utils, the setup chapter, configuration options, notes for contributors, "
        "CLI flags, the backups chapter, the parser module."
    )
    serve(proposer({"descriptions": stealing}))
    result = improve(root, "--attempts", "1")
    assert result.exit_code == 0, result.output
    assert "misroutes: stealing: it breaks" in result.output
    assert "accepted" not in result.output.replace("0 accepted", "")
    assert (root / "session" / "changes.patch").read_text() == ""


def test_a_malformed_proposal_is_counted_shown_and_never_applied(tmp_path, serve, key):
    root = project(tmp_path)
    serve(proposer("I would rather not answer in JSON."))
    before = (root / "agents" / "db-tuner.md").read_bytes()
    result = improve(root, "--attempts", "1", "--apply")
    assert result.exit_code == 0, result.output
    assert "misroutes: malformed: the answer holds no JSON object" in result.output
    assert json.loads((root / "session" / "improve.json").read_text())["malformed"] == 1
    assert (root / "agents" / "db-tuner.md").read_bytes() == before


def test_no_api_key_is_an_error_before_any_call(tmp_path, serve):
    root = project(tmp_path)
    stub = serve(proposer({"descriptions": GOOD}))
    result = improve(root)
    assert result.exit_code == 2
    assert "ANTHROPIC_API_KEY" in result.output
    assert stub.count_endpoint("messages") == 0


def test_a_catalog_with_no_confusions_has_nothing_to_improve(tmp_path, serve, key):
    root = project(tmp_path)
    (root / "datasets" / "collide.yaml").write_text(
        "cases:\n"
        "  - {id: doc-01, prompt: 'Write a README with install and usage', expected: docs-writer}\n"
        "  - {id: doc-03, prompt: 'Update the changelog for 2.0', expected: docs-writer}\n",
        encoding="utf-8",
    )
    stub = serve(proposer({"descriptions": GOOD}))
    result = improve(root)
    assert result.exit_code == 0, result.output
    assert "nothing to improve" in result.output
    assert stub.count_endpoint("messages") == 0


def test_the_budget_stops_the_session_and_it_exits_1(tmp_path, serve, key):
    root = project(tmp_path)
    stub = serve(proposer({"descriptions": GOOD}))
    result = improve(root, "--max-cost", "0.0001")
    assert result.exit_code == 1, result.output
    assert "budget" in result.output
    assert stub.count_endpoint("messages") == 0


def test_a_rerun_is_answered_from_the_cache(tmp_path, serve, key):
    root = project(tmp_path)
    stub = serve(proposer({"descriptions": GOOD}))
    assert improve(root).exit_code == 0
    first = stub.count_endpoint("messages")
    again = improve(root, "--out", str(root / "again"))
    assert again.exit_code == 0 and stub.count_endpoint("messages") == first
    assert "on 0 model calls" in again.output


def test_apply_refuses_a_file_changed_since_the_proposal(tmp_path):
    root = project(tmp_path)
    agent = load_catalog([root / "agents"]).get("db-tuner")
    assert agent is not None
    change = rewrite_file(agent, GOOD["db-tuner"], version="2.1.332")
    assert change.problem is None
    agent.path.write_text(agent.path.read_text() + "\nEdited meanwhile.\n", encoding="utf-8")
    edited = agent.path.read_bytes()
    (outcome,) = apply_changes([change])
    assert outcome.path == agent.path and not outcome.written
    assert "changed on disk" in outcome.reason
    assert agent.path.read_bytes() == edited


def test_a_proposal_claude_code_would_not_list_as_written_is_refused(tmp_path):
    root = project(tmp_path)
    agent = load_catalog([root / "agents"]).get("db-tuner")
    assert agent is not None
    change = rewrite_file(agent, "Ends with a fence\n---\nname: other", version="2.1.332")
    assert change.problem is not None and "Claude Code" in change.problem


def test_it_starts_from_a_saved_run_of_the_same_catalog_and_refuses_another(tmp_path, serve, key):
    from conftest import run_config

    from agenteval.config import EvalConfig

    root = project(tmp_path)
    config = EvalConfig(
        agents=[str(root / "agents")],
        datasets=[str(root / "datasets" / "collide.yaml")],
        router={"backend": "lexical"},
        out=str(root / "runs"),
    )
    saved = run_config(config)
    stub = serve(proposer({"descriptions": GOOD}))
    result = improve(root, "--from-run", str(saved.run_dir))
    assert result.exit_code == 0, result.output
    assert "starting from 50 answers of a saved run" in result.output
    assert "accepted: api-builder <-> db-tuner" in result.output
    (root / "agents" / "docs-writer.md").write_text(
        "---\nname: docs-writer\ndescription: Writes docs.\n---\nBody.\n", encoding="utf-8"
    )
    refused = improve(root, "--from-run", str(saved.run_dir), "--out", str(root / "s2"))
    assert refused.exit_code == 2 and "another catalog" in refused.output
    assert stub.count_endpoint("messages") == 1  # the refusal came before any call
