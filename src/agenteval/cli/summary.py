"""The run's numbers on the terminal, with what a reader must know before trusting them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from agenteval.errors import ExitCode
from agenteval.text import for_terminal, plural

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from agenteval.record.schema import Headline
    from agenteval.record.store import RunRecord
    from agenteval.reports import ReportData


class _Say:
    """Prints one line: text from catalogs and models is printed as is, never read as rich
    markup or emoji codes, and with its control characters written out (no escape sequence gets
    through)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, text: str, style: str | None = None) -> None:
        self.console.print(
            for_terminal(text),
            style=style,
            markup=False,
            emoji=False,
            highlight=False,
            soft_wrap=True,
        )


def print_summary(outcome: Any) -> None:
    """The run's numbers on the terminal, with what a reader must know before trusting them."""
    from rich.console import Console

    from agenteval.reports import ReportData

    r = outcome.record
    h = r.headline
    data = ReportData(record=r, rows=outcome.rows)
    console = Console()
    say = _Say(console)
    say(
        f"{r.name}: {plural(h.cases, 'case')}, {plural(h.trials, 'trial')}, "
        f"{plural(h.errors, 'error')} "
        f"({r.router.backend} {r.router.model}, holdout {r.holdout})"
    )
    _say_problems(say, data)
    if data.top_errors:
        say(f"errors: {h.errors} of {h.trials} trials errored (never scored):", "red")
        for e in data.top_errors:
            say(f"  {e.count}× {e.message}", "red")
        if r.scorecard is not None and not r.scorecard.scored:
            say("No trial was scored, so nothing below says how routing went.", "red")
    console.print(_metrics_table(h))
    _say_breakdowns(say, r)
    for note in (data.floor_note, *data.run_notes):
        if note:
            say(f"note: {note}", "dim")
    if data.cost_worth_saying:
        say(f"cost: {data.cost}")
    _say_status(say, r, outcome.run_dir)
    if r.comparison and r.baseline:
        sentence = r.comparison.summary_sentence(a=f"baseline {r.baseline.run_id}", b="this run")
        say(sentence[:1].upper() + sentence[1:])
    say(f"report: {(outcome.run_dir / 'report.html').resolve()}")
    for g in r.failed_gates:
        say(f"gate failed: {g.name}: {g.message}", "red")
    if outcome.exit_code == ExitCode.USAGE_ERROR and r.stopped_reason:
        click.echo(f"error: {for_terminal(r.stopped_reason.removeprefix('stopped: '))}", err=True)


def _say_problems(say: _Say, data: ReportData) -> None:
    """How the catalog was read, and its problems (the first ten)."""
    from agenteval.reports import count_problems

    problems = data.problems
    if data.reading_line:
        say(data.reading_line, "dim")
    for line in data.reading_problems:
        say(line, "yellow")
    if problems:
        say(f"catalog: {count_problems(problems)} (agenteval lint lists them with fixes)", "yellow")
        for d in problems[:10]:
            where = data.display_path(d.path) + (f":{d.line}" if d.line else "")
            say(f"  {where}: {d.severity}: {d.message}", "yellow")
        if len(problems) > 10:
            say(f"  ... and {len(problems) - 10} more", "yellow")


def _metrics_table(h: Headline) -> Table:
    """The headline metrics with their 95% intervals."""
    from rich.table import Table

    from agenteval.reports import fmt_ci, fmt_rate

    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% interval")
    table.add_row("accuracy", fmt_rate(h.accuracy), fmt_ci(h.accuracy_ci))
    table.add_row("macro precision", fmt_rate(h.macro_precision), fmt_ci(h.macro_precision_ci))
    table.add_row("macro recall", fmt_rate(h.macro_recall), fmt_ci(h.macro_recall_ci))
    table.add_row("macro F1", fmt_rate(h.macro_f1), fmt_ci(h.macro_f1_ci))
    if h.output_pass_rate is not None:
        table.add_row(
            "outputs passing", fmt_rate(h.output_pass_rate), fmt_ci(h.output_pass_rate_ci)
        )
    return table


def _say_breakdowns(say: _Say, r: RunRecord) -> None:
    """Accuracy by origin, the worst agents and the most confused pairs."""
    from agenteval.reports import fmt_rate, worst_agents_line

    if r.by_origin:
        names = {"example": "examples", "dataset": "datasets", "generated": "generated"}
        say(
            "by origin: "
            + ", ".join(
                f"{names.get(o, o)} {fmt_rate(x.accuracy)} of {x.cases} cases"
                for o, x in r.by_origin.items()
            )
        )
    worst = worst_agents_line(r)
    if worst:
        say(worst)
    if r.scorecard:
        pairs = r.scorecard.top_confusions[:3]
        if pairs:
            say(
                "most confused (expected → got): "
                + ", ".join(f"{c.expected} → {c.got} ({c.count})" for c in pairs)
            )


def _say_status(say: _Say, r: RunRecord, run_dir: Path) -> None:
    """A failed or unfinished run says so, and what to do next."""
    if r.status == "failed":
        say(
            "run failed: every trial errored (listed above); fix the cause and start a new run",
            "red",
        )
    elif r.status != "complete":
        say(
            f"run {r.status}: {r.stopped_reason or 'not every trial ran'}; "
            f"finish it with: agenteval run --resume {run_dir}",
            "yellow",
        )
