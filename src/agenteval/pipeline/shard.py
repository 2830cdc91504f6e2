"""Spreading one run over machines: a stable 1/N of the cases per shard, and merging the shards.

`select_shard` (with the rest of a run's case selection, in `pipeline.inputs`) keeps the cases
whose id hashes to shard I of N (`--shard I/N`, I from 1), so the same case always lands in the
same shard whatever else is selected. `merge_runs` puts shard run
folders back into one run folder and scores it as if it had run in one go, holding each shard's
lock (a shard still running is refused), and refusing shards whose settings that change the
answers differ (`settings.Role.ANSWERS`), that ran the same case twice, or that hold a row which
is not one of their own: a case outside the shard's selection, a trial index out of range, a
relabelled trial, or a status their rows do not bear out.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

from agenteval.cases import Case
from agenteval.errors import ConfigError
from agenteval.execution.executor import Stop, StopReason
from agenteval.execution.trials import ResultRow, label_of
from agenteval.pipeline.finish import RunOutcome, finish_run
from agenteval.pipeline.inputs import prepare, select_shard, shard_of
from agenteval.record.store import (
    OutputsWriter,
    ResultsWriter,
    RunDir,
    RunRecord,
    load_record,
    read_outputs,
    read_results,
    save_record,
)
from agenteval.settings import RunSettings, answers_of
from agenteval.text import join_words
from agenteval.views import Views

__all__ = ["merge_runs", "parse_shard", "select_shard", "shard_of"]


def parse_shard(text: str) -> tuple[int, int]:
    """Parse `I/N` (1 <= I <= N).

    Raises:
        ConfigError: for anything else.
    """
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ConfigError(
            f"bad shard {text!r}", hint="write I/N with 1 <= I <= N, e.g. --shard 2/4"
        )
    return int(m.group(1)), int(m.group(2))


def _settings(record: RunRecord, run_dir: Path) -> RunSettings:
    if record.settings is None:
        raise ConfigError(
            "this run folder records no settings (made by an older agenteval)",
            path=run_dir / "summary.json",
            hint="rerun the shard with this agenteval",
        )
    return record.settings


def _identity(record: RunRecord, settings: RunSettings) -> dict[str, Any]:
    """What every shard of one run shares: the settings that change the answers (the same
    selection, then each its own shard I of the same N), the router and the catalog."""
    answers = answers_of(settings)
    selection = dict(answers["selection"])
    shard = selection.pop("shard", None)
    answers["selection"] = {**selection, "shards": shard[1] if shard else None}
    catalog = record.catalog.fingerprint
    return {"settings": answers, "router": dict(record.router), "catalog": catalog}


def _first_difference(a: Mapping[str, Any], b: Mapping[str, Any], path: str = "") -> str:
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x != y:
            if isinstance(x, Mapping) and isinstance(y, Mapping):
                return _first_difference(x, y, f"{path}{key}.")
            return f"{path}{key}"
    return path.rstrip(".")


def merge_runs(run_dirs: Sequence[Path], out_dir: Path) -> RunOutcome:
    """Merge shard run folders into ``out_dir`` and score, save and report the merged run.

    Each shard's lock is held while it is read (`RunDir.lock`): a shard still running is refused.

    Raises:
        ConfigError: when fewer than two folders are given, the shards' settings differ, a case
            ran in more than one shard, or a shard holds a row that is not one of its own.
        RunLockedError: when a shard is in use by another process (named by its PID).
    """
    if len(run_dirs) < 2:
        raise ConfigError("merge needs two or more shard run folders", hint="list every shard")
    with ExitStack() as held:
        for d in dict.fromkeys(Path(d).resolve() for d in run_dirs):  # a folder named twice
            held.enter_context(RunDir(d).lock())
        return _merge([Path(d) for d in run_dirs], out_dir)


def _merge(run_dirs: Sequence[Path], out_dir: Path) -> RunOutcome:
    started = time.monotonic()
    records = [load_record(d) for d in run_dirs]
    shard_settings = [_settings(r, d) for d, r in zip(run_dirs, records, strict=True)]
    first = _identity(records[0], shard_settings[0])
    for d, r, s in zip(run_dirs[1:], records[1:], shard_settings[1:], strict=True):
        if (other := _identity(r, s)) != first:
            raise ConfigError(
                f"{d} ran with other settings than {run_dirs[0]} "
                f"({_first_difference(first, other)} differs): they are not shards of one run",
                path=d / "summary.json",
                hint="merge only the shards of one `agenteval run --shard I/N` matrix",
            )
    _check_complete(run_dirs, records)
    seen: dict[tuple[str, int], Path] = {}
    rows = []
    for d, r, s in zip(run_dirs, records, shard_settings, strict=True):
        for row in _own_rows(d, r, s):
            key = (row.trial.case_id, row.trial.trial)
            if key in seen:
                raise ConfigError(
                    f"case {key[0]} (trial {key[1]}) ran in both {seen[key]} and {d}",
                    hint="merge shards of one matrix: each case runs in exactly one shard",
                )
            seen[key] = d
            rows.append(row)
    settings = shard_settings[0]
    settings = replace(settings, selection=replace(settings.selection, shard=None))
    merged = _write_merged(run_dirs, records, rows, settings, out_dir)
    stop = next((_stop(r) for r in records if r.stop), None)
    names = records[0].catalog.names
    return finish_run(
        out_dir, merged, settings, names, started=started, stop=stop, notes=merged.notes
    )


def _write_merged(
    run_dirs: Sequence[Path],
    records: Sequence[RunRecord],
    rows: Sequence[ResultRow],
    settings: RunSettings,
    out_dir: Path,
) -> RunRecord:
    out_dir.mkdir(parents=True, exist_ok=False)
    with ResultsWriter(out_dir) as results, OutputsWriter(out_dir) as outputs:
        for row in rows:
            results.write(row.case, row.trial)
        for d in run_dirs:
            for output in read_outputs(d):
                outputs.write(output)
    base = records[0]
    selected = sum(r.cases.selected for r in records)
    with_checks = sum(r.cases.with_checks for r in records)
    merged = base.with_(
        run_id=f"merged-{uuid.uuid4().hex[:8]}",
        status="running",
        duration_s=sum(r.duration_s or 0.0 for r in records),
        cases=base.cases.model_copy(update={"selected": selected, "with_checks": with_checks}),
        baseline=None,
        notes=(*base.notes, f"merged from {len(records)} shards"),
        settings=settings,
    )
    save_record(out_dir, merged)
    return merged


def _own_rows(run_dir: Path, record: RunRecord, settings: RunSettings) -> list[ResultRow]:
    """The shard's rows, each checked against the shard's own case selection (rebuilt from its
    settings): a row for a case outside it, a trial index out of range, a trial relabelled
    (expected agents or label not what the case and the decision give), a count of cases or a
    status its rows do not bear out are refused, naming the shard's file."""
    loaded, cases, views = prepare(settings)
    if record.catalog.fingerprint not in (None, loaded.shown.fingerprint):
        raise _foreign(run_dir, "the catalog changed since this shard ran", "summary.json")
    if record.cases.selected != len(cases):
        raise _foreign(
            run_dir,
            f"it records {record.cases.selected} selected cases, its selection holds {len(cases)}",
            "summary.json",
        )
    by_id = {c.id: c for c in cases}
    rows = read_results(run_dir)
    for row in rows:
        if (problem := _row_problem(row, by_id, views, settings.trials)) is not None:
            raise _foreign(run_dir, problem, "results.jsonl")
    planned = len(cases) * settings.trials
    if record.status == "complete" and len(rows) != planned:
        raise _foreign(
            run_dir, f"it says complete with {len(rows)} of {planned} trials", "summary.json"
        )
    return rows


