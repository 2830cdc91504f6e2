"""The runner with the Anthropic router, through the real SDK against the loopback stub.

Concurrency and back-off, the response cache, prompt-cache warm-up, the budget, resume after
SIGKILL / Ctrl-C / a torn line, and that no file a run writes ever holds the API key.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import DATASET_EVAL, run_config, start_cli, wait_for_lines
from stub_anthropic import Fault, Reply, StubAnthropic, answers

from agenteval.cli import main
from agenteval.config import EvalConfig, load_config
from agenteval.errors import AgentEvalError
from agenteval.execution import executor as executor_module
from agenteval.execution.executor import AdaptiveLimit
from agenteval.pipeline import RunOutcome
from agenteval.record.schema import UsageInfo
from agenteval.record.store import load_record

KEY = "sk-ant-test-runner-0123456789abcdef"
ROUTING = """\
name: routing
agents: [../agents]
datasets: [../datasets/routing.yaml]
router:
  backend: anthropic
out: ../reports
"""
ROUTING_CASES = 102  # 40 examples (kfold:5 by default) + 62 dataset cases


@pytest.fixture
def dataset_eval(demo_project: Path) -> Path:
    """The demo catalog's 62 dataset cases only: one catalog view, one prompt prefix."""
    path = demo_project / "evals" / "ds.yaml"
    path.write_text(DATASET_EVAL, encoding="utf-8")
    return path


@pytest.fixture
def routing_eval(demo_project: Path) -> Path:
    """The demo catalog's examples (kfold:5: five views) and its routing dataset (a sixth)."""
    path = demo_project / "evals" / "routing.yaml"
    path.write_text(ROUTING, encoding="utf-8")
    return path


def run(config: EvalConfig | Path | None = None, **changes: Any) -> RunOutcome:
    spec_keys = {"only", "limit", "resume"}
    spec = {k: changes.pop(k) for k in list(changes) if k in spec_keys}
    if isinstance(config, Path):
        config = load_config(config)
    config = config or EvalConfig(name="demo", router={"backend": "anthropic"})
    router = changes.pop("router", {})
    config = config.model_copy(
        update={**changes, "router": config.router.model_copy(update=router)}
    )
    return run_config(config, **spec)


def lines_of(run_dir: Path) -> list[dict[str, Any]]:
    text = (run_dir / "results.jsonl").read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), "torn last line"
    return [json.loads(line) for line in text.splitlines()]


def assert_each_once(run_dir: Path, expected: int) -> list[dict[str, Any]]:
    rows = lines_of(run_dir)
    keys = [(r["case_id"], r["trial"]) for r in rows]
    assert len(keys) == len(set(keys)), "a (case, trial) was written twice"
    assert len(rows) == expected, f"{len(rows)} lines, expected {expected}"
    return rows


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def only_run_dir(root: Path) -> Path:
    (run_dir,) = [p for p in (root / "reports").iterdir() if p.is_dir()]
    return run_dir


# ------------------------------------------------------------------------------------------
# Concurrency
# ------------------------------------------------------------------------------------------


def test_adaptive_limit_halves_on_overload_and_regrows():
    limit = AdaptiveLimit(limit=8, ceiling=8)
    history = []
    for _ in range(4):
        limit.overloaded()
        history.append(limit.limit)
    assert history == [4, 2, 1, 1]  # never below the floor
    for _ in range(3):
        limit.succeeded()
    assert limit.limit == 4
    for _ in range(10):
        limit.succeeded()
    assert limit.limit == 8  # never above the ceiling
    floor = AdaptiveLimit(limit=6, ceiling=6, floor=2)
    floor.overloaded()
    floor.overloaded()
    assert floor.limit == 2


def test_adaptive_limit_bounds_tasks_in_flight_and_applies_a_lower_limit():
    async def go() -> tuple[int, int]:
        limit = AdaptiveLimit(limit=4, ceiling=4)
        peak = {"before": 0, "after": 0}
        phase = "before"

        async def task(i: int) -> None:
            async with limit:
                peak[phase] = max(peak[phase], limit.in_flight)
                await asyncio.sleep(0.01)

        await asyncio.gather(*(task(i) for i in range(20)))
        limit.overloaded()
        phase = "after"
        await asyncio.gather(*(task(i) for i in range(20)))
        return peak["before"], peak["after"]

    before, after = asyncio.run(go())
    assert (before, after) == (4, 2)


