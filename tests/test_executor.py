"""The one engine (execution/executor.py): the budget holds in every path, stops are typed.

Fast tests run the executor with the mock client and the API router over it; the batch and CLI
tests go through the real SDK against the loopback stub.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import BATCH_EVAL
from stub_anthropic import answers

from agenteval.cases import Case
from agenteval.cli import main
from agenteval.execution.executor import Executor, StopReason
from agenteval.execution.runner import RunPlan, run_plan
from agenteval.models.client import ChatRequest, Completion, ToolUse, Usage
from agenteval.models.mock import MockClient
from agenteval.record.store import load_record, read_results
from agenteval.routing.api import PromptRouter
from agenteval.views import DEFAULT_HOLDOUT, AgentView, CatalogView, Holdout, Views

KEY = "sk-ant-test-executor-0123456789abcdef"
AGENTS = tuple(
    AgentView(name=f"agent-{i}", description=f"Does task {i}.", tools_text="Read") for i in range(4)
)


def plan_of(n: int, trials: int = 1) -> RunPlan:
    cases = tuple(
        Case(
            id=f"cases/c{i}",
            prompt=f"please do task {i % 4} now",
            expected=(f"agent-{i % 4}",),
            origin="dataset",
            source="cases.yaml:1",
        )
        for i in range(n)
    )
    view = CatalogView(fold=None, agents=AGENTS)
    return RunPlan(
        cases=cases, views=Views(holdout=Holdout(k=0), by_fold={None: view}), trials=trials
    )


def growing_answers(short: int, long_tokens: int):
    """The first `short` answers are cheap, every later one writes `long_tokens` tokens."""
    seen = {"n": 0}

    def handler(request: ChatRequest) -> Completion:
        seen["n"] += 1
        out = 5 if seen["n"] <= short else long_tokens
        return Completion(
            model=request.model,
            tool_uses=(ToolUse(name="Agent", input={"subagent_type": "agent-0"}),),
            usage=Usage(input_tokens=200, output_tokens=out),
            cost_usd=(200 * 1.0 + out * 5.0) / 1e6,
        )

    return handler


@pytest.mark.parametrize("concurrency", [16, 64])
def test_budget_holds_when_answers_grow_long_mid_run(concurrency):
    """Finding 2: in-flight requests are reserved at their worst case (max_tokens), not at the
    recent average, so 20 short answers then 4,000-token ones never overshoot."""
    client = MockClient(growing_answers(short=20, long_tokens=4000), latency_s=0.01)
    router = PromptRouter(client, max_tokens=4096)
    budget = 0.2
    executor = Executor(concurrency=concurrency, max_cost_usd=budget)
    trials = []
    asyncio.run(run_plan(router, plan_of(400), executor, on_trial=trials.append))
    spent = sum(t.decision.cost_usd or 0.0 for t in trials)
    assert 20 < len(trials) < 400
    assert spent <= budget
    assert executor.money.spent == pytest.approx(spent)
    assert executor.stop is not None and executor.stop.reason is StopReason.BUDGET


def test_first_request_is_refused_when_the_budget_is_below_its_worst_case():
    """Finding 2: the first request is not always sent."""
    client = MockClient(lambda r: "ok")
    router = PromptRouter(client, max_tokens=4096)
    executor = Executor(concurrency=4, max_cost_usd=0.001)  # one worst case is ~$0.02
    trials = []
    asyncio.run(run_plan(router, plan_of(5), executor, on_trial=trials.append))
    assert trials == [] and client.requests == []
    assert executor.stop is not None and executor.stop.reason is StopReason.BUDGET
    assert "below the worst case of one request" in executor.stop.message


def test_reservations_are_released_and_actual_spend_booked():
    client = MockClient(lambda r: "ok", output_tokens=10)
    router = PromptRouter(client, max_tokens=100)
    executor = Executor(concurrency=8, max_cost_usd=10.0)
    trials = []
    asyncio.run(run_plan(router, plan_of(30), executor, on_trial=trials.append))
    assert len(trials) == 30 and executor.stop is None
    assert executor.money.reserved == pytest.approx(0.0, abs=1e-12)
    assert executor.money.spent == pytest.approx(sum(t.decision.cost_usd for t in trials))
    assert executor.money.paid == 30


def test_a_fatal_error_stops_the_run_with_a_typed_reason():
    from agenteval.models.client import FatalModelError

    def handler(request: ChatRequest) -> str:
        raise FatalModelError("the API rejected the key (401)")

    executor = Executor(concurrency=2)
    trials = []
    router = PromptRouter(MockClient(handler))
    asyncio.run(run_plan(router, plan_of(6), executor, on_trial=trials.append))
    assert trials == []
    assert executor.stop is not None and executor.stop.reason is StopReason.FATAL


def test_output_grading_keeps_the_same_budget(tmp_path):
    """Finding 2 (outputs): agent and judge calls reserve their worst case too."""
    from agenteval.catalog import load_catalog
    from agenteval.outputs.produce import OutputJob, run_outputs

    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "writer.md").write_text(
        "---\nname: writer\ndescription: Writes things.\n---\nYou write.\n", encoding="utf-8"
    )
    catalog = load_catalog([agents])
    jobs = [
        OutputJob(
            case=Case(
                id=f"out/c{i}",
                prompt=f"write {i}",
                expected=("writer",),
                origin="dataset",
                source="x.yaml:1",
                checks=({"contains": "x"},),
            ),
            trial=0,
            agent="writer",
            routed="writer",
        )
        for i in range(50)
    ]
    client = MockClient(lambda r: "x" * 16000)  # 4,000 output tokens each
    executor = Executor(concurrency=16, max_cost_usd=0.1)
    results = []
    asyncio.run(
        run_outputs(
            jobs,
            catalog=catalog,
            client=client,
            judge_model=None,
            executor=executor,
            on_result=results.append,
            max_tokens=4096,
        )
    )
    assert 0 < len(results) < 50
    assert executor.money.spent <= 0.1
    assert executor.stop is not None and executor.stop.reason is StopReason.BUDGET


# -- batch (finding 1) -----------------------------------------------------------------------

STUB_OPTIONS = {"batch_polls_before_end": 1}


@pytest.fixture
def batch_config(demo_project: Path) -> Path:
    path = demo_project / "evals" / "batch.yaml"
    path.write_text(BATCH_EVAL)
    return path


def test_batch_with_a_budget_submits_only_what_fits_and_exits_1(batch_config, stub):
    stub.responder = answers({}, default="first")
    result = CliRunner().invoke(
        main, ["run", str(batch_config), "--max-cost", "0.1", "--plain"], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    assert "covers the worst case of" in result.output and "left for --resume" in result.output
    (run,) = [p for p in (batch_config.parent.parent / "reports").iterdir() if p.is_dir()]
    rows = read_results(run)
    record = load_record(run)
    assert stub.batches_created == 1
    assert 0 < len(rows) < 62
    assert sum(r.trial.decision.cost_usd or 0.0 for r in rows) <= 0.1
    assert record.status == "incomplete" and record.stop == "budget"


def test_a_batch_stopped_by_its_budget_is_finished_by_resume_with_a_larger_one(batch_config, stub):
    stub.responder = answers({}, default="first")
    first = CliRunner().invoke(
        main, ["run", str(batch_config), "--max-cost", "0.1", "--plain"], catch_exceptions=False
    )
    assert first.exit_code == 1, first.output
    (run,) = [p for p in (batch_config.parent.parent / "reports").iterdir() if p.is_dir()]
    done = len(read_results(run))
    kept = CliRunner().invoke(main, ["run", "--resume", str(run), "--plain"])
    assert kept.exit_code == 1 and "budget of $0.10" in kept.output  # the run's budget is kept
    assert sum(r.trial.decision.cost_usd or 0.0 for r in read_results(run)) <= 0.1
    done = len(read_results(run))
    batches = stub.batches_created
    resumed = CliRunner().invoke(
        main, ["run", "--resume", str(run), "--max-cost", "5", "--plain"], catch_exceptions=False
    )
    assert resumed.exit_code == 0, resumed.output
    rows = read_results(run)
    assert done < len(rows) == 62 and len({(r.case.id, r.trial.trial) for r in rows}) == 62
    assert stub.batches_created == batches + 1  # the rest was submitted, no batch again
    assert load_record(run).status == "complete"


def test_batch_below_one_worst_case_submits_nothing(batch_config, stub):
    result = CliRunner().invoke(
        main, ["run", str(batch_config), "--max-cost", "0.001", "--plain"], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    assert "nothing was submitted" in result.output
    assert stub.batches_created == 0


# -- settings the executor depends on (finding 5) --------------------------------------------


def test_one_holdout_default():
    from agenteval.config import EvalConfig
    from agenteval.settings import resolve

    settings = resolve(EvalConfig(agents=[str(Path(__file__).parents[1] / "agents")]))
    assert settings.holdout == DEFAULT_HOLDOUT == Holdout(k=5)
    with pytest.raises(TypeError):
        Holdout.parse(None)  # type: ignore[arg-type]  # no silent "none" for a missing value


def _failing(maybe_billed: bool):
    def handler(request: ChatRequest) -> Completion:
        return Completion(
            model=request.model, error="the answer was cut off", maybe_billed=maybe_billed
        )

    return handler


@pytest.mark.parametrize("maybe_billed", [True, False])
def test_a_call_that_failed_after_reaching_the_api_counts_its_worst_case(maybe_billed):
    client = MockClient(_failing(maybe_billed))
    router = PromptRouter(client, max_tokens=100)
    executor = Executor(concurrency=1, max_cost_usd=5.0)
    plan = plan_of(3)
    asyncio.run(run_plan(router, plan, executor))
    if maybe_billed:
        bound = asyncio.run(router.cost_bound(next(iter(_requests(plan)))))
        assert bound is not None and executor.money.spent == pytest.approx(3 * bound)
    else:
        assert executor.money.spent == 0.0


def _requests(plan: RunPlan):
    from agenteval.routing import RouteRequest

    for case, trial in plan.pending():
        yield RouteRequest(case=case, view=plan.views.for_case(case), trial=trial)


def test_a_body_that_is_not_json_may_be_billed_and_an_error_status_is_not(stub):
    from stub_anthropic import Fault

    from agenteval.models.anthropic import AnthropicClient

    client = AnthropicClient(api_key=KEY, base_url=stub.base_url, max_retries=0)
    request = ChatRequest(
        model="claude-sonnet-4-6", max_tokens=10, messages=({"role": "user", "content": "hi"},)
    )

    async def both() -> tuple[Completion, Completion]:
        stub.faults.append(Fault.every(1, "malformed", times=3))
        cut = await client.complete(request)
        stub.faults.clear()
        stub.faults.append(Fault.every(1, 400, times=1))
        refused = await client.complete(request)
        await client.aclose()
        return cut, refused

    cut, refused = asyncio.run(both())
    assert cut.error is not None and cut.maybe_billed
    assert refused.error is not None and not refused.maybe_billed
