"""`agenteval report`: the reports of a saved run rendered again.

Only the record, its rows and the renderers are imported: re-rendering is a command people run
in a loop while they read a report, so it loads none of the routing machinery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from agenteval.execution.trials import ResultRow
from agenteval.record.store import (
    SUMMARY,
    RunDir,
    RunRecord,
    load_outputs,
    load_record,
    load_results,
    rows_of_run,
    total_usage,
)
from agenteval.reports import write_reports
from agenteval.reports.pages import refresh_index


def rerender(run_dir: Path, *, notify: Callable[[str], None] | None = None) -> Path:
    """Render the reports of a saved run again, without routing anything.

    A line of results.jsonl or outputs.jsonl that cannot be read (edited or damaged since the
    run) is left out and said: through ``notify``, and in the reports beside the run's notes.
    The saved scores are rendered as they are; summary.json is not written. A run killed
    before it finished (its summary still says running) is rendered as far as it got, marked
    incomplete.

    Raises:
        RunLockedError: when a run is still working in the folder.
    """
    if not (Path(run_dir) / SUMMARY).is_file():
        load_record(run_dir)  # not a run folder: says so before a lock file is put in it
    with RunDir(run_dir).lock():
        record = load_record(run_dir)
        found = rows_of_run(load_results(run_dir), record.trials)
        found_outputs = load_outputs(run_dir)
        new = [w for w in (*found.warnings(), *found_outputs.warnings()) if w not in record.notes]
        for warning in new:
            if notify is not None:
                notify(f"warning: {warning}")
        if new:
            record = record.with_(notes=(*record.notes, *new))
        if record.status == "running":  # and no process holds the folder: the run was killed
            record = _as_left(record, found.rows)
        write_reports(run_dir, record, found.rows, outputs=found_outputs.rows)
    refresh_index(run_dir)
    return run_dir


def _as_left(record: RunRecord, rows: Sequence[ResultRow]) -> RunRecord:
    """A killed run's record (saved when it started: no scores) with what results.jsonl holds
    scored and marked incomplete, so every report counts the same trials."""
    from agenteval.scoring.gates import headline
    from agenteval.scoring.scorecard import score

    scorecard = score([r.trial for r in rows], record.catalog.names)
    numbers = headline(scorecard)
    numbers["catalog_errors"] = record.catalog.catalog_errors
    paid = [r.trial.decision for r in rows if not r.trial.decision.cached]
    costs = [d.cost_usd for d in paid if d.error is None or d.cost_usd is not None]
    expected = record.cases.selected * record.trials
    return record.with_(
        status="incomplete",
        stopped_reason=f"the run was killed before it finished: {len(rows)} of {expected} "
        "trials were saved; `agenteval run --resume` on this folder runs the rest",
        usage=total_usage(rows),
        cost_usd=None if any(c is None for c in costs) else round(sum(c or 0.0 for c in costs), 6),
        headline=numbers,
        scorecard=scorecard,
    )
