"""`agenteval report`: the reports of a saved run rendered again.

Only the record, its rows and the renderers are imported: re-rendering is a command people run
in a loop while they read a report, so it loads none of the routing machinery.
"""

from __future__ import annotations

from pathlib import Path

from agenteval.record.store import SUMMARY, RunDir, load_record, read_results
from agenteval.reports import write_reports


def rerender(run_dir: Path) -> Path:
    """Render the reports of a saved run again, without routing anything.

    Raises:
        RunLockedError: when a run is still working in the folder.
    """
    if not (Path(run_dir) / SUMMARY).is_file():
        load_record(run_dir)  # not a run folder: says so before a lock file is put in it
    with RunDir(run_dir).lock():
        record = load_record(run_dir)
        write_reports(run_dir, record, read_results(run_dir))
    return run_dir
