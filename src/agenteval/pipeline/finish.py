"""The finish of a run: score what results.jsonl holds, save summary.json, render the reports,
and decide the exit code.

`run_eval` ends here, and so does `merge_runs` (the shards' rows scored as one run).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agenteval.errors import ExitCode
from agenteval.execution.executor import Stop, StopReason
from agenteval.execution.trials import ResultRow
from agenteval.outputs.results import OutputResult
from agenteval.outputs.scorecard import score_outputs
from agenteval.pipeline.grade import output_cost, outputs_info
from agenteval.record.history import append_history, run_facts
from agenteval.record.schema import BaselineRef
from agenteval.record.store import (
    RunRecord,
    load_outputs,
    load_record,
    load_results,
    read_results,
    rows_of_run,
    save_record,
    total_usage,
)
from agenteval.reports import write_reports
from agenteval.reports.pages import refresh_index
from agenteval.scoring.compare import Comparison, compare, regression_gate
from agenteval.scoring.gates import (
    ORIGINS,
    evaluate_gates,
    headline,
    origin_headlines,
    output_headline,
)
from agenteval.scoring.scorecard import score
from agenteval.settings import RunSettings


@dataclass(frozen=True, kw_only=True)
class RunOutcome:
    """What a finished (or stopped) run produced."""

    record: RunRecord
    run_dir: Path
    exit_code: ExitCode
    rows: tuple[ResultRow, ...] = ()  # what results.jsonl held when the run was scored


def finish_run(
    run_dir: Path,
    record: RunRecord,
    settings: RunSettings,
    agent_names: Sequence[str],
    *,
    started: float,
    stop: Stop | None = None,
    notes: Sequence[str] = (),
    case_ids: Collection[str] | None = None,
    spent: float | None = None,
) -> RunOutcome:
    """Score what results.jsonl holds (rows of other cases, when ``case_ids`` names this run's,
    or of more trials than it asked for, are left out and said), save summary.json, render
    every report. ``spent`` is what the run's engine paid in all (None: not known here): the
    cost is never less, since a call can be paid and its answer not kept."""
    found = rows_of_run(load_results(run_dir), settings.trials, case_ids)
    found_outputs = load_outputs(run_dir)
    rows = list(found.rows)
    notes = (*notes, *found.warnings(), *found_outputs.warnings())  # bad lines, shown
    expected_total = record.cases.selected * settings.trials
    scorecard = score([r.trial for r in rows], agent_names)
    graded = list(found_outputs.rows)
    output_card = score_outputs(graded) if graded else None
    complete = stop is None and _all_there(record, settings, rows, graded, notes)
    numbers = headline(scorecard) | output_headline(output_card)
    numbers["catalog_errors"] = record.catalog.catalog_errors
    comparison = _baseline_comparison(record, rows, agent_names, settings)
    gate_results = _gate_results(numbers, comparison, record.baseline, settings)
    all_errored = scorecard.trials > 0 and scorecard.errors == scorecard.trials
    status = "failed" if all_errored else ("complete" if complete else "incomplete")
    record = record.with_(
        status="running",  # "complete" only once the reports exist
        finished_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        duration_s=round((record.duration_s or 0.0) + time.monotonic() - started, 3),
        stopped_reason=None if stop is None else _stop_sentence(stop, len(rows), expected_total),
        stop=None if stop is None else stop.reason.value,
        usage=total_usage(rows),
        cost_usd=_run_cost(rows, graded, spent),
        headline=numbers,
        by_origin=origin_headlines(
            {o: [r.trial for r in rows if r.case.origin == o] for o in ORIGINS}, agent_names
        ),
        gates=tuple(gate_results),
        scorecard=scorecard,
        comparison=comparison,
        outputs=None if output_card is None else outputs_info(settings, output_card, graded),
        notes=tuple(dict.fromkeys([*record.notes, *notes])),
    )
    record = _publish(run_dir, record, status, rows)
    failed = tuple(g["name"] for g in gate_results if not g["passed"])
    code = exit_code(
        stop,
        all_errored,
        scorecard.errors,
        scorecard.trials,
        failed,
        incomplete=status == "incomplete",
    )
    return RunOutcome(record=record, run_dir=run_dir, exit_code=code, rows=tuple(rows))


def _all_there(
    record: RunRecord,
    settings: RunSettings,
    rows: Sequence[ResultRow],
    graded: Sequence[OutputResult],
    notes: Sequence[str],
) -> bool:
    """Does the run hold every trial it selected, and every output it was to grade (none when
    a note says its outputs were not graded)?"""
    if len(rows) < record.cases.selected * settings.trials:
        return False
    graded_cases = record.cases.with_checks if settings.outputs.enabled else 0
    if graded_cases and not any("not graded" in n for n in [*notes, *record.notes]):
        return len(graded) >= graded_cases * settings.trials
    return True


def _run_cost(
    rows: Sequence[ResultRow], graded: Sequence[OutputResult], spent: float | None
) -> float | None:
    """What the run cost: its billed routing answers and its graded outputs (None: a price is
    not known), never less than what the engine paid (``spent``)."""
    paid = [r.trial.decision for r in rows if not r.trial.decision.cached]
    # a failed request is not billed; an answer cut off at max_tokens is, and says so
    costs = [d.cost_usd for d in paid if d.error is None or d.cost_usd is not None]
    cost = None if any(c is None for c in costs) else round(sum(c or 0.0 for c in costs), 6)
    if graded and cost is not None:
        extra = output_cost(graded)
        cost = None if extra is None else round(cost + extra, 6)
    if cost is not None and spent is not None:
        cost = round(max(cost, spent), 6)
    return cost


def _baseline_comparison(
    record: RunRecord,
    rows: Sequence[ResultRow],
    agent_names: Sequence[str],
    settings: RunSettings,
) -> Comparison | None:
    """This run against its baseline (None: it has none), read from the baseline's folder."""
    if not record.baseline:
        return None
    base_dir = Path(record.baseline.path)
    base = load_record(base_dir)
    comp = compare(
        read_results(base_dir),
        rows,
        base.catalog.names,
        agent_names,
        facts_a=run_facts(base),
        facts_b=run_facts(record),
    )
    # the gate's test judges every sentence about the change, so none contradicts it
    return comp.with_gate(
        significance=settings.gates.significance,
        max_regression=settings.gates.max_regression,
    )


