"""The trend across runs: one line per run in `<reports>/history.jsonl`, appended as runs finish.

The file is append-only JSON lines so concurrent runs and killed runs cannot corrupt what is
already there; a torn or unreadable line is skipped when reading. A run appended twice (say,
resumed) counts once, by its latest line.

Each line records the settings that make two runs' numbers comparable (`RunFacts`: catalog
fingerprint, holdout, router, model, prompt profile, trials per case). A trend never joins runs
across a change of any of them: the run after a change starts a new segment, marked with what
changed, and its change against the run before is not computed. Settings a line does not record
(older lines) count as unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from agenteval.record.schema import RunRecord
from agenteval.scoring.facts import RunFacts

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
    holdout: str | None = None
    prompt: str | None = None
    trials_per_case: int | None = None  # asked for; ``trials`` counts the trials run

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


def _part(part: Any, key: str) -> Any:
    """A value of a record part, whether the record keeps it as a mapping or as attributes."""
    return part.get(key) if isinstance(part, Mapping) else getattr(part, key, None)


def run_facts(record: RunRecord) -> RunFacts:
    """The settings of a saved run that decide what it can be compared with."""
    return facts_of(
        catalog=_part(record.catalog, "fingerprint"),
        holdout=str(record.holdout),
        router=record.router,
        trials=record.trials,
    )


def facts_of(*, catalog: str | None, holdout: str, router: Any, trials: int) -> RunFacts:
    """The comparability settings from their parts; ``router`` is `Router.describe()` (or the
    record's router part)."""
    mode, profile = _part(router, "prompt"), _part(router, "profile")
    prompt = None if mode is None else str(mode)
    if prompt is not None and isinstance(profile, str) and profile:
        prompt += f" ({profile})"  # a captured profile: its id (CLI version, model, view)
    return RunFacts(
        catalog=catalog,
        holdout=holdout,
        router=str(_part(router, "backend") or "unknown"),
        model=_part(router, "model"),
        prompt=prompt,
        trials=trials,
    )


def history_entry(record: RunRecord) -> HistoryEntry:
    """The history line of a finished run, from its record (scorecard first, headline else)."""
    card, head = record.scorecard, record.headline
    facts = run_facts(record)
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
        holdout=facts.holdout,
        prompt=facts.prompt,
        trials_per_case=facts.trials,
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
    """One run in a trend table or chart, with its change against the previous run of its eval
    (None when a setting changed in between: the run starts a new ``segment``)."""

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
    changed: tuple[str, ...] = ()  # the settings that changed since the eval's previous run
    segment: int = 0  # runs of one eval with the same settings, counted from 0


def trend_rows(entries: Iterable[HistoryEntry], last: int | None = 20) -> tuple[TrendRow, ...]:
    """The last runs, oldest first, each with its accuracy change since the eval's previous run.

    A run whose settings differ from the eval's previous run (`changed_settings`) starts a new
    segment and has no change: a trend is never measured across a change.

    Args:
        entries: History entries, oldest first (as `read_history` returns them).
        last: How many of the newest rows to keep (None: all).
    """
    previous: dict[str, HistoryEntry] = {}
    segments: dict[str, int] = {}
    rows = []
    for e in entries:
        before = previous.get(e.name)
        previous[e.name] = e
        changed = changed_settings(before, e) if before is not None else ()
        segment = segments.get(e.name, -1) + (1 if before is None or changed else 0)
        segments[e.name] = segment
        delta = None
        if not changed and before is not None and None not in (before.accuracy, e.accuracy):
            delta = (e.accuracy or 0.0) - (before.accuracy or 0.0)
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
                changed=changed,
                segment=segment,
            )
        )
    return tuple(rows[-last:] if last else rows)


_SETTINGS = (  # (name shown, HistoryEntry field), in RunFacts' order
    ("catalog", "catalog"),
    ("holdout", "holdout"),
    ("router", "backend"),
    ("model", "model"),
    ("prompt", "prompt"),
    ("trials", "trials_per_case"),
)


def changed_settings(before: HistoryEntry, after: HistoryEntry) -> tuple[str, ...]:
    """The comparability settings that differ between two runs; a setting either line does not
    record (a line written before it was recorded) counts as unchanged."""
    changed = []
    for shown, name in _SETTINGS:
        x, y = getattr(before, name), getattr(after, name)
        if x is not None and y is not None and x != y:
            changed.append(shown)
    return tuple(changed)
