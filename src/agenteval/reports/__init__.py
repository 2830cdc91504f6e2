"""Reports rendered from a saved run (summary.json + results.jsonl), never from live objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agenteval.cases.checks import CheckResult
from agenteval.execution.runner import ResultRow
from agenteval.outputs.produce import OutputResult
from agenteval.outputs.scorecard import OutputScorecard
from agenteval.record.history import TrendRow, read_history, trend_rows
from agenteval.record.store import RunRecord, read_outputs
from agenteval.scoring.compare import Comparison


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
        return OutputScorecard.from_dict(o["scorecard"]) if o else None

    @property
    def failed_outputs(self) -> tuple[tuple[OutputResult, CheckResult], ...]:
        """(output, check) for every check that failed or could not be graded."""
        return tuple((o, c) for o in self.outputs for c in o.checks if c.passed is not True)

    @property
    def comparison(self) -> Comparison | None:
        c = self.record.comparison
        return Comparison.from_dict(c) if c else None

    @property
    def prompts(self) -> dict[str, str]:
        return {r.case.id: r.case.prompt for r in self.rows}

    @property
    def misroutes(self) -> tuple[ResultRow, ...]:
        return tuple(r for r in self.rows if r.trial.label is not None and not r.trial.correct)

    @property
    def errors(self) -> tuple[ResultRow, ...]:
        return tuple(r for r in self.rows if r.trial.label is None)

    @property
    def failed_gates(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(g for g in self.record.gates if not g["passed"])


def write_reports(run_dir: Path, record: RunRecord, rows: Sequence[ResultRow]) -> dict[str, Path]:
    """Write report.md, report.html and junit.xml into the run folder."""
    from agenteval.reports.html import render_html
    from agenteval.reports.junit import render_junit
    from agenteval.reports.markdown import render_markdown

    history = trend_rows(read_history(Path(run_dir).parent, record.name), last=30)
    data = ReportData(
        record=record,
        rows=tuple(sorted(rows, key=lambda r: (r.case.id, r.trial.trial))),
        history=history,
        outputs=tuple(sorted(read_outputs(run_dir), key=lambda o: (o.case_id, o.trial))),
    )
    outputs = {
        "report.md": render_markdown(data),
        "report.html": render_html(data),
        "junit.xml": render_junit(data),
    }
    paths = {}
    for name, text in outputs.items():
        path = Path(run_dir) / name
        path.write_text(text, encoding="utf-8")
        paths[name] = path
    return paths


def fmt_rate(value: float | None, digits: int = 1) -> str:
    """A rate as a percentage, or n/a when undefined."""
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def fmt_ci(ci: Sequence[float] | None) -> str:
    return "" if not ci else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def shorten(text: str | None, limit: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
