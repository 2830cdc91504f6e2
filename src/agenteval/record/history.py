"""The trend across runs: one line per run in `<reports>/history.jsonl`, appended as runs finish.

The file is append-only JSON lines so concurrent runs and killed runs cannot corrupt what is
already there; a torn or unreadable line is skipped when reading. A run appended twice (say,
resumed) counts once, by its latest line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from agenteval.record.schema import RunRecord

HISTORY = "history.jsonl"


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """The headline numbers of one run, and each label's recall."""

    run_id: str
    created_at: str
    name: str
    status: str
    backend: str | None = None
    model: str | None = None
    catalog: str | None = None
    accuracy: float | None = None
    accuracy_ci: tuple[float, float] | None = None
    macro_recall: float | None = None
    macro_f1: float | None = None
    error_rate: float | None = None
    trials: int = 0
    cases: int = 0
    agent_recall: Mapping[str, float | None] = field(default_factory=dict)

    @property
    def router(self) -> str:
        return "/".join(x for x in (self.backend, self.model) if x) or "unknown"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistoryEntry:
        """Rebuild an entry; raises ValueError when an identifying field is not a string."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        if not all(isinstance(values.get(k), str) for k in ("run_id", "created_at", "name")):
            raise ValueError("a history line needs run_id, created_at and name")
        if values.get("accuracy_ci") is not None:
            low, high = values["accuracy_ci"]
            values["accuracy_ci"] = (float(low), float(high))
        values["agent_recall"] = dict(values.get("agent_recall") or {})
        return cls(**values)


def history_entry(record: RunRecord) -> HistoryEntry:
    """The history line of a finished run, from its record (scorecard first, headline else)."""
    card, head = record.scorecard, record.headline
    ci = head.accuracy_ci
    if card is not None:
        acc = card.accuracy
        ci = (acc.low, acc.high) if acc.low is not None and acc.high is not None else None
    return HistoryEntry(
        run_id=record.run_id,
        created_at=record.created_at,
        name=record.name,
        status=record.status,
        backend=record.router.backend,
        model=record.router.model,
        catalog=record.catalog.fingerprint,
        accuracy=card.accuracy.value if card else head.accuracy,
        accuracy_ci=(float(ci[0]), float(ci[1])) if ci else None,
        macro_recall=card.macro_recall if card else head.macro_recall,
        macro_f1=card.macro_f1 if card else head.macro_f1,
        error_rate=card.error_rate.value if card else head.error_rate,
        trials=card.trials if card else head.trials,
        cases=card.cases if card else head.cases,
        agent_recall={a.name: a.recall.value for a in card.agents} if card else {},
    )


def append_history(reports_dir: Path, record: RunRecord) -> HistoryEntry:
    """Append a run's line to `reports_dir/history.jsonl` (created if missing).

    Returns:
        The entry written.
    """
    entry = history_entry(record)
    path = Path(reports_dir) / HISTORY
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry.to_dict(), ensure_ascii=False) + "\n"
    with path.open("ab") as fh:
        # a killed writer can leave a line without its newline; start a fresh line after it
        if fh.tell() and not _ends_with_newline(path):
            line = "\n" + line
        fh.write(line.encode("utf-8"))
    return entry


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, 2)
        return fh.read(1) == b"\n"


def read_history(reports_dir: Path, name: str | None = None) -> tuple[HistoryEntry, ...]:
    """Every run in the history file, oldest first (by created_at, then file order).

    Args:
        reports_dir: The reports folder holding history.jsonl (no file: no runs).
        name: Keep only the runs of this eval.
    """
    path = Path(reports_dir) / HISTORY
    if not path.exists():
        return ()
    latest: dict[str, HistoryEntry] = {}
    for raw in path.read_bytes().splitlines():
        try:
            entry = HistoryEntry.from_dict(json.loads(raw.decode("utf-8")))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if name is None or entry.name == name:
            latest[entry.run_id] = entry
    return tuple(sorted(latest.values(), key=lambda e: e.created_at))


@dataclass(frozen=True, kw_only=True)
class TrendRow:
    """One run in a trend table or chart, with its change against the previous run of its eval."""

    run_id: str
    created_at: str
    name: str
    status: str
    router: str
    accuracy: float | None
    accuracy_low: float | None
    accuracy_high: float | None
    delta: float | None
    macro_recall: float | None
    macro_f1: float | None
    error_rate: float | None
    trials: int
    cases: int
    router_changed: bool
    catalog_changed: bool


def trend_rows(entries: Iterable[HistoryEntry], last: int | None = 20) -> tuple[TrendRow, ...]:
    """The last runs, oldest first, each with its accuracy change since the eval's previous run.

    Args:
        entries: History entries, oldest first (as `read_history` returns them).
        last: How many of the newest rows to keep (None: all).
    """
    previous: dict[str, HistoryEntry] = {}
    rows = []
    for e in entries:
        before = previous.get(e.name)
        previous[e.name] = e
        delta = None
        if before is not None and before.accuracy is not None and e.accuracy is not None:
            delta = e.accuracy - before.accuracy
        low, high = e.accuracy_ci or (None, None)
        rows.append(
            TrendRow(
                run_id=e.run_id,
                created_at=e.created_at,
                name=e.name,
                status=e.status,
                router=e.router,
                accuracy=e.accuracy,
                accuracy_low=low,
                accuracy_high=high,
                delta=delta,
                macro_recall=e.macro_recall,
                macro_f1=e.macro_f1,
                error_rate=e.error_rate,
                trials=e.trials,
                cases=e.cases,
                router_changed=before is not None and before.router != e.router,
                catalog_changed=before is not None and before.catalog != e.catalog,
            )
        )
    return tuple(rows[-last:] if last else rows)
