"""The outputs phase of a run: produce (or take as recorded) and grade what agents wrote."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agenteval.cases import Case
from agenteval.cases.checks import CheckTrust
from agenteval.catalog import Catalog
from agenteval.execution.executor import Executor
from agenteval.execution.runner import RunState
from agenteval.models.client import ModelClient, Usage
from agenteval.outputs.produce import OutputJob, Recorded, recorded_output, run_outputs
from agenteval.outputs.results import OutputResult
from agenteval.outputs.scorecard import OutputScorecard
from agenteval.record.store import OutputsWriter, read_outputs, read_results
from agenteval.settings import RunSettings


@contextlib.contextmanager
def user_modules(settings: RunSettings) -> Iterator[None]:
    """Let `python: module:function` checks import modules from the config or project folder."""
    added = [f for f in dict.fromkeys((str(settings.base_dir), os.getcwd())) if f not in sys.path]
    sys.path.extend(added)
    try:
        yield
    finally:
        for folder in added:
            sys.path.remove(folder)


async def grade_outputs(
    settings: RunSettings,
    catalog: Catalog,
    cases: Sequence[Case],
    client: ModelClient | None,
    run_dir: Path,
    executor: Executor,
    recorded: Mapping[tuple[str, int | None], Recorded] | None,
    progress: Callable[[RunState], Any] | None,
) -> None:
    """Produce (or take as recorded) and grade the output of every case that has checks."""
    jobs = _output_jobs(settings, catalog, cases, run_dir, recorded)
    if not jobs:
        return
    state = RunState(total=len(jobs), phase="grading outputs", cost_usd=executor.money.spent)
    with OutputsWriter(run_dir) as writer:

        def on_result(result: OutputResult) -> None:
            writer.write(result)
            state.done += 1
            state.correct += result.passed is True
            state.errors += result.passed is None and result.source != "not-run"
            if progress:
                progress(state)

        await run_outputs(
            jobs,
            catalog=catalog,
            client=client,
            judge_model=settings.outputs.judge_model,
            executor=executor,
            on_result=on_result,
            max_tokens=settings.outputs.max_tokens,
            state=state,
            trust=CheckTrust.parse(settings.outputs.trusted_check_modules),
        )


def _output_jobs(
    settings: RunSettings,
    catalog: Catalog,
    cases: Sequence[Case],
    run_dir: Path,
    recorded: Mapping[tuple[str, int | None], Recorded] | None,
) -> list[OutputJob]:
    """The outputs still to grade (outputs.jsonl holds the others), each with the agent that
    writes it: the recorded output's, the expected agent (oracle routing), or the routed one."""
    rows = read_results(run_dir)
    routed = {(r.trial.case_id, r.trial.trial): r.trial.label for r in rows}
    # what the main model asked the agent to do: the agent's user turn, as in Claude Code
    tasks = {(r.trial.case_id, r.trial.trial): r.trial.decision.task_prompt for r in rows}
    done = {(o.case_id, o.trial) for o in read_outputs(run_dir, repair=True)}
    names = set(catalog.names)
    oracle = settings.outputs.oracle_routing
    jobs = []
    for t in range(settings.trials):
        for case in cases:
            if (case.id, t) in done:
                continue
            label = routed.get((case.id, t))
            first_expected = next((e for e in case.expected if e in names), None)
            entry = recorded_output(recorded, case.id, t) if recorded is not None else None
            text = entry.output if entry is not None else None
            if recorded is not None:  # the agent that wrote the recorded output
                agent = (entry.agent or first_expected) if entry is not None else None
            elif oracle:
                agent = first_expected
            else:
                agent = label if label in names else None
            jobs.append(
                OutputJob(
                    case=case,
                    trial=t,
                    agent=agent,
                    routed=label,
                    oracle=oracle,
                    recorded=text,
                    task_prompt=tasks.get((case.id, t)),
                )
            )
    return jobs


def outputs_info(
    settings: RunSettings, card: OutputScorecard, graded: Sequence[Any]
) -> dict[str, Any]:
    cfg = settings.outputs
    judges = sorted({o.judge_model for o in graded if o.judge_model})
    models = sorted({o.model for o in graded if o.model})
    return {
        "scorecard": card.to_dict(),
        "recorded": str(cfg.recorded) if cfg.recorded else None,
        "sample_data": cfg.sample_data,
        "oracle_routing": cfg.oracle_routing,
        "judge_models": judges,
        "agent_inputs": {
            kind: sum(1 for o in graded if o.agent_input == kind) for kind in ("task", "request")
        },
        "agent_models": models,
        "usage": asdict(sum((o.usage for o in graded if not o.cached), Usage())),
        "cost_usd": output_cost(graded),
    }


def output_cost(graded: Sequence[Any]) -> float | None:
    # a recorded output costs nothing itself, but a live judge grading it does
    costs = [o.cost_usd for o in graded if not o.cached and o.source != "not-run"]
    return None if any(c is None for c in costs) else round(sum(costs), 6)
