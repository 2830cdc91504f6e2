"""Spreading one run over machines: a stable 1/N of the cases per shard, and merging the shards.

`select_shard` keeps the cases whose id hashes to shard I of N (`--shard I/N`, I from 1), so the
same case always lands in the same shard whatever else is selected. `merge_runs` puts shard run
folders back into one run folder and scores it as if it had run in one go, refusing shards whose
settings differ (catalog, holdout, router, model, trials, ...) or that ran the same case twice.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from agenteval.cases import Case
from agenteval.errors import ConfigError
from agenteval.execution.executor import Stop, StopReason
from agenteval.pipeline.run import RunOutcome, finish_run
from agenteval.record.store import (
    OutputsWriter,
    ResultsWriter,
    RunRecord,
    load_record,
    read_outputs,
    read_results,
    save_record,
)
from agenteval.settings import RESUMABLE, RunSettings
from agenteval.text import join_words

# What a shard may differ in from its siblings: nothing that changes an answer or a gate.
_PER_SHARD = frozenset({"backend_reason", "out", "cache_path", "base_dir"})


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


def shard_of(case_id: str, count: int) -> int:
    """The shard (1..count) a case id belongs to: a hash, so stable across runs and machines."""
    digest = hashlib.sha256(case_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def select_shard(cases: Iterable[Case], index: int, count: int) -> tuple[Case, ...]:
    """The cases of shard ``index`` of ``count`` (1-based), in their given order.

    Raises:
        ConfigError: when the shard numbers are out of range.
    """
    if not 1 <= index <= count:
        raise ConfigError(f"shard {index}/{count} is out of range", hint="use I/N with 1 <= I <= N")
    return tuple(c for c in cases if shard_of(c.id, count) == index)


def _settings(record: RunRecord, run_dir: Path) -> dict[str, Any]:
    if record.settings is None:
        raise ConfigError(
            "this run folder records no settings (made by an older agenteval)",
            path=run_dir / "summary.json",
            hint="rerun the shard with this agenteval",
        )
    settings = {
        k: v for k, v in record.settings.items() if k not in _PER_SHARD and k not in RESUMABLE
    }
    # the same selection, then each its own shard I of the same N
    selection = dict(settings.get("selection") or {})
    shard = selection.pop("shard", None)
    settings["selection"] = {**selection, "shards": shard[1] if shard else None}
    return {
        "settings": settings,
        "router": dict(record.router),
        "catalog": record.catalog.fingerprint,
    }


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

    Raises:
        ConfigError: when fewer than two folders are given, the shards' settings differ, or a
            case ran in more than one shard.
    """
    if len(run_dirs) < 2:
        raise ConfigError("merge needs two or more shard run folders", hint="list every shard")
    started = time.monotonic()
    records = [load_record(Path(d)) for d in run_dirs]
    first = _settings(records[0], Path(run_dirs[0]))
    for d, r in zip(run_dirs[1:], records[1:], strict=True):
        if (other := _settings(r, Path(d))) != first:
            raise ConfigError(
                f"{d} ran with other settings than {run_dirs[0]} "
                f"({_first_difference(first, other)} differs): they are not shards of one run",
                path=Path(d) / "summary.json",
                hint="merge only the shards of one `agenteval run --shard I/N` matrix",
            )
    _check_complete(run_dirs, records)
    assert records[0].settings is not None  # checked by _settings
    settings = RunSettings.from_dict(records[0].settings)
    settings = replace(settings, selection=replace(settings.selection, shard=None))
    seen: dict[tuple[str, int], Path] = {}
    rows = []
    for d in run_dirs:
        for row in read_results(Path(d)):
            key = (row.trial.case_id, row.trial.trial)
            if key in seen:
                raise ConfigError(
                    f"case {key[0]} (trial {key[1]}) ran in both {seen[key]} and {d}",
                    hint="merge shards of one matrix: each case runs in exactly one shard",
                )
            seen[key] = Path(d)
            rows.append(row)
    out_dir.mkdir(parents=True, exist_ok=False)
    with ResultsWriter(out_dir) as results, OutputsWriter(out_dir) as outputs:
        for row in rows:
            results.write(row.case, row.trial)
        for d in run_dirs:
            for output in read_outputs(Path(d)):
                outputs.write(output)
    base = records[0]
    selected = sum(r.cases.selected for r in records)
    with_checks = sum(r.cases.with_checks for r in records)
    merged = base.with_(
        run_id=f"merged-{uuid.uuid4().hex[:8]}",
        status="running",
        duration_s=sum(r.duration_s or 0.0 for r in records),
        cases=base.cases.model_copy(update={"selected": selected, "with_checks": with_checks}),
        selection=None,
        baseline=None,
        notes=(*base.notes, f"merged from {len(records)} shards"),
        settings=settings.to_dict(),
    )
    save_record(out_dir, merged)
    stop = next((_stop(r) for r in records if r.stop), None)
    names = base.catalog.names
    return finish_run(
        out_dir, merged, settings, names, started=started, stop=stop, notes=merged.notes
    )


def _check_complete(run_dirs: Sequence[Path], records: Sequence[RunRecord]) -> None:
    """Shards of `--shard I/N` runs must be all N of them, each once."""
    shards = [(r.settings or {}).get("selection", {}).get("shard") for r in records]
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
