"""The run folder on disk: `summary.json` (a RunRecord) beside `results.jsonl`/`outputs.jsonl`.

Reports are rendered from these files alone, never from live objects, so `agenteval report` can
re-render any run and old runs stay readable. One process at a time works in a folder: a run, a
resume and a re-render each hold `RunDir.lock` from start to end. summary.json and the reports
are written whole or not at all (`write_atomic`). The JSON-lines files live in `lines.py`; their
readers and writers are re-exported here, where callers look for the run folder's I/O.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from agenteval.errors import ConfigError, RecordError
from agenteval.record.lines import (
    OUTPUTS,
    RESULTS,
    JsonlRead,
    OutputsWriter,
    ResultsWriter,
    SkippedLine,
    load_outputs,
    load_results,
    read_outputs,
    read_results,
    result_line,
    rows_of_run,
    total_usage,
)
from agenteval.record.schema import (
    SCHEMA_VERSION,
    BaselineRef,
    RunRecord,
    dump_record,
    parse_record,
)
from agenteval.text import for_record

__all__ = [
    "OUTPUTS",
    "RESULTS",
    "SCHEMA_VERSION",
    "SUMMARY",
    "BaselineRef",
    "JsonlRead",
    "OutputsWriter",
    "ResultsWriter",
    "RunDir",
    "RunLockedError",
    "RunRecord",
    "SkippedLine",
    "find_baseline",
    "load_outputs",
    "load_record",
    "load_results",
    "read_outputs",
    "read_results",
    "result_line",
    "rows_of_run",
    "save_record",
    "total_usage",
    "write_atomic",
]

SUMMARY = "summary.json"
LOCK = ".lock"
LOCK_PID = ".lock.pid"  # who holds the lock, for the error a second process gets


class RunLockedError(RecordError):
    """Another process is working in this run folder."""


class RunDir:
    """One run folder, and the one-process-at-a-time lock on it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder's exclusive lock (not re-entrant: take it once per process).

        Raises:
            RunLockedError: at once, naming the PID of the process holding it.
        """
        lock = FileLock(self.path / LOCK, thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise RunLockedError(
                f"this run folder is in use by process {self._holder()}",
                path=self.path,
                hint="wait for that run to finish (or stop it), then run the command again",
            ) from None
        try:
            write_atomic(self.path / LOCK_PID, f"{os.getpid()}\n")
            yield
        finally:
            (self.path / LOCK_PID).unlink(missing_ok=True)
            # removed while still held, so the folder keeps only the run's own files (a process
            # racing this release can at worst lock a folder whose work is done)
            (self.path / LOCK).unlink(missing_ok=True)
            lock.release()

    def _holder(self) -> str:
        try:
            pid = (self.path / LOCK_PID).read_text(encoding="utf-8").strip()
        except OSError:
            pid = ""
        return pid if pid.isdigit() else "(PID unknown)"


def write_atomic(path: Path, text: str) -> Path:
    """Write a file whole or not at all (a temp file beside it, then `os.replace`), as UTF-8
    with the text's own line ends on every platform."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(text.encode("utf-8"))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def save_record(run_dir: Path, record: RunRecord) -> Path:
    """Write summary.json atomically."""
    text = json.dumps(dump_record(record), indent=2, ensure_ascii=False) + "\n"
    # a stop reason may quote an API error (and so the key it echoed)
    return write_atomic(Path(run_dir) / SUMMARY, for_record(text))


def load_record(run_dir: Path) -> RunRecord:
    """Read and validate summary.json (older schema versions are migrated).

    Raises:
        RecordError: when the folder is not a run folder, the file is not valid JSON or has a
            bad field (named), or a newer agenteval wrote it.
    """
    path = Path(run_dir) / SUMMARY
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RecordError(
            "not a run folder (no summary.json)",
            path=run_dir,
            hint="pass a folder under reports/ written by `agenteval run`",
        ) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else None
        raise RecordError(
            f"summary.json is not valid JSON: {exc}", path=path, line=line, hint="restore the file"
        ) from exc
    except OSError as exc:
        what = "is a folder, not a file" if path.is_dir() else f"cannot be read: {exc.strerror}"
        raise RecordError(f"summary.json {what}", path=path, hint="restore the file") from exc
    record = parse_record(data, path=path)
    _check_trials(record, path)
    return record


def _check_trials(record: RunRecord, path: Path) -> None:
    """The trials per case in the free-form config and settings (parse_record types the rest):
    everything that counts a run's trials reads them."""
    settings: Any = record.settings  # RunSettings, or None before settings were recorded
    found = [
        ("config", (record.config or {}).get("trials", 1)),
        ("settings", settings.trials if settings is not None else 1),
    ]
    for section, trials in found:
        if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise RecordError(
                f"summary.json field `{section}.trials`: {trials!r} is not a number of trials "
                "(a whole number, 1 or more)",
                path=path,
                hint="restore the file, or re-run the eval",
            )


# ------------------------------------------------------------------------------------------
# Baselines
# ------------------------------------------------------------------------------------------


def find_baseline(
    which: str | None,
    *,
    out: Path,
    name: str,
    base_dir: Path | None = None,
    accept: Callable[[RunRecord], bool] | None = None,
) -> BaselineRef | None:
    """Resolve a baseline (a run folder, or `latest`) before anything runs.

    `latest` is the newest complete run of the eval ``name`` under ``out`` (incomplete, failed
    and unreadable folders are passed over; None when there is none yet). A named folder may be
    incomplete (compare uses the cases both ran), never failed.

    Args:
        which: A run folder, `latest`, or None/empty for no baseline.
        out: The reports folder `latest` searches.
        name: The eval's name.
        base_dir: What a relative folder is relative to (default: the working directory).
        accept: What else `latest` asks of a run (say, the same settings); None: nothing.

    Raises:
        ConfigError: when the folder is not a readable run, or is a failed one.
    """
    if not which:
        return None
    if which == "latest":
        runs = sorted(p for p in out.glob("*") if (p / SUMMARY).is_file()) if out.is_dir() else []
        for run in reversed(runs):
            try:
                saved = load_record(run)
            except RecordError:
                continue
            if (
                saved.name == name
                and saved.status == "complete"
                and (accept is None or accept(saved))
            ):
                return BaselineRef(run_id=saved.run_id, path=str(run.resolve()))
        return None
    path = Path(which) if base_dir is None else base_dir / which
    try:
        saved = load_record(path)
    except RecordError as exc:
        raise ConfigError(
            f"baseline {which!r} is not a saved run ({exc.message})",
            hint="pass a folder under reports/ written by `agenteval run`, or `latest`",
        ) from exc
    if saved.status == "failed":
        raise ConfigError(
            f"baseline {which!r} is a failed run (every trial errored), never a baseline",
            path=path,
            hint="pass a run that scored, or `latest`",
        )
    return BaselineRef(run_id=saved.run_id, path=str(path.resolve()))


def failed_case_ids(run_dir: Path) -> tuple[str, ...]:
    """The case ids of a saved run that had a trial not scored right, in file order.

    Raises:
        RecordError: when the folder is not a saved run.
    """
    load_record(run_dir)
    failed = {r.trial.case_id: None for r in read_results(run_dir) if not r.trial.correct}
    return tuple(failed)
