"""Output grading end to end: the agent call, the judge, recorded outputs, reports, gates, resume.

Every model call goes through the real SDK to the loopback stub (never the network). A request
is told apart by its tools: routing offers `Agent`, a judge offers `grade`, an agent run none.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import run_config
from stub_anthropic import Reply, StubAnthropic, StubRequest

from agenteval.cli import main
from agenteval.config import load_config
from agenteval.outputs.produce import JUDGE_SYSTEM, MAX_JUDGED_CHARS
from agenteval.pipeline import RunOutcome
from agenteval.record.store import load_record

KEY = "sk-ant-test-outputs-0123456789abcdef"
AGENTEVAL = Path(sys.executable).with_name("agenteval")
SONNET, OPUS, HAIKU = "claude-sonnet-5-5", "claude-opus-5-5", "claude-haiku-5-5"

# name -> (description, `model:` field or None for no field)
AGENTS: dict[str, tuple[str, str | None]] = {
    "sql-expert": ("Use this agent to design indexes and write SQL migrations.", "sonnet"),
    "doc-writer": ("Use this agent to write READMEs and user guides.", "inherit"),
    "generalist": ("Use this agent for anything no other agent covers.", None),
}
GOOD_GRADE = {"passed": True, "score": 4, "reason": "It explains why the index helps."}


def body_of(agent: str) -> str:
    return f"You are {agent}.\nAnswer the request in full."


AGENT_OF_BODY = {body_of(name): name for name in AGENTS}


def write_project(root: Path, cases: list[dict[str, Any]], **config: Any) -> Path:
    """Three agents, one dataset of `cases`, and evals/out.yaml (anthropic router, no holdout)."""
    (root / "agents").mkdir(parents=True, exist_ok=True)
    for name, (description, model) in AGENTS.items():
        meta = {"name": name, "description": description} | ({"model": model} if model else {})
        text = f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n\n{body_of(name)}\n"
        (root / "agents" / f"{name}.md").write_text(text, encoding="utf-8")
    (root / "datasets").mkdir(exist_ok=True)
    (root / "datasets" / "out.yaml").write_text(
        yaml.safe_dump({"cases": cases}, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    (root / "evals").mkdir(exist_ok=True)
    data = {
        "name": "out",
        "agents": ["../agents"],
        "datasets": ["../datasets/out.yaml"],
        "examples": False,
        "holdout": "none",
        "router": {"backend": "anthropic"},
        "out": "../reports",
    }
    for key, value in config.items():
        data[key] = {**data[key], **value} if isinstance(data.get(key), dict) else value
    path = root / "evals" / "out.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def case(cid: str, prompt: str, expected: str, *checks: dict[str, Any]) -> dict[str, Any]:
    return {"id": cid, "prompt": prompt, "expected": expected, "checks": list(checks)}


def kind_of(req: StubRequest) -> str:
    if req.delegation_tool:
        return "route"
    return "judge" if "grade" in req.tools else "agent"


def kinds(stub: StubAnthropic) -> Counter[str]:
    return Counter(kind_of(r) for r in stub.calls)


def calls_of(stub: StubAnthropic, kind: str) -> list[StubRequest]:
    return [r for r in stub.calls if kind_of(r) == kind]


def script(
    route: str | Mapping[str, str],
    answer: Mapping[str, str] | None = None,
    grade: Callable[[StubRequest], Reply] | None = None,
) -> Callable[[StubRequest], Reply]:
    """Route by prompt (or everything to one agent); an agent answers `answer[prompt]`, else
    "ran <agent>"; a judge grades with ``grade(req)``, else GOOD_GRADE."""

    def respond(req: StubRequest) -> Reply:
        kind = kind_of(req)
        if kind == "route":
            return Reply.route(route if isinstance(route, str) else route[req.prompt])
        if kind == "judge":
            return grade(req) if grade else Reply.tool("grade", GOOD_GRADE)
        if answer is None:
            return Reply.text(f"ran {AGENT_OF_BODY[req.body['system']]}")
        return Reply.text(answer[req.prompt])

    return respond


@pytest.fixture
def keep_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo what a run appends to sys.path, after the test (the run itself must add it)."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def run(config_path: Path, **spec: Any) -> RunOutcome:
    return run_config(load_config(config_path), **spec)


def invoke(*args: str):
    return CliRunner().invoke(main, [*args, "--plain"], catch_exceptions=False)


def run_dir_of(root: Path) -> Path:
    (run_dir,) = [p for p in (root / "reports").iterdir() if p.is_dir()]
    return run_dir


def outputs_of(run_dir: Path) -> dict[str, dict[str, Any]]:
    """outputs.jsonl by case id, checking that no (case, trial) is written twice."""
    text = (run_dir / "outputs.jsonl").read_text(encoding="utf-8")
    assert text.endswith("\n"), "torn last line"
    rows = [json.loads(line) for line in text.splitlines()]
    keys = [(r["case_id"], r["trial"]) for r in rows]
    assert len(keys) == len(set(keys)), "an output was written twice"
    return {r["case_id"]: r for r in rows}


def summary_of(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))


def checks_by_name(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in row["checks"]}


# ------------------------------------------------------------------------------------------
# 1. The agent call
# ------------------------------------------------------------------------------------------


def test_agent_runs_with_its_body_as_system_prompt_and_its_model(tmp_path, stub):
    prompts = {
        "idx": "Add an index for lookups on orders.customer_id.",
        "readme": "Write the introduction of our README.",
        "offsite": "Plan the team offsite.",
    }
    answers = {
        prompts["idx"]: "CREATE INDEX CONCURRENTLY idx ON orders (customer_id);",
        prompts["readme"]: "# README\nA tool that sends invoices.",
        prompts["offsite"]: "Book a venue by the lake.",
    }
    path = write_project(
        tmp_path,
        [
            case(
                "idx",
                prompts["idx"],
                "sql-expert",
                {"contains": "CREATE INDEX"},
                {"max_words": 20},
            ),
            case("readme", prompts["readme"], "doc-writer", {"contains": "# README"}),
            case("offsite", prompts["offsite"], "generalist", {"contains": "budget"}),
        ],
        router={"model": "opus"},  # the run's model, so `inherit` and no field are told apart
    )
    stub.responder = script(
        {
            prompts["idx"]: "sql-expert",
            prompts["readme"]: "doc-writer",
            prompts["offsite"]: "generalist",
        },
        answers,
    )
    outcome = run(path)
    assert outcome.exit_code == 0 and outcome.record.status == "complete"
    assert kinds(stub) == {"route": 3, "agent": 3}
    models = {"sql-expert": SONNET, "doc-writer": OPUS, "generalist": OPUS}
    request = {"sql-expert": "idx", "doc-writer": "readme", "generalist": "offsite"}
    ran = []
    for req in calls_of(stub, "agent"):
        agent = AGENT_OF_BODY[req.body["system"]]  # the system prompt is the agent file's body
        ran.append(agent)
        assert req.body["messages"] == [{"role": "user", "content": prompts[request[agent]]}]
        assert req.body["model"] == models[agent]
        assert "tools" not in req.body
    assert sorted(ran) == sorted(AGENTS)

    rows = outputs_of(outcome.run_dir)
    idx = rows["out/idx"]
    assert idx["output"] == answers[prompts["idx"]]
    assert (idx["source"], idx["agent"], idx["routed"], idx["model"]) == (
        "live",
        "sql-expert",
        "sql-expert",
        SONNET,
    )
    assert idx["error"] is None and idx["judge_model"] is None
    checks = checks_by_name(idx)
    assert checks["contains:CREATE INDEX"]["passed"] is True
    assert checks["max_words:20"]["passed"] is True
    assert checks["max_words:20"]["reason"] == "7 words <= 20"
    assert rows["out/readme"]["model"] == OPUS
    miss = rows["out/offsite"]["checks"][0]
    assert (miss["passed"], miss["reason"]) == (False, 'missing "budget"')

    outputs = summary_of(outcome.run_dir)["outputs"]
    card = outputs["scorecard"]
    assert (card["results"], card["graded"], card["errors"], card["not_run"]) == (3, 3, 0, 0)
    assert (card["rate"]["k"], card["rate"]["n"]) == (2, 3)
    assert {a["agent"]: a["outputs"] for a in card["agents"]} == {
        "doc-writer": 1,
        "generalist": 1,
        "sql-expert": 1,
    }
    assert outputs["agent_models"] == [OPUS, SONNET] and outputs["judge_models"] == []
    assert outcome.record.headline["output_pass_rate"] == pytest.approx(2 / 3)


def test_failed_agent_call_is_an_error_on_that_output_and_is_not_cached(tmp_path, stub):
    prompts = {"ok": "Write our README.", "bad": "Write our CONTRIBUTING guide."}
    path = write_project(
        tmp_path,
        [case(cid, p, "doc-writer", {"contains": "ran"}) for cid, p in prompts.items()],
    )
    good = script("doc-writer")

    def respond(req: StubRequest) -> Reply:
        if kind_of(req) == "agent" and req.prompt == prompts["bad"]:
            return Reply.error(400, message="prompt is too long")
        return good(req)

    stub.responder = respond
    outcome = run(path)
    assert outcome.record.status == "complete"
    rows = outputs_of(outcome.run_dir)
    bad = rows["out/bad"]
    assert bad["error"] == "400 invalid_request_error: prompt is too long"
    assert (bad["output"], bad["checks"], bad["model"]) == (None, [], SONNET)
    assert checks_by_name(rows["out/ok"])["contains:ran"]["passed"] is True
    card = outcome.record.outputs.scorecard
    assert (card.graded, card.errors) == (1, 1)
    junit = (outcome.run_dir / "junit.xml").read_text(encoding="utf-8")
    assert 'type="GradingError"' in junit and "prompt is too long" in junit

    stub.responder = good  # fixed: the rerun asks again for the failed output only
    again = run(path)
    assert Counter(r.prompt for r in calls_of(stub, "agent")) == {
        prompts["ok"]: 1,
        prompts["bad"]: 2,
    }
    assert again.record.outputs.scorecard.rate.k == 2


def test_fatal_error_in_the_outputs_phase_stops_and_resume_finishes(tmp_path, stub):
    cases = [case(f"f{i}", f"Fatal task {i}.", "doc-writer", {"contains": "ran"}) for i in range(4)]
    path = write_project(tmp_path, cases, concurrency=1)
    good = script("doc-writer")
    stub.responder = lambda req: (
        Reply.error(401, message="invalid x-api-key") if kind_of(req) == "agent" else good(req)
    )
    first = run(path)
    assert first.record.status == "incomplete"
    assert "rejected the key" in (first.record.stopped_reason or "")
    assert kinds(stub) == {"route": 4, "agent": 1}  # nothing started after the fatal answer
    assert not (first.run_dir / "outputs.jsonl").read_text()

    stub.responder = good
    again = run(path, resume=first.run_dir)
    assert again.record.status == "complete" and again.record.stopped_reason is None
    assert len(outputs_of(first.run_dir)) == 4
    assert kinds(stub) == {"route": 4, "agent": 5}


# ------------------------------------------------------------------------------------------
# 2-3. The judge
# ------------------------------------------------------------------------------------------

IDX = "Our orders table is slow to search by customer_id. Write the migration."
ANSWER = "CREATE INDEX CONCURRENTLY idx ON orders (customer_id); it turns a scan into a seek."


def rubric_project(root: Path) -> Path:
    return write_project(
        root,
        [
            case(
                "idx",
                IDX,
                "sql-expert",
                {"contains": "CREATE INDEX"},
                {"rubric": "Explains why the index helps", "reference": "CREATE INDEX ..."},
            )
        ],
    )


def test_judge_grades_a_rubric_through_the_grade_tool(tmp_path, stub):
    path = rubric_project(tmp_path)
    stub.responder = script("sql-expert", {IDX: ANSWER})
    outcome = run(path)
    assert outcome.exit_code == 0
    assert kinds(stub) == {"route": 1, "agent": 1, "judge": 1}
    (judge,) = calls_of(stub, "judge")
    body = judge.body
    assert body["model"] == SONNET  # default: the run's model
    assert body["system"] == JUDGE_SYSTEM
    assert [t["name"] for t in body["tools"]] == ["grade"]
    assert body["tool_choice"] == {"type": "auto"}
    assert "<criterion>\nExplains why the index helps\n</criterion>" in judge.prompt
    assert f"<request>\n{IDX}\n</request>" in judge.prompt
    assert "<reference_answer>\nCREATE INDEX ...\n</reference_answer>" in judge.prompt
    assert f"<answer>\n{ANSWER}\n</answer>" in judge.prompt

    row = outputs_of(outcome.run_dir)["out/idx"]
    rubric = checks_by_name(row)["rubric:Explains why the index helps"]
    assert rubric == {
        "name": "rubric:Explains why the index helps",
        "kind": "rubric",
        "passed": True,
        "reason": GOOD_GRADE["reason"],
        "score": 4.0,
        "error": None,
    }
    assert row["judge_model"] == SONNET
    outputs = summary_of(outcome.run_dir)["outputs"]
    assert outputs["judge_models"] == [SONNET]
    assert outputs["scorecard"]["judge_mean"] == 4.0
    assert outputs["scorecard"]["rate"]["k"] == 1


def test_judge_model_option_picks_the_judge(tmp_path, stub):
    path = rubric_project(tmp_path)
    stub.responder = script("sql-expert", {IDX: ANSWER})
    result = invoke("run", str(path), "--judge-model", "haiku")
    assert result.exit_code == 0, result.output
    (judge,) = calls_of(stub, "judge")
    (agent,) = calls_of(stub, "agent")
    assert (judge.body["model"], agent.body["model"]) == (HAIKU, SONNET)
    run_dir = run_dir_of(tmp_path)
    assert summary_of(run_dir)["outputs"]["judge_models"] == [HAIKU]
    assert outputs_of(run_dir)["out/idx"]["judge_model"] == HAIKU


MALFORMED = {
    # case id -> (judge reply, words the grading error must hold)
    "text-only": (Reply.text("Looks good to me: pass."), "without the grade tool"),
    "passed-yes": (
        Reply.tool("grade", {"passed": "yes", "score": 4, "reason": "fine"}),
        "`passed` is 'yes'",
    ),
    "score-7": (
        Reply.tool("grade", {"passed": True, "score": 7, "reason": "fine"}),
        "`score` is 7",
    ),
    "no-reason": (Reply.tool("grade", {"passed": True, "score": 5}), "no `reason`"),
    "other-tool": (
        Reply.tool("submit", {"passed": True, "score": 5, "reason": "fine"}),
        "without the grade tool",
    ),
    "api-error": (Reply.error(400, message="judge request rejected"), "judge call failed"),
}


def test_malformed_judge_answers_are_grading_errors_never_passes(tmp_path, stub):
    prompts = {cid: f"Explain our caching layer, variant {cid}." for cid in [*MALFORMED, "good"]}
    path = write_project(
        tmp_path,
        [
            case(cid, prompt, "doc-writer", {"contains": "ran"}, {"rubric": "Is accurate"})
            for cid, prompt in prompts.items()
        ],
    )
    by_prompt = {prompts[cid]: reply for cid, (reply, _) in MALFORMED.items()}

    def grade(req: StubRequest) -> Reply:
        request = req.prompt.split("<request>\n", 1)[1].split("\n</request>", 1)[0]
        return by_prompt.get(request, Reply.tool("grade", GOOD_GRADE))

    stub.responder = script("doc-writer", grade=grade)
    outcome = run(path)
    assert outcome.record.status == "complete"
    rows = outputs_of(outcome.run_dir)
    for cid, (_, words) in MALFORMED.items():
        row = rows[f"out/{cid}"]
        rubric = checks_by_name(row)["rubric:Is accurate"]
        assert rubric["passed"] is None, cid
        assert words in rubric["error"], (cid, rubric["error"])
        assert checks_by_name(row)["contains:ran"]["passed"] is True
    assert checks_by_name(rows["out/good"])["rubric:Is accurate"]["passed"] is True

    card = summary_of(outcome.run_dir)["outputs"]["scorecard"]
    assert (card["results"], card["graded"], card["errors"]) == (7, 1, 6)
    assert (card["rate"]["k"], card["rate"]["n"]) == (1, 1)  # the errors are not passes
    rubric_score = next(c for c in card["checks"] if c["kind"] == "rubric")
    assert (rubric_score["rate"]["n"], rubric_score["errors"]) == (1, 6)
    assert card["judge_n"] == 1  # no score is taken from a malformed answer

    suite = next(
        s
        for s in ET.parse(outcome.run_dir / "junit.xml").getroot()
        if s.get("name") == "agenteval.out.outputs"
    )
    assert (suite.get("tests"), suite.get("errors"), suite.get("failures")) == ("7", "6", "0")
    errored = {
        tc.get("name").removesuffix(" output"): tc.find("error")
        for tc in suite
        if tc.find("error") is not None
    }
    assert set(errored) == {f"out/{cid}" for cid in MALFORMED}
    assert all(e.get("type") == "GradingError" for e in errored.values())
    assert "without the grade tool" in errored["out/text-only"].get("message")


# ------------------------------------------------------------------------------------------
# 4. Unicode and very long outputs
# ------------------------------------------------------------------------------------------


def test_unicode_and_very_long_output_through_the_whole_pipeline(tmp_path, stub):
    head = "結論: インデックスを追加します 🚀 café au lait\n"
    tail = "\n完了 ✅ 👍🏽"
    answer = head + "データベースの索引 😀🎉 " * 15_000 + tail
    assert len(answer.encode()) > 500_000
    words = len(answer.split())
    prompt = "インデックスを追加して 🙏"
    path = write_project(
        tmp_path,
        [
            case(
                "jp",
                prompt,
                "sql-expert",
                {
                    "contains": ["インデックス", "完了 ✅ 👍🏽"]
                },  # the tail lies past the judge's cut
                {"name": "nfc", "contains": "cafe\u0301"},  # decomposed é matches the precomposed
                {"icontains_any": ["CAFÉ AU LAIT"]},
                {"not_contains": "🚫"},
                {"max_words": words},
                {"name": "too-long", "max_words": words - 1},
                {"rubric": "答えは日本語ですか"},
            )
        ],
    )
    stub.responder = script("sql-expert", {prompt: answer})
    outcome = run(path)
    assert outcome.record.status == "complete"

    row = outputs_of(outcome.run_dir)["out/jp"]
    assert row["output"] == answer  # every character survives the API, the record and reading
    checks = checks_by_name(row)
    assert {n: c["passed"] for n, c in checks.items()} == {
        "contains:インデックス|完了 ✅ 👍🏽": True,
        "nfc": True,
        "icontains_any:CAFÉ AU LAIT": True,
        "not_contains:🚫": True,
        f"max_words:{words}": True,
        "too-long": False,
        "rubric:答えは日本語ですか": True,
    }
    assert checks["too-long"]["reason"] == f"{words} words > {words - 1}"

    (judge,) = calls_of(stub, "judge")
    shown = judge.prompt.split("<answer>\n", 1)[1].split("\n</answer>", 1)[0]
    assert shown.startswith(answer[:MAX_JUDGED_CHARS])
    assert shown.endswith(f"[... {len(answer) - MAX_JUDGED_CHARS} more characters]")
    assert len(shown) <= MAX_JUDGED_CHARS + 100 and len(judge.prompt) < 31_000
    assert tail not in judge.prompt

    run_dir = outcome.run_dir
    assert "too-long" in (run_dir / "report.html").read_text(encoding="utf-8")
    assert len((run_dir / "report.md").read_bytes()) < 64_000
    junit = ET.parse(run_dir / "junit.xml").getroot()
    (failure,) = junit.iter("failure")
    assert "too-long" in failure.get("message") and "結論" in failure.text


# ------------------------------------------------------------------------------------------
# 5. python: checks
# ------------------------------------------------------------------------------------------


def test_python_check_that_raises_is_an_error_naming_it_and_the_run_completes(
    tmp_path, keep_sys_path
):
    path = write_project(
        tmp_path,
        [
            case(
                "py",
                "Write a query for the top customers.",
                "sql-expert",
                {"python": "evalfolder_checks_7f3:has_select"},
                {"python": "projectfolder_checks_7f3:explode"},
                {"python": "projectfolder_checks_7f3:nothing_here"},
                {"contains": "SELECT"},
            )
        ],
        router={"backend": "lexical"},
        outputs={
            "recorded": "../recorded.jsonl",
            "trusted_check_modules": ["evalfolder_checks_7f3", "projectfolder_checks_7f3"],
        },
    )
    (tmp_path / "evals" / "evalfolder_checks_7f3.py").write_text(
        "def has_select(output, case):\n"
        "    return 'SELECT' in output, f\"SELECT in {case['id']}\"\n",
        encoding="utf-8",
    )
    (tmp_path / "projectfolder_checks_7f3.py").write_text(
        "def explode(output, case):\n    raise ValueError('boom')\n", encoding="utf-8"
    )
    line = {"case_id": "out/py", "output": "SELECT name FROM customers LIMIT 10;"}
    (tmp_path / "recorded.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    for module in ("evalfolder_checks_7f3", "projectfolder_checks_7f3"):
        assert importlib.util.find_spec(module) is None  # only the run can make it importable

    outcome = run(path)
    assert outcome.exit_code == 0 and outcome.record.status == "complete"
    checks = checks_by_name(outputs_of(outcome.run_dir)["out/py"])
    good = checks["python:evalfolder_checks_7f3:has_select"]
    assert (good["passed"], good["reason"]) == (True, "SELECT in out/py")
    boom = checks["python:projectfolder_checks_7f3:explode"]
    assert boom["passed"] is None
    assert "'projectfolder_checks_7f3:explode' raised ValueError: boom" in boom["error"]
    missing = checks["python:projectfolder_checks_7f3:nothing_here"]
    assert missing["passed"] is None and "no function 'nothing_here'" in missing["error"]
    assert checks["contains:SELECT"]["passed"] is True
    card = outcome.record.outputs.scorecard
    assert (card.graded, card.errors) == (0, 1)


def test_python_check_that_exits_costs_one_result_not_the_run(tmp_path, keep_sys_path):
    path = write_project(
        tmp_path,
        [case("py", "Write a query.", "sql-expert", {"python": "exiting_checks_7f3:bail"})],
        router={"backend": "lexical"},
        outputs={"recorded": "../recorded.jsonl", "trusted_check_modules": ["exiting_checks_7f3"]},
    )
    (tmp_path / "exiting_checks_7f3.py").write_text(
        "import sys\n\ndef bail(output, case):\n    sys.exit('cannot grade')\n", encoding="utf-8"
    )
    line = {"case_id": "out/py", "output": "SELECT 1;"}
    (tmp_path / "recorded.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    outcome = run(path)
    (check,) = outputs_of(outcome.run_dir)["out/py"]["checks"]
    assert check["passed"] is None and "exiting_checks_7f3:bail" in check["error"]
    assert "SystemExit" in check["error"]


# ------------------------------------------------------------------------------------------
# 6. Must show: one agent call and one judge call per case, none on the rerun
# ------------------------------------------------------------------------------------------


def test_100_cases_make_100_agent_and_100_judge_calls_then_none_on_rerun(tmp_path, stub):
    names = sorted(AGENTS)
    cases = [
        case(
            f"c{i:03d}",
            f"Task {i:03d}: tidy up module number {i} of the billing service.",
            names[i % len(names)],
            {"contains": "ran"},
            {"rubric": "Does what the task asks"},
        )
        for i in range(100)
    ]
    path = write_project(tmp_path, cases)
    stub.responder = script({c["prompt"]: c["expected"] for c in cases})

    first = run(path)
    assert first.record.status == "complete"
    assert kinds(stub) == {"route": 100, "agent": 100, "judge": 100}
    rate = first.record.outputs.scorecard.rate
    assert (rate.k, rate.n) == (100, 100)

    before = len(stub.calls)
    again = run(path)
    assert len(stub.calls) == before  # no agent, judge (or routing) call on the rerun
    assert again.record.status == "complete", again.record.stopped_reason
    rows = outputs_of(again.run_dir)
    assert len(rows) == 100 and all(r["cached"] for r in rows.values())
    assert again.record.outputs.scorecard.rate.k == 100


# ------------------------------------------------------------------------------------------
# 7. Oracle routing, and what a misroute costs
# ------------------------------------------------------------------------------------------

ORACLE_CASES = [
    case("idx", "Index the orders table.", "sql-expert", {"contains": "ran sql-expert"}),
    case(
        "plan", "Speed up the monthly report query.", "sql-expert", {"contains": "ran sql-expert"}
    ),
    case("readme", "Write our README.", "doc-writer", {"contains": "ran doc-writer"}),
    case("misc", "Plan the offsite.", "generalist", {"contains": "ran generalist"}),
]


def test_oracle_routing_runs_the_expected_agent_whatever_routing_chose(tmp_path, stub):
    path = write_project(tmp_path, ORACLE_CASES)
    stub.responder = script("generalist")  # routing sends everything to one agent
    result = invoke("run", str(path), "--oracle-routing")
    assert result.exit_code == 0, result.output
    ran = Counter(AGENT_OF_BODY[r.body["system"]] for r in calls_of(stub, "agent"))
    assert ran == {"sql-expert": 2, "doc-writer": 1, "generalist": 1}
    run_dir = run_dir_of(tmp_path)
    rows = outputs_of(run_dir)
    assert {cid: (r["agent"], r["routed"], r["oracle"]) for cid, r in rows.items()} == {
        "out/idx": ("sql-expert", "generalist", True),
        "out/plan": ("sql-expert", "generalist", True),
        "out/readme": ("doc-writer", "generalist", True),
        "out/misc": ("generalist", "generalist", True),
    }
    outputs = summary_of(run_dir)["outputs"]
    card = outputs["scorecard"]
    assert outputs["oracle_routing"] is True
    assert (card["rate"]["k"], card["rate"]["n"]) == (4, 4)
    # routing did not choose the agent that ran: no link between the two halves
    assert card["routed_right"]["n"] == card["misrouted"]["n"] == 0
    assert "oracle routing" in (run_dir / "report.html").read_text(encoding="utf-8")


def test_misrouted_case_runs_the_wrong_agent_and_is_counted(tmp_path, stub):
    path = write_project(tmp_path, ORACLE_CASES)
    stub.responder = script("generalist")
    result = invoke("run", str(path))
    assert result.exit_code == 0, result.output
    ran = Counter(AGENT_OF_BODY[r.body["system"]] for r in calls_of(stub, "agent"))
    assert ran == {"generalist": 4}
    run_dir = run_dir_of(tmp_path)
    rows = outputs_of(run_dir)
    assert {cid: r["agent"] for cid, r in rows.items()} == dict.fromkeys(rows, "generalist")
    assert [cid for cid, r in rows.items() if checks_by_name(r)] == list(rows)
    card = summary_of(run_dir)["outputs"]["scorecard"]
    assert (card["misrouted"]["k"], card["misrouted"]["n"]) == (0, 3)
    assert (card["routed_right"]["k"], card["routed_right"]["n"]) == (1, 1)
    assert "Misrouted requests: the wrong agent's output passed 0.0% (0/3)" in (
        run_dir / "report.md"
    ).read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------
# 8. Recorded outputs
# ------------------------------------------------------------------------------------------

RECORDED_CASES = [
    case("idx", "Index the orders table.", "sql-expert", {"contains": "CREATE INDEX"}),
    case("readme", "Write our README.", "doc-writer", {"regex": "(?m)^# "}),
    case("misc", "Plan the offsite.", "generalist", {"contains": "venue"}),
]
RECORDED_LINES = [
    {"case_id": "out/idx", "output": "CREATE INDEX idx ON orders (id);"},
    {"case_id": "out/readme", "output": "# Invoicer\nSends invoices.", "agent": "generalist"},
    {"case_id": "out/misc", "output": "Bring snacks.", "agent": "generalist", "trial": 0},
]


def write_recorded(root: Path, lines: list[Any]) -> Path:
    path = root / "recorded.jsonl"
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


def assert_recorded_graded(run_dir: Path) -> None:
    rows = outputs_of(run_dir)
    got = {cid: (r["source"], r["agent"], checks_by_name(r)) for cid, r in rows.items()}
    assert {cid: (s, a) for cid, (s, a, _) in got.items()} == {
        "out/idx": ("recorded", "sql-expert"),  # no `agent`: the expected agent wrote it
        "out/readme": ("recorded", "generalist"),  # attributed as the line says
        "out/misc": ("recorded", "generalist"),
    }
    assert [c["passed"] for _, _, cs in got.values() for c in cs.values()] == [True, True, False]
    assert all(r["model"] is None and r["usage"]["input_tokens"] == 0 for r in rows.values())
    card = summary_of(run_dir)["outputs"]["scorecard"]
    assert {a["agent"]: a["outputs"] for a in card["agents"]} == {"generalist": 2, "sql-expert": 1}


def test_recorded_outputs_call_no_agent(tmp_path, stub):
    path = write_project(tmp_path, RECORDED_CASES)
    recorded = write_recorded(tmp_path, RECORDED_LINES)
    stub.responder = script("sql-expert")
    result = invoke("run", str(path), "--outputs", str(recorded))
    assert result.exit_code == 0, result.output
    assert kinds(stub) == {"route": 3}  # routing only
    assert_recorded_graded(run_dir_of(tmp_path))


def test_recorded_outputs_with_the_lexical_router_send_nothing(tmp_path, stub):
    path = write_project(tmp_path, RECORDED_CASES)
    recorded = write_recorded(tmp_path, RECORDED_LINES)
    result = invoke("run", str(path), "--router", "lexical", "--outputs", str(recorded))
    assert result.exit_code == 0, result.output
    assert stub.requests == []
    assert_recorded_graded(run_dir_of(tmp_path))


def test_recorded_outputs_are_graded_fully_offline(tmp_path):
    path = write_project(tmp_path, RECORDED_CASES, router={"backend": "lexical"})
    recorded = write_recorded(tmp_path, RECORDED_LINES)
    result = invoke("run", str(path), "--outputs", str(recorded))
    assert result.exit_code == 0, result.output
    run_dir = run_dir_of(tmp_path)
    assert_recorded_graded(run_dir)
    outputs = summary_of(run_dir)["outputs"]
    assert outputs["recorded"] == str(recorded.resolve()) and outputs["sample_data"] is False
    assert summary_of(run_dir)["status"] == "complete"


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("{not json", "not valid JSON"),
        ({"case_id": "out/idx"}, "needs a string `case_id` and a string `output`"),
        ({"case_id": "out/idx", "output": 42}, "needs a string `case_id` and a string `output`"),
        ('["out/idx", "text"]', "needs a string `case_id` and a string `output`"),
        ({"case_id": "out/idx", "output": "x", "agent": 3}, "`agent` must be an agent name"),
    ],
    ids=["not-json", "no-output", "output-not-string", "not-an-object", "agent-not-string"],
)
def test_malformed_recorded_file_is_exit_2_naming_the_line(tmp_path, line, words):
    path = write_project(tmp_path, RECORDED_CASES, router={"backend": "lexical"})
    recorded = write_recorded(tmp_path, [RECORDED_LINES[0], "", line])
    result = CliRunner().invoke(main, ["run", str(path), "--outputs", str(recorded), "--plain"])
    assert result.exit_code == 2, result.output
    errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    assert f"{recorded.resolve()}:3: " in errors[0] and words in errors[0]
    assert not list(tmp_path.glob("reports/*/results.jsonl"))  # refused before routing


def test_malformed_recorded_file_leaves_no_run_folder(tmp_path):
    path = write_project(tmp_path, RECORDED_CASES, router={"backend": "lexical"})
    recorded = write_recorded(tmp_path, ["{not json"])
    result = CliRunner().invoke(main, ["run", str(path), "--outputs", str(recorded), "--plain"])
    assert result.exit_code == 2
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_recorded_line_with_a_bad_trial_is_exit_2_naming_the_line(tmp_path):
    path = write_project(tmp_path, RECORDED_CASES, router={"backend": "lexical"})
    bad = {"case_id": "out/idx", "output": "x", "trial": "first"}
    recorded = write_recorded(tmp_path, [RECORDED_LINES[0], bad])
    result = CliRunner().invoke(main, ["run", str(path), "--outputs", str(recorded), "--plain"])
    assert result.exit_code == 2, result.output
    assert f"{recorded.resolve()}:2: " in result.stderr


def test_rubric_on_recorded_outputs_without_a_key_is_a_grading_error(tmp_path):
    path = write_project(
        tmp_path,
        [case("idx", "Index the orders table.", "sql-expert", {"rubric": "Explains why"})],
        router={"backend": "lexical"},
    )
    recorded = write_recorded(tmp_path, RECORDED_LINES[:1])
    result = invoke("run", str(path), "--outputs", str(recorded))
    assert result.exit_code == 0, result.output
    run_dir = run_dir_of(tmp_path)
    (check,) = outputs_of(run_dir)["out/idx"]["checks"]
    assert check["passed"] is None and "needs a judge model" in check["error"]
    card = summary_of(run_dir)["outputs"]["scorecard"]
    assert (card["graded"], card["errors"], card["rate"]["k"]) == (0, 1, 0)
    assert "needs a judge model" in (run_dir / "junit.xml").read_text(encoding="utf-8")


def test_judge_cost_on_recorded_outputs_is_counted(tmp_path, stub):
    path = write_project(
        tmp_path, [case("idx", "Index the orders table.", "sql-expert", {"rubric": "Why"})]
    )
    recorded = write_recorded(tmp_path, RECORDED_LINES[:1])
    stub.responder = script("sql-expert")
    result = invoke("run", str(path), "--outputs", str(recorded))
    assert result.exit_code == 0, result.output
    run_dir = run_dir_of(tmp_path)
    row = outputs_of(run_dir)["out/idx"]
    outputs = summary_of(run_dir)["outputs"]
    assert row["cost_usd"] > 0 and outputs["usage"]["input_tokens"] > 0
    assert outputs["cost_usd"] == pytest.approx(row["cost_usd"])


def test_judge_calls_on_recorded_outputs_are_cached_with_the_lexical_router(tmp_path, stub):
    path = write_project(
        tmp_path,
        [case("idx", "Index the orders table.", "sql-expert", {"rubric": "Why"})],
        router={"backend": "lexical"},
    )
    recorded = write_recorded(tmp_path, RECORDED_LINES[:1])
    stub.responder = script("sql-expert")
    for _ in range(2):
        assert invoke("run", str(path), "--outputs", str(recorded)).exit_code == 0
    assert kinds(stub) == {"judge": 1}


# ------------------------------------------------------------------------------------------
# 9, 10, 13. The offline demo, output gates, and a plain run without a key
# ------------------------------------------------------------------------------------------


def test_offline_demo_grades_the_sample_outputs(demo_project):
    result = invoke("run", "evals/quickstart.yaml")
    assert result.exit_code == 0, result.output
    run_dir = run_dir_of(demo_project)
    summary = summary_of(run_dir)
    outputs = summary["outputs"]
    assert summary["status"] == "complete"
    assert outputs["sample_data"] is True
    assert outputs["scorecard"]["graded"] == 8 == len(outputs_of(run_dir))
    assert outputs["judge_models"] == [] and outputs["agent_models"] == []
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert 'id="outputs"' in html and "sample data" in html
    assert "### Outputs (sample data)" in (run_dir / "report.md").read_text(encoding="utf-8")
    suites = {s.get("name"): s for s in ET.parse(run_dir / "junit.xml").getroot()}
    suite = suites["agenteval.quickstart.outputs"]
    assert (suite.get("tests"), suite.get("errors")) == ("8", "0")
    failed = [tc.get("name") for tc in suite if tc.find("failure") is not None]
    assert failed == ["outputs/flaky-cart-test output"]
    assert suite.get("failures") == "1"


def gated(demo_project: Path, **gates: float) -> Path:
    data = yaml.safe_load((demo_project / "evals" / "quickstart.yaml").read_text())
    data["gates"] = {**data["gates"], **gates}
    path = demo_project / "evals" / "gated.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("gates", "args", "code", "failed"),
    [
        ({"min_output_pass_rate": 0.95}, (), 1, "min_output_pass_rate"),
        ({"min_output_pass_rate": 0.8}, (), 0, None),
        ({}, ("--fail-under", "min_output_pass_rate=0.9"), 1, "min_output_pass_rate"),
        ({}, ("--fail-under", "min_output_pass_rate=0.875"), 0, None),
        ({"min_agent_output_pass_rate": 0.5}, (), 1, "min_agent_output_pass_rate"),
    ],
    ids=["config-fails", "config-met", "fail-under-fails", "fail-under-met", "worst-agent"],
)
def test_output_gates(demo_project, gates, args, code, failed):
    result = invoke("run", str(gated(demo_project, **gates)), *args)
    assert result.exit_code == code, result.output
    last = result.output.strip().splitlines()[-1]
    gate_results = summary_of(run_dir_of(demo_project))["gates"]
    if failed is None:
        assert not last.startswith("gate failed") and all(g["passed"] for g in gate_results)
        return
    assert last.startswith(f"gate failed: {failed}: "), last
    if failed == "min_output_pass_rate":
        assert "output_pass_rate 0.875 <" in last
    else:
        assert "(worst: test-automation-engineer)" in last


def test_fail_under_output_pass_rate_names_the_gate_spelling(demo_project):
    result = CliRunner().invoke(main, ["run", "--fail-under", "output_pass_rate=0.9"])
    assert result.exit_code == 2
    assert "min_output_pass_rate" in result.stderr  # the hint lists the accepted names


def test_plain_run_without_a_key_routes_output_cases_but_grades_nothing(demo_project):
    result = invoke("run")
    assert result.exit_code == 0, result.output
    run_dir = run_dir_of(demo_project)
    summary = summary_of(run_dir)
    results = (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()
    routed = {json.loads(x)["case_id"] for x in results}
    assert {f"outputs/{c}" for c in ("orders-index", "n-plus-one")} <= routed
    assert summary["status"] == "complete" and summary["outputs"] is None
    assert not (run_dir / "outputs.jsonl").exists()
    (note,) = [n for n in summary["notes"] if "not graded" in n]
    assert note.startswith("8 cases carry output checks, not graded")
    assert "--outputs FILE.jsonl" in note and "ANTHROPIC_API_KEY" in note


# ------------------------------------------------------------------------------------------
# 11. Resume after a kill in the outputs phase
# ------------------------------------------------------------------------------------------


def test_resume_after_sigkill_in_the_outputs_phase_runs_each_output_once(tmp_path, stub):
    cases = [
        case(f"r{i:02d}", f"Resume task {i:02d}.", "doc-writer", {"contains": "ran"})
        | {"checks": [{"contains": "ran"}, {"rubric": "On topic"}]}
        for i in range(12)
    ]
    path = write_project(tmp_path, cases)
    stub.responder = script("doc-writer")
    stub.latency = lambda req: 0.0 if req.delegation_tool else 0.2
    proc = subprocess.Popen(
        [str(AGENTEVAL), "run", str(path), "--concurrency", "2", "--plain"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    outputs = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"run ended early: {proc.communicate()}"
        found = list((tmp_path / "reports").glob("*/outputs.jsonl"))
        if found and found[0].read_bytes().count(b"\n") >= 2:
            outputs = found[0]
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    assert outputs is not None, "no outputs within 30 s"
    run_dir = outputs.parent
    done_at_kill = {
        json.loads(x)["case_id"]
        for x in outputs.read_bytes().splitlines(keepends=True)
        if x.endswith(b"\n")
    }
    assert 2 <= len(done_at_kill) < 12
    assert load_record(run_dir).status == "running"
    routing_calls = kinds(stub)["route"]

    result = invoke("run", "--resume", str(run_dir))
    assert result.exit_code == 0, result.output
    rows = outputs_of(run_dir)
    assert set(rows) == {f"out/{c['id']}" for c in cases}
    assert all(c["passed"] is True for r in rows.values() for c in r["checks"])
    assert load_record(run_dir).status == "complete"
    assert kinds(stub)["route"] == routing_calls == 12  # routing was done: not asked again
    agent_calls = Counter(r.prompt for r in calls_of(stub, "agent"))
    prompts = {f"out/{c['id']}": c["prompt"] for c in cases}
    assert all(agent_calls[prompts[cid]] == 1 for cid in done_at_kill)
    assert sum(agent_calls.values()) <= 12 + 2  # only what was in flight at the kill again


# ------------------------------------------------------------------------------------------
# 12. Validation
# ------------------------------------------------------------------------------------------


def test_misspelled_check_is_one_error_line_with_file_line_and_the_fix(tmp_path):
    path = write_project(
        tmp_path,
        [
            case("ok", "Index the orders table.", "sql-expert", {"contains": "CREATE"}),
            case("typo", "Write our README.", "doc-writer", {"contians": "# "}),
        ],
        router={"backend": "lexical"},
    )
    result = CliRunner().invoke(main, ["run", str(path), "--plain"])
    assert result.exit_code == 2, result.output
    errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    dataset = (tmp_path / "datasets" / "out.yaml").resolve()
    line = next(
        n for n, text in enumerate(dataset.read_text().splitlines(), 1) if "id: typo" in text
    )
    assert f"{dataset}:{line}: " in errors[0]
    assert "unknown check kind 'contians'" in errors[0]
    assert "did you mean 'contains'?" in errors[0]
    assert not (tmp_path / "reports").exists()


# --- the output scorecard: intervals clustered by case -----------------------------------------


def graded(case: str, trial: int, passed: bool, agent: str = "sql-expert", **kw: Any):
    from agenteval.cases.checks import CheckResult
    from agenteval.outputs.results import OutputResult

    score = kw.pop("score", None)
    return OutputResult(
        case_id=case,
        trial=trial,
        agent=agent,
        routed=kw.pop("routed", agent),
        expected=(agent,),
        oracle=False,
        source="live",
        checks=(CheckResult(name="c", kind="contains", passed=passed, reason="", score=score),),
    )


def test_output_pass_rates_are_clustered_by_case():
    from agenteval.outputs.scorecard import OutputScorecard, score_outputs
    from agenteval.stats import wilson

    # 2 cases x 5 identical trials: the information of 2 outputs, not of 10
    results = [graded("a", t, True) for t in range(5)] + [graded("b", t, False) for t in range(5)]
    card = score_outputs(results)
    for rate in (card.rate, card.check_rate, card.agents[0].rate, card.checks[0].rate):
        assert (rate.k, rate.n) == (5, 10)
        assert (rate.low, rate.high) == wilson(1, 2)
    assert card.routed_right == card.rate
    assert card.consistency == 1.0 and card.consistency_ci == wilson(2, 2)
    assert OutputScorecard.from_dict(json.loads(json.dumps(card.to_dict()))) == card


def test_misrouted_and_routed_right_rates_carry_clustered_intervals():
    from agenteval.outputs.scorecard import score_outputs
    from agenteval.stats import wilson

    results = [graded(f"m{i}", t, False, routed="doc-writer") for i in range(3) for t in range(2)]
    results += [graded(f"r{i}", t, True) for i in range(4) for t in range(2)]
    card = score_outputs(results)
    assert (card.misrouted.k, card.misrouted.n) == (0, 6)
    assert (card.misrouted.low, card.misrouted.high) == wilson(0, 3)
    assert (card.routed_right.low, card.routed_right.high) == wilson(4, 4)


def test_judge_means_carry_an_interval_that_does_not_collapse():
    from agenteval.outputs.scorecard import score_outputs

    results = [graded(f"c{i}", 0, True, score=5.0) for i in range(6)]
    card = score_outputs(results)
    assert card.judge_mean == 5.0 and card.judge_n == 6
    low, high = card.judge_ci
    assert 1.0 <= low < 5.0 == high
    assert card.agents[0].judge_mean == 5.0 and card.agents[0].judge_ci == card.judge_ci
    mixed = score_outputs([graded(f"c{i}", 0, True, score=float(1 + i % 5)) for i in range(10)])
    low, high = mixed.judge_ci
    assert 1.0 <= low < mixed.judge_mean < high <= 5.0


def test_the_agent_is_given_the_main_models_task_prompt_as_claude_code_does(tmp_path, stub):
    prompts = {"idx": "index orders please", "readme": "write our README"}
    path = write_project(
        tmp_path,
        [
            case("idx", prompts["idx"], "sql-expert", {"contains": "ran"}),
            case("readme", prompts["readme"], "doc-writer", {"contains": "ran"}),
        ],
    )
    task = "Add a B-tree index on orders.customer_id and explain the lock it takes."

    def respond(req: StubRequest) -> Reply:
        if kind_of(req) == "route":  # the idx case gets a task prompt of the main model's own
            agent = "sql-expert" if req.prompt == prompts["idx"] else "doc-writer"
            return Reply.route(agent, prompt=task if agent == "sql-expert" else "")
        return Reply.text(f"ran {AGENT_OF_BODY[req.body['system']]}")

    stub.responder = respond
    outcome = run(path)
    assert outcome.record.status == "complete"
    given = {AGENT_OF_BODY[r.body["system"]]: r.prompt for r in calls_of(stub, "agent")}
    assert given == {"sql-expert": task, "doc-writer": prompts["readme"]}  # empty task: request
    rows = {k.rsplit("/", 1)[-1]: v for k, v in outputs_of(outcome.run_dir).items()}
    assert rows["idx"]["agent_input"] == "task" and rows["readme"]["agent_input"] == "request"
    results = [
        json.loads(ln)
        for ln in (outcome.run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    tasks = {r["case_id"].rsplit("/", 1)[-1]: r["task_prompt"] for r in results}
    assert tasks["idx"] == task
    summary = summary_of(outcome.run_dir)
    assert summary["outputs"]["agent_inputs"] == {"task": 1, "request": 1}
    html = (outcome.run_dir / "report.html").read_text(encoding="utf-8")
    assert "task prompt from the routing decision (1 outputs)" in html


def test_spend_on_grading_stopped_by_the_budget_is_in_the_record_and_the_report(tmp_path, stub):
    """Finding B.3: the agent calls paid before the budget stopped the judges count."""
    rubric = {"rubric": "Explains the change", "reference": "..."}
    cases = [case(f"b{i}", f"Budget task {i}.", "doc-writer", rubric) for i in range(8)]
    path = write_project(tmp_path, cases, concurrency=1, max_cost_usd=0.09)
    # long answers: the first agent call costs most of the budget, so its judge cannot start
    long = {c["prompt"]: "The change, explained. " * 700 for c in cases}
    stub.responder = script("doc-writer", long)
    first = run(path)
    assert first.record.stop == "budget", first.record.stopped_reason
    spent = float(re.search(r"spent \$([0-9.]+)", first.record.stopped_reason or "").group(1))
    assert first.record.cost_usd is not None and first.record.cost_usd >= spent - 1e-4
    report = (first.run_dir / "report.md").read_text(encoding="utf-8")
    assert f"${first.record.cost_usd:.4f}" in report or f"${first.record.cost_usd:.2f}" in report
    agents_paid = kinds(stub)["agent"]
    again = run(path, resume=first.run_dir, max_cost_usd=50)
    assert again.record.status == "complete", again.record.stopped_reason
    assert agents_paid == 1 and kinds(stub)["agent"] == 8  # the paid one is not sent again
