"""The saved run: `summary.json` (a versioned RunRecord) and `results.jsonl` (one line per trial).

Reports are rendered from these two files alone, never from live objects, so `agenteval report`
can re-render any run and old runs stay readable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from agenteval.cases import Case, WrittenOrder
from agenteval.errors import RecordError
from agenteval.execution.runner import ResultRow, Trial
from agenteval.models.client import Usage
from agenteval.outputs.produce import OutputResult
from agenteval.routing import Decision
from agenteval.scoring.scorecard import Scorecard

SCHEMA_VERSION = 1
SUMMARY = "summary.json"
RESULTS = "results.jsonl"
OUTPUTS = "outputs.jsonl"


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """Everything about a run except its per-trial lines."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    name: str
    status: str  # running | complete | incomplete
    created_at: str
    finished_at: str | None = None
    duration_s: float | None = None
    stopped_reason: str | None = None
    stop: str | None = None  # StopReason value: budget | fatal | interrupted
    settings: Mapping[str, Any] | None = None  # RunSettings.to_dict()
    config: Mapping[str, Any] = field(default_factory=dict)
    router: Mapping[str, Any] = field(default_factory=dict)
    holdout: str = "none"
    catalog: Mapping[str, Any] = field(default_factory=dict)
    cases: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)
    usage: Mapping[str, int] = field(default_factory=dict)
    cost_usd: float | None = None
    headline: Mapping[str, Any] = field(default_factory=dict)
    gates: tuple[Mapping[str, Any], ...] = ()
    scorecard: Scorecard | None = None
    baseline: Mapping[str, Any] | None = None  # {run_id, path} of the run compared against
    selection: Mapping[str, Any] | None = None  # --only/--limit/--sample/--seed, for --resume
    comparison: Mapping[str, Any] | None = None  # Comparison.to_dict() against the baseline
    outputs: Mapping[str, Any] | None = None  # {"scorecard": OutputScorecard dict, meta...}
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["scorecard"] = self.scorecard.to_dict() if self.scorecard else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        values = dict(data)
        values["scorecard"] = (
            Scorecard.from_dict(data["scorecard"]) if data.get("scorecard") else None
        )
        values["gates"] = tuple(values.get("gates") or ())
        values["notes"] = tuple(values.get("notes") or ())
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if k in known})

    def with_(self, **changes: Any) -> RunRecord:
        return replace(self, **changes)


def save_record(run_dir: Path, record: RunRecord) -> Path:
    """Write summary.json atomically."""
    path = Path(run_dir) / SUMMARY
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps(record.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)
    return path


def load_record(run_dir: Path) -> RunRecord:
    """Read summary.json.

    Raises:
        RecordError: when the folder is not a run folder or was written by a newer version.
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
    except json.JSONDecodeError as exc:
        raise RecordError(
            f"summary.json is not valid JSON: {exc.msg}",
            path=path,
            line=exc.lineno,
            hint="re-run, or restore the file",
        ) from exc
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RecordError(
            f"summary.json has schema version {version}, this agenteval reads {SCHEMA_VERSION}",
            path=path,
            hint="use the agenteval that wrote it",
        )
    return RunRecord.from_dict(data)


def result_line(case: Case, trial: Trial) -> str:
    """One results.jsonl line (no trailing newline)."""
    d = trial.decision
    row = {
        "case_id": case.id,
        "trial": trial.trial,
        "prompt": case.prompt,
        "expected": list(trial.expected),
        "label": trial.label,
        "correct": trial.correct,
        "agent": d.agent,
        "raw": d.raw,
        "rationale": d.rationale,
        "error": d.error,
        "usage": asdict(d.usage),
        "cost_usd": d.cost_usd,
        "latency_s": round(d.latency_s, 4),
        "cached": d.cached,
        "origin": case.origin,
        "source": case.source,
        "context": case.context,
        "tags": list(case.tags),
        "owner": case.agent,
        "example_index": case.example_index,
    }
    return json.dumps(row, ensure_ascii=False)


def parse_result_line(line: str) -> ResultRow:
    """Parse one results.jsonl line."""
    r = json.loads(line)
    case = Case(
        id=r["case_id"],
        prompt=r["prompt"],
        expected=WrittenOrder(r["expected"]),
        origin=r["origin"],
        source=r["source"],
        context=r.get("context"),
        tags=tuple(r.get("tags") or ()),
        agent=r.get("owner"),
        example_index=r.get("example_index"),
    )
    decision = Decision(
        agent=r["agent"],
        raw=r.get("raw") or "",
        rationale=r.get("rationale") or "",
        usage=Usage(**(r.get("usage") or {})),
        cost_usd=r.get("cost_usd"),
        latency_s=r.get("latency_s") or 0.0,
        cached=bool(r.get("cached")),
        error=r.get("error"),
    )
    trial = Trial(
        case_id=r["case_id"],
        trial=r["trial"],
        expected=tuple(r["expected"]),
        label=r["label"],
        decision=decision,
    )
    return ResultRow(case=case, trial=trial)


def read_results(run_dir: Path, *, repair: bool = False) -> list[ResultRow]:
    """Read results.jsonl; a torn last line (a run killed mid-write) is dropped.

    Args:
        run_dir: The run folder.
        repair: Also cut the torn line off the file, so that appending can go on.
    """
    path = Path(run_dir) / RESULTS
    if not path.exists():
        return []
    data = path.read_bytes()
    rows: list[ResultRow] = []
    good_end = 0
    for raw in data.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            break
        try:
            rows.append(parse_result_line(raw.decode("utf-8")))
        except (ValueError, KeyError, TypeError):
            break
        good_end += len(raw)
    if repair and good_end < len(data):
        with path.open("r+b") as fh:
            fh.truncate(good_end)
    # a (case, trial) written twice (cannot happen, but never count it twice)
    seen: dict[tuple[str, int], ResultRow] = {}
    for row in rows:
        seen.setdefault((row.trial.case_id, row.trial.trial), row)
    return list(seen.values())


class ResultsWriter:
    """Appends trial lines to results.jsonl, flushed and fsynced one by one."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / RESULTS
        self._fh: IO[str] = self.path.open("a", encoding="utf-8")

    def write(self, case: Case, trial: Trial) -> None:
        self._fh.write(result_line(case, trial) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def total_usage(rows: Iterable[ResultRow]) -> dict[str, int]:
    """Tokens summed over trials that were not answered from the cache."""
    total = Usage()
    for row in rows:
        if not row.trial.decision.cached:
            total = total + row.trial.decision.usage
    return asdict(total)


class OutputsWriter:
    """Appends graded outputs to outputs.jsonl, one line each, flushed at once."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / OUTPUTS
        self._fh: IO[str] = self.path.open("a", encoding="utf-8")

    def write(self, result: OutputResult) -> None:
        self._fh.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> OutputsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_outputs(run_dir: Path, *, repair: bool = False) -> list[OutputResult]:
    """Read outputs.jsonl (a torn last line is dropped, and cut off with ``repair``)."""
    path = Path(run_dir) / OUTPUTS
    if not path.exists():
        return []
    data = path.read_bytes()
    results: dict[tuple[str, int], OutputResult] = {}
    good_end = 0
    for raw in data.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            break
        try:
            result = OutputResult.from_dict(json.loads(raw.decode("utf-8")))
        except (ValueError, KeyError, TypeError):
            break
        results.setdefault((result.case_id, result.trial), result)
        good_end += len(raw)
    if repair and good_end < len(data):
        with path.open("r+b") as fh:
            fh.truncate(good_end)
    return list(results.values())
