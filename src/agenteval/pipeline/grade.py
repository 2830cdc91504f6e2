"""The outputs phase of a run: produce (or take as recorded) and grade what agents wrote."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol, cast

from agenteval.cases import Case
from agenteval.catalog import Catalog
from agenteval.config import EvalConfig
from agenteval.execution.cache import ResponseCache
from agenteval.execution.runner import RunState
from agenteval.outputs.produce import (
    OutputJob,
    OutputResult,
    Recorded,
    recorded_output,
    run_outputs,
)
from agenteval.outputs.scorecard import OutputScorecard
from agenteval.pipeline.inputs import (
    router_options,
)
from agenteval.record.store import (
    OutputsWriter,
    RunRecord,
    read_outputs,
    read_results,
)
from agenteval.routing import ModelClient, Router, Usage, make_router


@contextlib.contextmanager
def user_modules(config: EvalConfig) -> Iterator[None]:
    """Let `python: module:function` checks import modules from the config or project folder."""
    added = [
        f
        for f in dict.fromkeys((str(Path(config.base_dir).resolve()), os.getcwd()))
        if f not in sys.path
    ]
    sys.path.extend(added)
    try:
        yield
    finally:
        for folder in added:
            sys.path.remove(folder)


class _AgentClient(Router, ModelClient, Protocol):
    """A router that also runs agents and judges (and is closed once the outputs are graded)."""


def grade_outputs(
    config: EvalConfig,
    catalog: Catalog,
    cases: Sequence[Case],
    router: Router,
    run_dir: Path,
    cache: ResponseCache | None,
    recorded: Mapping[tuple[str, int | None], Recorded] | None,
    routing: RunState,
    progress: Callable[[RunState], Any] | None,
) -> None:
    """Produce (or take as recorded) and grade the output of every case that has checks."""
    routed = {(r.trial.case_id, r.trial.trial): r.trial.label for r in read_results(run_dir)}
    done = {(o.case_id, o.trial) for o in read_outputs(run_dir, repair=True)}
    names = set(catalog.names)
    jobs = []
    for t in range(config.trials):
        for case in cases:
            if (case.id, t) in done:
                continue
            label = routed.get((case.id, t))
            first_expected = next((e for e in sorted(case.expected) if e in names), None)
            entry = recorded_output(recorded, case.id, t) if recorded is not None else None
            text = entry.output if entry is not None else None
            if recorded is not None:  # the agent that wrote the recorded output
                agent = (entry.agent or first_expected) if entry is not None else None
            elif config.outputs.oracle_routing:
                agent = first_expected
            else:
                agent = label if label in names else None
            jobs.append(
                OutputJob(
                    case=case,
                    trial=t,
                    agent=agent,
                    routed=label,
                    oracle=config.outputs.oracle_routing,
                    recorded=text,
                )
            )
    if not jobs:
        return
    client: _AgentClient | None = router if isinstance(router, ModelClient) else None
    if client is None and os.environ.get(config.router.api_key_env):
        options = router_options(config) | {"backend": "anthropic"}
        client = cast(_AgentClient, make_router("anthropic", options))  # it runs agents too
    state = RunState(
        total=len(jobs), phase="grading outputs", cost_usd=routing.cost_usd, paid=routing.paid
    )
    with OutputsWriter(run_dir) as writer:

        def on_result(result: OutputResult) -> None:
            writer.write(result)
            state.done += 1
            state.correct += result.passed is True
            state.errors += result.passed is None and result.source != "not-run"
            if progress:
                progress(state)

        async def go() -> None:
            try:
                await run_outputs(
                    jobs,
                    catalog=catalog,
                    client=client,
                    judge_model=config.outputs.judge_model,
                    cache=cache,
                    on_result=on_result,
                    concurrency=config.concurrency,
                    max_tokens=config.outputs.max_tokens,
                    max_cost_usd=config.max_cost_usd,
                    state=state,
                )
            finally:
                if client is not None:
                    await client.aclose()

        asyncio.run(go())
    routing.stopped_reason = routing.stopped_reason or state.stopped_reason


def outputs_info(record: RunRecord, card: OutputScorecard, graded: Sequence[Any]) -> dict[str, Any]:
    cfg = record.config.get("outputs") or {}
    judges = sorted({o.judge_model for o in graded if o.judge_model})
    models = sorted({o.model for o in graded if o.model})
    return {
        "scorecard": card.to_dict(),
        "recorded": cfg.get("recorded"),
        "sample_data": bool(cfg.get("sample_data")),
        "oracle_routing": bool(cfg.get("oracle_routing")),
        "judge_models": judges,
        "agent_models": models,
        "usage": asdict(sum((o.usage for o in graded if not o.cached), Usage())),
        "cost_usd": output_cost(graded),
    }


def output_cost(graded: Sequence[Any]) -> float | None:
    # a recorded output costs nothing itself, but a live judge grading it does
    costs = [o.cost_usd for o in graded if not o.cached and o.source != "not-run"]
    return None if any(c is None for c in costs) else round(sum(costs), 6)