def _gate_results(
    numbers: Mapping[str, Any],
    comparison: Comparison | None,
    baseline: BaselineRef | None,
    settings: RunSettings,
) -> list[dict[str, Any]]:
    """Every gate's verdict: the thresholds on the headline numbers, then the regression gate
    against the baseline, if any."""
    results = evaluate_gates(numbers, settings.gates.thresholds)
    if comparison is not None and baseline is not None:
        gate = regression_gate(  # None against a baseline of other settings: no verdict
            comparison,
            baseline=baseline.run_id,
            significance=settings.gates.significance,
            max_regression=settings.gates.max_regression,
        )
        if gate is not None:
            results.append(gate)
    return results


def _publish(run_dir: Path, record: RunRecord, status: str, rows: Sequence[ResultRow]) -> RunRecord:
    """The finished record, with its ``status``, in the history, the reports and summary.json.

    History, then the reports (which draw the history), and only then summary.json says
    "complete": a run killed in between is never a complete run without its reports.
    """
    append_history(run_dir.parent, record.with_(status=status))
    write_reports(run_dir, record.with_(status=status), rows)
    refresh_index(run_dir)
    record = record.with_(status=status)
    save_record(run_dir, record)
    return record


def exit_code(
    stop: Stop | None,
    all_errored: bool,
    errors: int,
    trials: int,
    failed: Sequence[str],
    *,
    incomplete: bool = False,
) -> ExitCode:
    """The process exit code of a finished run: never 0 for an incomplete one, whatever made it
    so (a stop, a killed shard merged, a resume that left rows)."""
    if stop is not None and stop.reason is StopReason.INTERRUPTED:
        return ExitCode.INTERRUPTED
    if stop is not None and stop.reason is StopReason.FATAL:
        return ExitCode.USAGE_ERROR  # the API refused (key, spend limit, model): fix, resume
    if all_errored or (trials and errors / trials > 0.5):
        return ExitCode.TOO_MANY_ERRORS
    if incomplete or (stop is not None and stop.reason is StopReason.BUDGET):
        return ExitCode.GATE_FAILED  # partial results never pass as a green run
    return ExitCode.GATE_FAILED if failed else ExitCode.OK


def _stop_sentence(stop: Stop, done: int, total: int) -> str:
    left = max(0, total - done)
    if stop.reason is StopReason.BUDGET and left:
        return f"{stop.message}; {left} of {total} trials not run"
    return stop.message