def test_requests_in_flight_never_exceed_the_concurrency(routing_eval, stub):
    stub.latency = 0.03
    outcome = run(routing_eval, concurrency=4, holdout="none", limit=30)
    assert outcome.record.status == "complete"
    assert stub.count_endpoint("messages") == 30
    assert stub.max_in_flight == 4  # reached, never passed


def test_overload_halves_the_limit_in_a_run_and_it_grows_back(routing_eval, stub, monkeypatch):
    history: list[int] = []

    class Recording(AdaptiveLimit):
        def overloaded(self) -> None:
            super().overloaded()
            history.append(self.limit)

        def succeeded(self) -> None:
            super().succeeded()
            history.append(self.limit)

    monkeypatch.setattr(executor_module, "AdaptiveLimit", Recording)
    stub.latency = 0.02
    stub.faults = [Fault.at([4, 5, 6], 529)]
    outcome = run(routing_eval, concurrency=8, holdout="none", limit=40)
    assert outcome.record.headline["errors"] == 0
    assert min(history) <= 2  # three 529s: 8 -> 4 -> 2 -> 1
    assert history[-1] == 8  # and back to the ceiling by the end
    assert stub.max_in_flight <= 8


def test_rate_limits_and_overloads_lose_and_duplicate_nothing(routing_eval, stub):
    stub.latency = 0.01
    stub.faults = [Fault.every(10, 429), Fault.every(13, 529)]
    outcome = run(routing_eval, concurrency=8, limit=60)
    rows = assert_each_once(outcome.run_dir, 60)
    assert all(r["error"] is None and r["label"] is not None for r in rows)
    fired = sum(f.fired for f in stub.faults)
    assert fired >= 8
    assert stub.count_endpoint("messages") == 60 + fired
    assert outcome.record.status == "complete" and outcome.record.headline["errors"] == 0


# ------------------------------------------------------------------------------------------
# Response cache
# ------------------------------------------------------------------------------------------


def test_identical_rerun_is_answered_from_the_cache(demo_project, stub):
    first = run(limit=12)
    assert stub.count_endpoint("messages") == 12
    assert not any(r["cached"] for r in lines_of(first.run_dir))
    second = run(limit=12)
    assert stub.count_endpoint("messages") == 12  # no new call
    rows = lines_of(second.run_dir)
    assert len(rows) == 12 and all(r["cached"] for r in rows)
    before = {r["case_id"]: r["label"] for r in lines_of(first.run_dir)}
    assert {r["case_id"]: r["label"] for r in rows} == before
    assert second.record.status == "complete"
    assert second.record.cost_usd == 0.0  # nothing was paid for in this run
    assert second.record.usage == UsageInfo()


def test_no_cache_option_asks_again(demo_project, stub):
    first = run(limit=6)
    result = invoke("run", "--router", "anthropic", "--limit", "6", "--no-cache", "--plain")
    assert result.exit_code == 0, result.output
    assert stub.count_endpoint("messages") == 12
    (second,) = [
        p
        for p in (demo_project / "reports").iterdir()
        if p.is_dir() and p != first.run_dir.resolve()
    ]
    rows = lines_of(second)
    assert len(rows) == 6 and not any(r["cached"] for r in rows)


@pytest.mark.parametrize(
    "change",
    [{"router": {"model": "opus"}}, {"router": {"prompt": "classify"}}, {"holdout": "none"}],
    ids=["model", "prompt-mode", "holdout"],
)
def test_changing_what_the_model_sees_misses_the_cache(demo_project, stub, change):
    run(limit=6)
    assert stub.count_endpoint("messages") == 6
    run(limit=6, **change)
    assert stub.count_endpoint("messages") == 12
    run(limit=6, **change)
    assert stub.count_endpoint("messages") == 12


