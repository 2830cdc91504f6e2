"""Reports rendered from a saved run (summary.json + results.jsonl), never from live objects."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from agenteval.cases import UNLISTED_LABEL
from agenteval.text import plural

if TYPE_CHECKING:  # annotations only: `agenteval cases` imports this package for `shorten`, and
    # the record's pydantic models, asyncio and filelock are most of its start-up otherwise
    from agenteval.cases.checks import CheckResult
    from agenteval.execution.trials import ResultRow
    from agenteval.outputs.results import OutputResult
    from agenteval.outputs.scorecard import OutputScorecard
    from agenteval.record.history import TrendRow
    from agenteval.record.schema import DiagnosticInfo, GateResult, RunRecord
    from agenteval.scoring.compare import Comparison
    from agenteval.scoring.scorecard import AgentScore
    from agenteval.stats import Rate

MAX_ERROR_KINDS = 5
MAX_NAMED_FILES = 8  # files named in a reading line before "and N more"
LEXICAL_FLOOR = (
    "The lexical router is an offline TF-IDF floor: it matches words, not meaning, so its "
    "numbers are a lower bound for a model router to beat, not what a model would score."
)


OFFLINE_COST = "none (offline)"


@dataclass(frozen=True, kw_only=True)
class CostSaid:
    """What a run cost, as every report and the terminal say it: the amount, then why."""

    amount: str  # "none (offline)", "$0.0123" or "unknown"
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.amount} {self.detail}" if self.detail else self.amount


@dataclass(frozen=True, kw_only=True)
class ErrorCount:
    """One error message and how many trials ended with it."""

    message: str
    count: int


@dataclass(frozen=True, kw_only=True)
class MisrouteGroup:
    """The misroutes of one confused pair: cases owned by ``expected`` that went to ``got``."""

    expected: str
    got: str
    rows: tuple[ResultRow, ...]


@dataclass(frozen=True, kw_only=True)
class ReportData:
    """What every report format shows, picked out of the record and the result rows."""

    record: RunRecord
    rows: tuple[ResultRow, ...]
    history: tuple[TrendRow, ...] = ()
    outputs: tuple[OutputResult, ...] = ()

    @property
    def output_card(self) -> OutputScorecard | None:
        o = self.record.outputs
        return o.scorecard if o else None

    @property
    def failed_outputs(self) -> tuple[tuple[OutputResult, CheckResult], ...]:
        """(output, check) for every check that failed or could not be graded."""
        return tuple((o, c) for o in self.outputs for c in o.checks if c.passed is not True)

    @property
    def comparison(self) -> Comparison | None:
        return self.record.comparison

    @cached_property  # templates read it many times
    def prompts(self) -> dict[str, str]:
        return {r.case.id: r.case.prompt for r in self.rows}

    @property
    def misroutes(self) -> tuple[ResultRow, ...]:
        """Wrong picks among the agents the router was shown (not the `unlisted` trials)."""
        return self._failures[0]

    @cached_property
    def misroute_groups(self) -> tuple[MisrouteGroup, ...]:
        """The misroutes by confused pair (the case's first acceptable agent, the label it got),
        the largest pair first (ties by name): the cells of the confusion matrix, opened."""
        pairs: dict[tuple[str, str], list[ResultRow]] = {}
        for r in self.misroutes:
            pairs.setdefault((r.trial.expected[0], str(r.trial.label)), []).append(r)
        ranked = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        return tuple(MisrouteGroup(expected=e, got=g, rows=tuple(rs)) for (e, g), rs in ranked)

    @property
    def confused_pairs(self) -> int:
        """How many (expected, got) pairs the router confused: the top confusions are some."""
        card = self.record.scorecard
        if card is None:
            return 0
        unlisted = card.columns.index(UNLISTED_LABEL) if UNLISTED_LABEL in card.columns else -1
        return sum(1 for i, j, _ in card.confusion_cells if i != j and j != unlisted)

    @property
    def unlisted(self) -> tuple[ResultRow, ...]:
        """Trials whose expected agent Claude Code never lists: failures, shown apart."""
        return self._failures[1]

    @property
    def errors(self) -> tuple[ResultRow, ...]:
        """Trials with no answer (the router failed): counted, never scored."""
        return self._failures[2]

    @cached_property  # every report reads all three: one pass over the rows sorts them out
    def _failures(self) -> tuple[tuple[ResultRow, ...], ...]:
        misroutes: list[ResultRow] = []
        unlisted: list[ResultRow] = []
        errors: list[ResultRow] = []
        for r in self.rows:
            label = r.trial.label
            if label is None:
                errors.append(r)
            elif label == UNLISTED_LABEL:
                unlisted.append(r)
            elif label not in r.trial.expected:
                misroutes.append(r)
        return tuple(misroutes), tuple(unlisted), tuple(errors)

    @property
    def failed_gates(self) -> tuple[GateResult, ...]:
        return self.record.failed_gates

    @cached_property  # templates read it many times
    def top_errors(self) -> tuple[ErrorCount, ...]:
        """The most frequent error messages of errored trials, most frequent first."""
        counts = Counter(" ".join((r.trial.error or "unknown error").split()) for r in self.errors)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return tuple(ErrorCount(message=m, count=n) for m, n in ranked[:MAX_ERROR_KINDS])

    @cached_property  # templates read it many times
    def problems(self) -> tuple[DiagnosticInfo, ...]:
        """Catalog and dataset errors and warnings (not notes), errors first."""
        return catalog_problems(self.record)

    @property
    def reading_line(self) -> str | None:
        """Which reading of the catalog the router was shown, in one line (None for runs
        recorded before the record said)."""
        return reading_line(self.record)

    @property
    def reading_problems(self) -> tuple[str, ...]:
        """What Claude Code does not show of the catalog: the files it skips, the descriptions
        it cuts (by file) and the cases that can never route."""
        return reading_problems(self.record)

    @property
    def floor_note(self) -> str | None:
        """Said wherever a lexical run's numbers show: they are a floor, not a model's score."""
        return LEXICAL_FLOOR if self.record.router.backend == "lexical" else None

    @property
    def cost(self) -> CostSaid:
        """The run's cost as its router declared itself priced: an offline router's is none
        (what output grading spent is its own), an unknown one says why."""
        r = self.record
        cost, router = r.cost_usd, r.router
        if router.pricing == "none":
            if cost is None:
                why = "(output grading has calls of unknown price)"
                return CostSaid(amount="unknown", detail=f"{why}; routing: {OFFLINE_COST}")
            if cost:
                return CostSaid(
                    amount=f"${cost:.4f}", detail=f"for output grading; routing: {OFFLINE_COST}"
                )
            return CostSaid(amount=OFFLINE_COST)
        if cost is not None:
            return CostSaid(amount=f"${cost:.4f}")
        if router.pricing == "unknown":
            why = f"the {router.backend} router does not declare how it is priced"
        else:
            why = f"no price for {router.model} in the price table; add it under router.prices"
        return CostSaid(amount="unknown", detail=f"({why})")

    @property
    def cost_worth_saying(self) -> bool:
        """A summary line skips the cost of a priced run that spent nothing (all cached)."""
        return not (self.record.cost_usd == 0 and self.record.router.pricing != "none")

    @property
    def run_notes(self) -> tuple[str, ...]:
        """The record's notes, but for the router choice (the header shows that)."""
        return tuple(n for n in self.record.notes if not n.startswith("router: "))

    def display_path(self, path: str | None) -> str:
        """A catalog or dataset path relative to the folder holding them all."""
        shown = self._shown_paths.get(path)
        if shown is None:  # the trials of one case share a path: work each one out once
            shown = self._shown_paths[path] = display_path(self.record, path)
        return shown

    @cached_property
    def _shown_paths(self) -> dict[str | None, str]:
        return {}


def write_reports(
    run_dir: Path,
    record: RunRecord,
    rows: Sequence[ResultRow],
    *,
    outputs: Sequence[OutputResult] | None = None,
) -> dict[str, Path]:
    """Write report.md, report.html and junit.xml into the run folder.

    Every report is rendered before any is written, and each is written whole or not at all, so
    a failure (or a kill) leaves the previous reports as they were. The run's own history line is
    drawn from the record, whether or not history.jsonl has it yet. ``outputs`` are the graded
    outputs, read from the run folder when not given.
    """
    from agenteval.record.history import history_entry, read_history, trend_rows
    from agenteval.record.store import read_outputs, write_atomic
    from agenteval.reports.html import render_html
    from agenteval.reports.junit import render_junit
    from agenteval.reports.markdown import render_markdown

    past = [e for e in read_history(Path(run_dir).parent, record.name) if e.run_id != record.run_id]
    entries = sorted([*past, history_entry(record)], key=lambda e: e.created_at)
    history = trend_rows(entries, last=30)
    data = ReportData(
        record=record,
        rows=tuple(sorted(rows, key=lambda r: (r.case.id, r.trial.trial))),
        history=history,
        outputs=tuple(
            sorted(
                read_outputs(run_dir) if outputs is None else outputs,
                key=lambda o: (o.case_id, o.trial),
            )
        ),
    )
    texts = {
        "report.md": render_markdown(data),
        "report.html": render_html(data),
        "junit.xml": render_junit(data),
    }
    return {name: write_atomic(Path(run_dir) / name, text) for name, text in texts.items()}


def fmt_rate(value: float | None, digits: int = 1) -> str:
    """A rate as a percentage, or n/a when undefined."""
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def fmt_ci(ci: Sequence[float] | None) -> str:
    return "" if not ci else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def fmt_kn(rate: Rate, digits: int = 0) -> str:
    """A rate with its counts and interval, e.g. `14% (1/7) [2.6, 51.3]`; n/a when undefined."""
    ci = fmt_ci(None if rate.low is None or rate.high is None else (rate.low, rate.high))
    return f"{fmt_rate(rate.value, digits)} ({rate.k}/{rate.n})" + (f" {ci}" if ci else "")


def catalog_problems(record: RunRecord) -> tuple[DiagnosticInfo, ...]:
    """The errors and warnings among a run's catalog diagnostics, errors first, by file."""
    diags = record.catalog.problems
    return tuple(sorted(diags, key=lambda d: (d.severity != "error", str(d.path), d.line or 0)))


def reading_line(record: RunRecord) -> str | None:
    """`Routed the Claude Code 2.1.332 reading of the catalog (what the model is shown).`"""
    catalog = record.catalog
    if catalog.reading is None:
        return None
    version = catalog.claude_code_version or "?"
    if catalog.reading == "recovered":
        return (
            "Routed the recovered reading of the catalog (what the authors meant), not the "
            f"Claude Code {version} reading (catalog.reading: recovered)."
        )
    return f"Routed the Claude Code {version} reading of the catalog (what the model is shown)."


def reading_problems(record: RunRecord) -> tuple[str, ...]:
    """One line each: the files Claude Code skips, those whose description it cuts, and the
    agents it never lists with the cases that therefore can never route."""
    catalog = record.catalog
    lines = []
    kinds = ((catalog.skipped, "skips", "file"), (catalog.cut, "cuts", "description"))
    for items, verb, noun in kinds:
        if items:
            names = [display_path(record, i.path) for i in items]
            shown = ", ".join(names[:MAX_NAMED_FILES])
            extra = len(names) - MAX_NAMED_FILES
            more = f" and {extra} more" if extra > 0 else ""
            lines.append(f"Claude Code {verb} {plural(len(names), noun)}: {shown}{more}")
    if catalog.unlisted:
        agents = f"{plural(len(catalog.unlisted), 'agent')} Claude Code never lists"
        if catalog.reading == "recovered":
            lines.append(f"{agents} (routed anyway: catalog.reading is recovered)")
        else:
            cases = plural(catalog.unlisted_cases, "case")
            lines.append(f"{agents}; {cases} can never route (scored as unlisted)")
    return tuple(lines)


def count_problems(problems: Sequence[DiagnosticInfo]) -> str:
    """`1 error, 2 warnings`, counting what `catalog_problems` returned."""
    errors = sum(d.severity == "error" for d in problems)
    warnings = len(problems) - errors
    parts = [(errors, "error"), (warnings, "warning")]
    return ", ".join(plural(n, word) for n, word in parts if n)


def worst_agents_line(record: RunRecord, n: int = 5) -> str | None:
    """The terminal's worst agents: the `n` lowest recalls, or how many share the lowest when
    more than `n` do; agents Claude Code never lists are marked (their cases cannot route)."""
    card = record.scorecard
    worst = card.worst_agents(len(card.agents)) if card else ()
    if not worst:
        return None
    unlisted = set(record.catalog.unlisted)

    def name(a: AgentScore) -> str:
        return a.name + (" (not listed by Claude Code)" if a.name in unlisted else "")

    low = worst[0].recall.value
    tied = [a for a in worst if a.recall.value == low]
    if len(tied) > n:
        tied.sort(key=lambda a: (a.name in unlisted, -a.support, a.name))
        return (
            f"worst agents: {len(tied)} agents at {fmt_rate(low)} recall, e.g. "
            + ", ".join(name(a) for a in tied[:n])
            + " (report.html lists them all)"
        )
    return "worst agents by recall (k/n, 95% interval): " + ", ".join(
        f"{name(a)} {fmt_kn(a.recall)}" for a in worst[:n]
    )


def display_path(record: RunRecord, path: str | None) -> str:
    """`path` relative to the folder that holds the run's catalog roots and datasets.

    Absolute paths of a checkout squeeze report tables and differ from machine to machine; the
    part below the common folder is what tells files apart.
    """
    if not path:
        return ""
    return relative_path(
        path, [*record.catalog.roots, *(str(Path(p).parent) for p in record.cases.datasets)]
    )


def relative_path(path: str, folders: Sequence[str | Path]) -> str:
    """`path` relative to the folder the given (absolute) folders share, else as it is."""
    bases = [str(b) for b in folders if os.path.isabs(b)]
    if not bases or not os.path.isabs(path):
        return path
    try:
        common = os.path.commonpath(bases)
        rel = os.path.relpath(path, common)
    except ValueError:  # different drives
        return path
    if os.path.dirname(common) == common:  # only the filesystem root in common: keep it whole
        return path
    return path if rel.startswith("..") else rel


def shorten(text: str | None, limit: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
