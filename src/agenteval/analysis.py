"""Runs, cases and trials as tables: pandas DataFrames for notebooks, CSV for spreadsheets.

    from agenteval.analysis import runs_df, cases_df, trials_df
    runs = runs_df("reports")            # one row per run, newest first
    trials = trials_df("reports/20261207-...-demo")

The DataFrames need the optional extra `agenteval[analysis]` (pandas); the rows they are built
from (`run_rows`, `case_rows`, `trial_rows`) and `export_csv` need nothing more than agenteval.
Everything is read from the saved files (summary.json, results.jsonl, history.jsonl), as the
reports are.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agenteval.errors import ConfigError
from agenteval.record.history import read_history
from agenteval.record.store import load_record, read_results

_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell that starts so


def run_rows(reports_dir: Path | str = "reports", name: str | None = None) -> list[dict[str, Any]]:
    """One row per run in the reports folder's history, newest first."""
    entries = read_history(Path(reports_dir), name)
    rows = []
    for e in reversed(entries):  # oldest first, ties in the order they were written
        low, high = e.accuracy_ci or (None, None)
        rows.append(
            {
                "run_id": e.run_id,
                "created_at": e.created_at,
                "name": e.name,
                "status": e.status,
                "router": e.router,
                "holdout": e.holdout,
                "prompt": e.prompt,
                "trials_per_case": e.trials_per_case,
                "cases": e.cases,
                "trials": e.trials,
                "accuracy": e.accuracy,
                "accuracy_low": low,
                "accuracy_high": high,
                "macro_recall": e.macro_recall,
                "macro_f1": e.macro_f1,
                "error_rate": e.error_rate,
                "catalog": e.catalog,
            }
        )
    return rows


def trial_rows(run_dir: Path | str) -> list[dict[str, Any]]:
    """One row per trial of a run (results.jsonl), with its case."""
    rows = []
    for r in read_results(Path(run_dir)):
        c, t, d = r.case, r.trial, r.trial.decision
        rows.append(
            {
                "case_id": c.id,
                "trial": t.trial,
                "origin": c.origin,
                "prompt": c.prompt,
                "expected": " | ".join(t.expected),
                "label": t.label,
                "correct": t.correct if t.error is None else None,
                "agent": d.agent,
                "error": t.error,
                "input_tokens": d.usage.input_tokens,
                "output_tokens": d.usage.output_tokens,
                "cost_usd": d.cost_usd,
                "latency_s": d.latency_s,
                "cached": d.cached,
                "source": c.source,
                "tags": " ".join(c.tags),
            }
        )
    return rows


def case_rows(run_dir: Path | str) -> list[dict[str, Any]]:
    """One row per case: its scored trials, how many were right, its rate and modal label."""
    trials = trial_rows(run_dir)
    by_case: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in trials:
        by_case[t["case_id"]].append(t)
    rows = []
    for case_id, ts in by_case.items():
        scored = [t for t in ts if t["error"] is None]
        right = sum(bool(t["correct"]) for t in scored)
        labels = Counter(t["label"] for t in scored)
        first = ts[0]
        rows.append(
            {
                "case_id": case_id,
                "origin": first["origin"],
                "prompt": first["prompt"],
                "expected": first["expected"],
                "trials": len(ts),
                "scored": len(scored),
                "right": right,
                "rate": right / len(scored) if scored else None,
                "modal_label": labels.most_common(1)[0][0] if labels else None,
                "errors": len(ts) - len(scored),
            }
        )
    return rows


def _frame(rows: list[dict[str, Any]]) -> Any:
    try:
        import pandas as pd
    except ImportError as exc:
        raise ConfigError(
            "the analysis API needs pandas", hint="pip install 'agenteval[analysis]'"
        ) from exc
    return pd.DataFrame.from_records(rows)


def runs_df(reports_dir: Path | str = "reports", name: str | None = None) -> Any:
    """`run_rows` as a pandas DataFrame."""
    return _frame(run_rows(reports_dir, name))


def cases_df(run_dir: Path | str) -> Any:
    """`case_rows` as a pandas DataFrame."""
    return _frame(case_rows(run_dir))


def trials_df(run_dir: Path | str) -> Any:
    """`trial_rows` as a pandas DataFrame."""
    return _frame(trial_rows(run_dir))


def spreadsheet_cell(value: Any) -> Any:
    """A value a spreadsheet shows as text: one starting like a formula gets a leading `'`."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Rows as a CSV file (UTF-8 with a byte-order mark, so spreadsheets read it as UTF-8)."""
    fields = list(rows[0]) if rows else []
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: spreadsheet_cell(v) for k, v in row.items()})
    return path


def export_csv(run_dir: Path, out: Path | None = None) -> tuple[Path, ...]:
    """Write a run's `cases.csv` and `trials.csv` (into the run folder unless `out` is given).

    Raises:
        RecordError: when the folder is not a saved run.
    """
    load_record(run_dir)  # a clear error for a folder that is not a run
    folder = out or run_dir
    folder.mkdir(parents=True, exist_ok=True)
    return (
        write_csv(folder / "cases.csv", case_rows(run_dir)),
        write_csv(folder / "trials.csv", trial_rows(run_dir)),
    )