def test_each_trial_is_cached_apart(demo_project, stub):
    run(limit=5, trials=3)
    assert stub.count_endpoint("messages") == 15
    outcome = run(limit=5, trials=3)
    assert stub.count_endpoint("messages") == 15
    rows = assert_each_once(outcome.run_dir, 15)
    assert {r["trial"] for r in rows} == {0, 1, 2}


def test_errors_are_not_cached(dataset_eval, stub):
    target = "Throttle POST /login to five attempts per minute per IP address and return a 429 "
    stub.faults = [Fault.when(lambda r: r.prompt.startswith(target), 529)]
    first = run(dataset_eval)
    assert first.record.headline["errors"] == 1
    stub.faults = []
    before = stub.count_endpoint("messages")
    second = run(dataset_eval)
    assert stub.count_endpoint("messages") == before + 1
    assert stub.calls[-1].prompt.startswith(target)
    rows = lines_of(second.run_dir)
    assert second.record.headline["errors"] == 0
    assert [r["case_id"] for r in rows if not r["cached"]] == ["routing/login-throttle"]


# ------------------------------------------------------------------------------------------
# Prompt-cache warm-up
# ------------------------------------------------------------------------------------------


def test_one_request_per_prefix_goes_before_the_burst(routing_eval, stub):
    stub.latency = 0.02
    outcome = run(routing_eval, concurrency=16)  # kfold:5 views, plus the full view
    views = 6
    calls = stub.calls
    assert len(calls) == ROUTING_CASES

    def prefix(body: dict[str, Any]) -> str:
        return json.dumps(body["messages"][-1]["content"][:-1], sort_keys=True)

    first = [prefix(c.body) for c in calls[:views]]
    assert len(set(first)) == views, "the first requests warm every prefix once"
    assert {prefix(c.body) for c in calls[views:]} <= set(first)
    rows = lines_of(outcome.run_dir)
    writers = [r for r in rows if r["usage"]["cache_write_tokens"] > 0]
    assert len(writers) == views  # the burst only reads the prompt cache
    assert all(r["usage"]["cache_read_tokens"] > 0 for r in rows if r not in writers)
    assert {r["prompt"] for r in writers} == {c.prompt for c in calls[:views]}


# ------------------------------------------------------------------------------------------
# Budget
# ------------------------------------------------------------------------------------------


def test_max_cost_stops_the_run_within_budget_and_resume_completes(dataset_eval, stub):
    stub.latency = 0.01
    budget = 0.1  # a worst case (4,096 output tokens) is ~$0.045: several fit, not all 62
    result = invoke("run", str(dataset_eval), "--max-cost", str(budget), "--plain")
    assert result.exit_code == 1, result.output  # partial results are never a green run
    assert "run incomplete" in result.output and "budget" in result.output
    assert "spent $" in result.output and "trials not run" in result.output
    run_dir = only_run_dir(dataset_eval.parent.parent)
    record = load_record(run_dir)
    rows = lines_of(run_dir)
    assert record.status == "incomplete"
    assert "budget" in (record.stopped_reason or "")
    assert 1 < len(rows) < 62
    assert sum(r["cost_usd"] for r in rows) <= budget
    assert stub.count_endpoint("messages") == len(rows)  # nothing started and dropped
    assert "incomplete" in (run_dir / "report.html").read_text()
    assert "INCOMPLETE" in (run_dir / "report.md").read_text()
    # resume, with the budget lifted, finishes every case exactly once
    config = load_config(dataset_eval).model_copy(update={"max_cost_usd": None})
    again = run_config(config, resume=run_dir)
    assert again.record.status == "complete" and again.record.stopped_reason is None
    assert_each_once(run_dir, 62)
    assert stub.count_endpoint("messages") == 62


def test_max_cost_is_never_exceeded_by_the_warm_up(routing_eval, stub):
    budget = 0.05
    outcome = run(routing_eval, max_cost_usd=budget)
    rows = lines_of(outcome.run_dir)
    assert outcome.record.status == "incomplete"
    assert sum(r["cost_usd"] for r in rows) <= budget


