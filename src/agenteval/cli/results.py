"""Commands over saved runs: `report`, `merge`, `compare`, `history` and `export`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from agenteval.cli.app import (
    fail_cleanly,
    main,
    open_page,
    printable,
)
from agenteval.cli.summary import print_summary
from agenteval.errors import ConfigError
from agenteval.text import for_rich, for_terminal


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--open", "open_report", is_flag=True, help="Open the report in a browser.")
@fail_cleanly
def report(run_dir: Path, open_report: bool) -> None:
    """Render the reports of a saved run again, without routing (and refresh the index of
    runs beside it, reports/index.html)."""
    from agenteval.pipeline import rerender

    rerender(run_dir, notify=lambda m: click.echo(for_terminal(m), err=True))
    page = (run_dir / "report.html").resolve()
    click.echo(f"report: {page}")
    if open_report:
        open_page(page)


@main.command()
@click.argument(
    "run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False)
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for the merged run folder, as `run --out` (default: the first shard's).",
)
@fail_cleanly
def merge(run_dirs: tuple[Path, ...], out: Path | None) -> None:
    """Merge the run folders of `run --shard I/N` into one run, scored and reported."""
    import uuid

    from agenteval.pipeline.shard import merge_runs

    missing = [str(d) for d in run_dirs if not (d / "summary.json").is_file()]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)}: not a run folder (no summary.json)",
            hint="pass the folders `agenteval run --shard I/N` wrote",
        )
    parent = out.resolve() if out else run_dirs[0].resolve().parent
    outcome = merge_runs(list(run_dirs), parent / f"merged-{uuid.uuid4().hex[:8]}")
    print_summary(outcome)
    sys.exit(outcome.exit_code)


@main.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("run_b", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for compare.html and compare.md (default: RUN_B).",
)
@click.option(
    "--alpha",
    type=float,
    default=0.05,
    show_default=True,
    help="Significance level of the paired score test.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Compare runs of another holdout or number of trials, or with no case in common, "
    "anyway (marked not comparable).",
)
@fail_cleanly
def compare_cmd(run_a: Path, run_b: Path, out: Path | None, alpha: float, force: bool) -> None:
    """Compare run B against run A on the cases both ran (paired score test, Tango's interval).

    Cases pair by content (request, expected agents, origin). Runs of two routers on the same
    cases show their agreement; runs of another holdout or trials are refused without --force.
    """
    from agenteval.pipeline import compare_runs

    result = compare_runs(run_a, run_b, out=out or run_b, alpha=alpha, force=force)
    click.echo(for_terminal(result.text, multiline=True))
    click.echo(f"written: {for_terminal(result.html)} and {for_terminal(result.markdown)}")


@main.command()
@click.option(
    "--reports",
    "reports_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default="reports",
    show_default=True,
    help="The reports folder.",
)
@click.option("--name", help="Only this eval's runs.")
@click.option("--last", type=int, default=20, show_default=True, help="How many runs.")
@fail_cleanly
def history(reports_dir: Path, name: str | None, last: int) -> None:
    """The trend of headline numbers over past runs."""
    from rich.console import Console, JustifyMethod
    from rich.table import Table

    from agenteval.record.history import read_history, trend_rows
    from agenteval.reports import fmt_ci, fmt_rate

    rows = trend_rows(read_history(reports_dir, name), last=last)
    if not rows:
        click.echo(f"no runs recorded in {reports_dir / 'history.jsonl'} yet")
        return
    table = Table(title=f"history: {for_rich(reports_dir)}")
    columns: list[tuple[str, JustifyMethod]] = [
        ("run", "left"),
        ("eval", "left"),
        ("router", "left"),
        ("cases", "right"),
        ("accuracy", "right"),
        ("95% CI", "left"),
        ("change", "right"),
        ("macro recall", "right"),
        ("errors", "right"),
    ]
    for col, justify in columns:
        table.add_column(col, justify=justify)
    for r in rows:
        change = "" if r.delta is None else f"{r.delta * 100:+.1f}"
        flag = f" * {', '.join(r.changed)} changed" if r.changed else ""
        low, high = r.accuracy_low, r.accuracy_high
        table.add_row(
            for_rich(r.run_id),
            for_rich(r.name),
            for_rich(r.router) + flag,
            str(r.cases),
            fmt_rate(r.accuracy),
            fmt_ci([low, high] if low is not None and high is not None else None),
            change,
            fmt_rate(r.macro_recall),
            fmt_rate(r.error_rate),
        )
    width = None if sys.stdout.isatty() else 1000  # logs never wrap
    Console(width=width, emoji=False).print(table)
    if any(r.changed for r in rows):
        click.echo(
            "* a setting changed since the previous run of that eval: a new series starts "
            "there, and no change is computed across it"
        )


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--csv", "as_csv", is_flag=True, required=True, help="Write cases.csv and trials.csv."
)
@click.option(
    "--out", type=click.Path(path_type=Path), help="Folder to write to (default RUN_DIR)."
)
@fail_cleanly
def export(run_dir: Path, as_csv: bool, out: Path | None) -> None:
    """Write a run's cases and trials as CSV files for a spreadsheet (see also the Python
    analysis API, `agenteval.analysis`, for pandas DataFrames)."""
    from agenteval.analysis import export_csv

    for path in export_csv(run_dir, out):
        click.echo(f"wrote {printable(str(path))}")
