"""`agenteval report`: the reports of a saved run rendered again.

Only the record, its rows and the renderers are imported: re-rendering is a command people run
in a loop while they read a report, so it loads none of the routing machinery.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agenteval.record.store import SUMMARY, RunDir, load_outputs, load_record, load_results
from agenteval.reports import write_reports
from agenteval.reports.pages import refresh_index


def rerender(run_dir: Path, *, notify: Callable[[str], None] | None = None) -> Path:
    """Render the reports of a saved run again, without routing anything.

    A line of results.jsonl or outputs.jsonl that cannot be read (edited or damaged since the
    run) is left out and said: through ``notify``, and in the reports beside the run's notes.
    The saved scores are rendered as they are; summary.json is not written.

    Raises:
        RunLockedError: when a run is still working in the folder.
    """
    if not (Path(run_dir) / SUMMARY).is_file():
        load_record(run_dir)  # not a run folder: says so before a lock file is put in it
    with RunDir(run_dir).lock():
        record = load_record(run_dir)
        found, found_outputs = load_results(run_dir), load_outputs(run_dir)
        new = [w for w in (*found.warnings(), *found_outputs.warnings()) if w not in record.notes]
        for warning in new:
            if notify is not None:
                notify(f"warning: {warning}")
        if new:
            record = record.with_(notes=(*record.notes, *new))
        write_reports(run_dir, record, found.rows, outputs=found_outputs.rows)
    refresh_index(run_dir)
    return run_dir