def test_max_cost_with_an_unknown_price_is_refused_before_any_request(dataset_eval, stub):
    with pytest.raises(AgentEvalError, match="price"):
        run(dataset_eval, max_cost_usd=0.001, router={"model": "claude-unknown-9"})
    assert stub.count_endpoint("messages") == 0
    result = invoke(
        "run", str(dataset_eval), "--model", "claude-unknown-9", "--max-cost", "1", "--plain"
    )
    assert result.exit_code == 2 and "router.prices" in result.stderr
    assert stub.count_endpoint("messages") == 0


def test_resume_keeps_the_budget_for_the_whole_run_and_may_raise_it(dataset_eval, stub):
    budget = 0.1
    assert invoke("run", str(dataset_eval), "--max-cost", str(budget), "--plain").exit_code == 1
    run_dir = only_run_dir(dataset_eval.parent.parent)
    assert load_record(run_dir).status == "incomplete"
    # the same budget again: what the first session spent counts, so nearly nothing more runs
    assert invoke("run", "--resume", str(run_dir), "--plain").exit_code == 1
    assert load_record(run_dir).status == "incomplete"
    assert sum(r["cost_usd"] for r in lines_of(run_dir)) <= budget
    # a higher budget on the command line finishes it
    result = invoke("run", "--resume", str(run_dir), "--max-cost", "100", "--plain")
    assert result.exit_code == 0, result.output
    record = load_record(run_dir)
    assert record.status == "complete"
    assert record.settings is not None and record.settings.max_cost_usd == 100
    assert_each_once(run_dir, 62)


def test_resume_keeps_the_case_selection(demo_project, stub):
    stub.faults = [Fault.at([4], 401)]
    result = invoke("run", "--router", "anthropic", "--limit", "8", "--concurrency", "1", "--plain")
    assert result.exit_code == 2, result.output  # stopped by the API: fix it, then resume
    run_dir = only_run_dir(demo_project)
    assert len(lines_of(run_dir)) == 3
    assert invoke("run", "--resume", str(run_dir), "--plain").exit_code == 0
    assert load_record(run_dir).status == "complete"
    assert_each_once(run_dir, 8)
    assert stub.count_endpoint("messages") == 9  # 3 + the 401 + the 5 left


def test_library_resume_keeps_the_case_selection(demo_project, stub):
    stub.faults = [Fault.at([4], 401)]
    first = run(limit=8, concurrency=1)
    assert len(lines_of(first.run_dir)) == 3
    again = run(resume=first.run_dir, limit=8, concurrency=1)
    assert again.record.status == "complete"
    assert_each_once(first.run_dir, 8)


@pytest.mark.parametrize(
    "option", [["--model", "opus"], ["--limit", "3"], ["--holdout", "none"], ["--trials", "2"]]
)
def test_resume_refuses_options_that_change_answers(dataset_eval, stub, option):
    stub.faults = [Fault.at([3], 401)]
    run(dataset_eval, concurrency=1)
    run_dir = only_run_dir(dataset_eval.parent.parent)
    before = (run_dir / "results.jsonl").read_bytes()
    result = invoke("run", "--resume", str(run_dir), *option, "--plain")
    assert result.exit_code == 2
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert option[0] in error and "resum" in error
    assert (run_dir / "results.jsonl").read_bytes() == before
    assert stub.count_endpoint("messages") == 3


# ------------------------------------------------------------------------------------------
# Resume: SIGKILL, a torn line, Ctrl-C
# ------------------------------------------------------------------------------------------


