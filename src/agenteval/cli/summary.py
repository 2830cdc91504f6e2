"""The run's numbers on the terminal, with what a reader must know before trusting them."""

from __future__ import annotations

from typing import Any

import click

from agenteval.errors import ExitCode
from agenteval.text import for_terminal, plural


def print_summary(outcome: Any) -> None:
    """The run's numbers on the terminal, with what a reader must know before trusting them."""
    from rich.console import Console
    from rich.table import Table

    from agenteval.reports import ReportData, count_problems, fmt_ci, fmt_rate, worst_agents_line

    r = outcome.record
    h = r.headline
    data = ReportData(record=r, rows=outcome.rows)
    console = Console()

    def say(text: str, style: str | None = None) -> None:
        # text from catalogs and models is printed as is, never read as rich markup or emoji
        # codes, and with its control characters written out (no escape sequence gets through)
        console.print(
            for_terminal(text),
            style=style,
            markup=False,
            emoji=False,
            highlight=False,
            soft_wrap=True,
        )

    say(
        f"{r.name}: {plural(h.cases, 'case')}, {plural(h.trials, 'trial')}, "
        f"{plural(h.errors, 'error')} "
        f"({r.router.backend} {r.router.model}, holdout {r.holdout})"
    )
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
    if data.top_errors:
        say(f"errors: {h.errors} of {h.trials} trials errored (never scored):", "red")
        for e in data.top_errors:
            say(f"  {e.count}× {e.message}", "red")
        if r.scorecard is not None and not r.scorecard.scored:
            say("No trial was scored, so nothing below says how routing went.", "red")
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
    console.print(table)
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
    for note in (data.floor_note, *data.run_notes):
        if note:
            say(f"note: {note}", "dim")
    if data.cost_worth_saying:
        say(f"cost: {data.cost}")
    if r.status == "failed":
        say(
            "run failed: every trial errored (listed above); fix the cause and start a new run",
            "red",
        )
    elif r.status != "complete":
        say(
            f"run {r.status}: {r.stopped_reason or 'not every trial ran'}; "
            f"finish it with: agenteval run --resume {outcome.run_dir}",
            "yellow",
        )
    if r.comparison and r.baseline:
        sentence = r.comparison.summary_sentence(a=f"baseline {r.baseline.run_id}", b="this run")
        say(sentence[:1].upper() + sentence[1:])
    say(f"report: {(outcome.run_dir / 'report.html').resolve()}")
    for g in r.failed_gates:
        say(f"gate failed: {g.name}: {g.message}", "red")
    if outcome.exit_code == ExitCode.USAGE_ERROR and r.stopped_reason:
        click.echo(f"error: {for_terminal(r.stopped_reason.removeprefix('stopped: '))}", err=True)