def _row_problem(
    row: ResultRow, by_id: Mapping[str, Case], views: Views, trials: int
) -> str | None:
    t = row.trial
    case = by_id.get(t.case_id)
    if case is None:
        return f"case {t.case_id} is not one of this shard's cases"
    if not 0 <= t.trial < trials:
        return f"case {t.case_id} has trial {t.trial}, but the run asked {trials} per case"
    names = views.for_case(case).names
    if (
        row.case.expected != case.expected
        or t.expected != case.expected
        or t.label != label_of(t.decision, names, case.expected)
    ):
        return (
            f"case {t.case_id} (trial {t.trial}) is relabelled: its expected agents or its "
            "label are not what the case and the router's decision give"
        )
    return None


def _foreign(run_dir: Path, problem: str, name: str) -> ConfigError:
    return ConfigError(
        f"{run_dir} is not a shard as it ran: {problem}",
        path=run_dir / name,
        hint="re-run that shard (`agenteval run --shard I/N`), then merge again",
    )


def _check_complete(run_dirs: Sequence[Path], records: Sequence[RunRecord]) -> None:
    """Shards of `--shard I/N` runs must be all N of them, each once."""
    shards = [r.settings.selection.shard if r.settings else None for r in records]
    if not any(shards):
        return  # folders split some other way: the case check below still holds
    count = int(next(s for s in shards if s)[1])
    got = sorted(int(s[0]) for s in shards if s)
    if got != list(range(1, count + 1)) or None in shards:
        missing = sorted(set(range(1, count + 1)) - set(got))
        raise ConfigError(
            f"these are shards {', '.join(map(str, got))} of {count}"
            + (
                f": shard{'s' if len(missing) > 1 else ''} {join_words([str(m) for m in missing])} "
                f"{'are' if len(missing) > 1 else 'is'} missing"
                if missing
                else ""
            )
            + (": a shard appears twice" if len(got) != len(set(got)) else ""),
            path=Path(run_dirs[0]),
            hint="merge every shard of the matrix, each once (`--shard 1/N` ... `--shard N/N`)",
        )


def _stop(record: RunRecord) -> Stop:
    """A shard that stopped early makes the merged run stop the same way (so it is incomplete)."""
    return Stop(reason=StopReason(record.stop), message=record.stopped_reason or str(record.stop))