def test_resume_after_sigkill_runs_every_case_exactly_once(routing_eval, stub):
    stub.latency = 0.05
    proc = start_cli("run", str(routing_eval), "--concurrency", "4", "--plain")
    run_dir = wait_for_lines(routing_eval.parent.parent, 10, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    killed_at = (run_dir / "results.jsonl").read_bytes().count(b"\n")
    assert 10 <= killed_at < ROUTING_CASES
    assert load_record(run_dir).status == "running"

    proc = start_cli("run", "--resume", str(run_dir), "--plain")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    rows = assert_each_once(run_dir, ROUTING_CASES)
    record = load_record(run_dir)
    assert record.status == "complete" and record.headline["trials"] == ROUTING_CASES
    assert all(r["error"] is None for r in rows)
    # nothing answered twice by the API but what was in flight at the kill
    assert stub.count_endpoint("messages") <= ROUTING_CASES + 4
    assert KEY not in out + err


def test_report_on_a_killed_run_renders_what_is_there_marked_incomplete(routing_eval, stub):
    """Issue 21 C.3: it wrote "RUNNING, 0 cases" in report.md beside a junit.xml of every row."""
    stub.latency = 0.05
    proc = start_cli("run", str(routing_eval), "--concurrency", "4", "--plain")
    run_dir = wait_for_lines(routing_eval.parent.parent, 10, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    assert load_record(run_dir).status == "running"
    rows = lines_of(run_dir)
    result = invoke("report", str(run_dir))
    assert result.exit_code == 0, result.output
    trials, errors = len(rows), sum(r["error"] is not None for r in rows)
    cases = len({r["case_id"] for r in rows})
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    assert md.splitlines()[0].endswith("— **INCOMPLETE**")
    assert f"{cases} cases · {trials} trials · {errors} errors" in md
    assert "RUNNING" not in md
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "running" not in html.lower() and "incomplete" in html
    assert re.search(rf">\s*{trials}\s*</", html)
    suite = ET.parse(run_dir / "junit.xml").getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert suite is not None and suite.get("tests") == str(trials)
    assert load_record(run_dir).status == "running"  # the record stays as the run left it


def test_torn_last_line_is_repaired_on_resume(dataset_eval, stub):
    stub.faults = [Fault.at([11], 401)]
    first = run(dataset_eval, concurrency=1)
    assert first.record.status == "incomplete"
    path = first.run_dir / "results.jsonl"
    done = lines_of(first.run_dir)
    assert len(done) == 10
    torn = json.dumps({**done[0], "case_id": "routing/never-finished"})
    with path.open("a", encoding="utf-8") as fh:
        fh.write(torn[: len(torn) // 2])
    again = run(dataset_eval, resume=first.run_dir)
    assert again.record.status == "complete"
    rows = assert_each_once(first.run_dir, 62)  # every line parses, none torn
    assert "routing/never-finished" not in {r["case_id"] for r in rows}


def test_ctrl_c_saves_an_incomplete_run_and_exits_130(routing_eval, stub):
    stub.latency = 0.1
    proc = start_cli("run", str(routing_eval), "--concurrency", "2", "--plain")
    run_dir = wait_for_lines(routing_eval.parent.parent, 3, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "incomplete"
    assert "interrupted" in summary["stopped_reason"]
    assert summary["headline"]["trials"] == len(lines_of(run_dir)) < ROUTING_CASES
    assert "incomplete" in (run_dir / "report.html").read_text()
    assert "--resume" in out


def test_sigterm_saves_an_incomplete_run_as_ctrl_c_does(routing_eval, stub):
    """Issue 21 C.1: SIGTERM (what `timeout`, CI cancellation and `kill` send) used to end the
    process at once with no report, the summary "running" and a stale lock PID."""
    stub.latency = 0.1
    proc = start_cli("run", str(routing_eval), "--concurrency", "2", "--plain")
    run_dir = wait_for_lines(routing_eval.parent.parent, 3, proc)
    proc.send_signal(signal.SIGTERM)
    for _ in range(10):  # a CI runner may send it again while the run is saved
        time.sleep(0.05)
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "incomplete"
    assert summary["stopped_reason"] == "interrupted (SIGTERM)"
    assert summary["headline"]["trials"] == len(lines_of(run_dir)) < ROUTING_CASES
    assert "incomplete" in (run_dir / "report.html").read_text()
    assert (run_dir / "report.md").is_file() and (run_dir / "junit.xml").is_file()
    assert not (run_dir / ".lock.pid").exists()
    assert "--resume" in out


def test_a_second_ctrl_c_while_saving_still_saves_the_run_and_exits_130(routing_eval, stub):
    """Issue 11 item 16: double Ctrl-C used to exit 1 with the run left "running"."""
    stub.latency = 0.1
    proc = start_cli("run", str(routing_eval), "--concurrency", "2", "--plain")
    run_dir = wait_for_lines(routing_eval.parent.parent, 3, proc)
    proc.send_signal(signal.SIGINT)
    for _ in range(20):  # keep pressing while it saves
        time.sleep(0.05)
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "incomplete"
    assert (run_dir / "report.html").exists()


# ------------------------------------------------------------------------------------------
# The API key
# ------------------------------------------------------------------------------------------


def test_no_file_or_output_of_a_run_holds_the_api_key(demo_project, monkeypatch):
    key = f"sk-ant-test-SECRET-{secrets.token_hex(12)}"
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    with StubAnthropic(
        faults=[
            Fault.at([5], "malformed"),
            Fault.every(9, 529),
            Fault.at([7], "unknown_agent"),
            Fault.at([30], 401, message="invalid x-api-key"),
        ],
        responder=answers({}, default=Reply.route("frontend-developer", thinking="hmm")),
    ) as stub:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        outputs = []
        # a run stopped by a 401, then a whole one (routing and output grading), mostly cached
        for args in (["--limit", "40"], []):
            result = invoke("run", "--router", "anthropic", *args, "--concurrency", "2", "--plain")
            outputs += [result.stdout, result.stderr]
        assert {r.api_key for r in stub.requests} == {key}  # the key was really in use
    checked = set()
    for path in demo_project.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert key.encode() not in data, path
            assert key[-8:].encode() not in data, path
            checked.add(path.name)
    written = {"results.jsonl", "summary.json", "report.html", "report.md", "junit.xml"}
    assert written | {"outputs.jsonl", "history.jsonl"} <= checked
    assert any(name.startswith("cache.sqlite") for name in checked)
    for text in outputs:
        assert key not in text and key[-8:] not in text
    assert "rejected the key" in outputs[0]  # the error paths were taken too


def test_missing_api_key_is_one_error_line_and_exit_2(demo_project):
    result = CliRunner().invoke(main, ["run", "--router", "anthropic", "--plain"])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "ANTHROPIC_API_KEY" in errors[0] and "export ANTHROPIC_API_KEY=" in errors[0]
    assert "Traceback" not in result.output + result.stderr
    assert not (demo_project / "reports").exists() or not any((demo_project / "reports").iterdir())


def test_ctrl_c_after_the_last_trial_keeps_a_complete_run_complete(demo_project):
    from agenteval.config import EvalConfig
    from agenteval.routing import make_router

    inner = make_router("lexical", {})

    class CtrlCWhileClosing:
        """Every trial answered; the Ctrl-C lands while the router closes."""

        name = inner.name
        fingerprint = inner.fingerprint

        def describe(self):
            return inner.describe()

        async def route(self, request):
            return await inner.route(request)

        async def aclose(self):
            raise KeyboardInterrupt

    config = EvalConfig(name="demo", router={"backend": "lexical"})
    outcome = run_config(config, router=CtrlCWhileClosing(), limit=5)
    assert (outcome.record.status, outcome.exit_code) == ("complete", 0)
    assert outcome.record.stopped_reason is None


def test_the_record_reads_the_catalog_once_not_once_per_agent(demo_project, monkeypatch):
    """A 10,000-agent catalog once spent minutes before its first trial: each agent's entry in
    the record recomputed the whole unlisted set (bench/first_line.py)."""
    from agenteval.catalog import Catalog

    reads = []
    unlisted = Catalog.unlisted.fget
    monkeypatch.setattr(Catalog, "unlisted", property(lambda c: reads.append(1) or unlisted(c)))
    config = EvalConfig(name="demo", router={"backend": "lexical"})

    def reads_of_a_run() -> int:
        reads.clear()
        run_config(config, limit=2)
        return len(reads)

    few = reads_of_a_run()
    for path in list((demo_project / "agents").glob("*.md")):
        text = path.read_text().replace("name: ", "name: more-", 1)
        (demo_project / "agents" / f"more-{path.name}").write_text(text)
    assert reads_of_a_run() == few
