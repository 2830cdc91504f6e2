"""Commands about the catalog itself: `cases`, `lint` and `init`."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agenteval.cli.app import (
    agent_options,
    catalog_paths_of,
    fail_cleanly,
    main,
    printable,
)
from agenteval.errors import ConfigError, DatasetError, ExitCode
from agenteval.text import for_terminal, plural

if TYPE_CHECKING:
    from agenteval.pipeline.inputs import Loaded
    from agenteval.pipeline.lint import LintReport


@main.command()
@click.argument("config_path", required=False, type=click.Path(path_type=Path))
@agent_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@fail_cleanly
def cases(
    config_path: Path | None,
    agents: tuple[Path, ...],
    plugins: tuple[Path, ...],
    datasets: tuple[Path, ...],
    as_json: bool,
) -> None:
    """List the cases a run would route, without routing them."""
    from agenteval.pipeline import load_inputs

    loaded = load_inputs(*catalog_paths_of(config_path, agents, datasets, plugins))
    cs = loaded.case_set
    errors = [d for d in (*loaded.catalog.diagnostics, *cs.diagnostics) if d.severity == "error"]
    if as_json:
        payload = {
            "agents": len(loaded.catalog.agents),
            "skills": len(loaded.catalog.skills),
            "cases": len(cs.cases),
            "examples": cs.examples_total,
            "examples_without_user": cs.examples_without_user,
            "errors": [str(d) for d in errors],
            "items": [
                {
                    "id": c.id,
                    "prompt": c.prompt,
                    "expected": list(c.expected),
                    "origin": c.origin,
                    "source": c.source,
                    "context": c.context,
                    "tags": list(c.tags),
                }
                for c in cs.cases
            ],
        }
        # ASCII only: no C1 control or bidi override reaches a terminal; json.loads gives the
        # text back exactly
        click.echo(json.dumps(payload, indent=2, ensure_ascii=True))
        return
    from agenteval.reports import shorten

    width = max((len(c.id) for c in cs.cases), default=2)
    for c in cs.cases:
        expected = for_terminal(",".join(c.expected))
        prompt = for_terminal(shorten(c.prompt, 90))
        click.echo(f"{for_terminal(c.id):<{width}}  {expected:<28}  {prompt}")
    click.echo(
        f"{plural(len(cs.cases), 'case')} from {plural(len(loaded.catalog.agents), 'agent')} "
        f"({cs.examples_total} examples, {cs.examples_without_user} without a user turn; "
        f"{sum(c.origin == 'dataset' for c in cs.cases)} dataset cases)"
    )


@main.command()
@click.argument("config_path", required=False, type=click.Path(path_type=Path))
@agent_options
@click.option("--strict", is_flag=True, help="Exit non-zero on warnings too.")
@click.option("--json", "as_json", is_flag=True, help="Print the readings and problems as JSON.")
@click.option("--fix", is_flag=True, help="Rewrite files Claude Code misreads, when provably safe.")
@click.option(
    "--diff", "show_diff", is_flag=True, help="Show what --fix would change; write nothing."
)
@click.option("--explain", metavar="CODE", help="Explain one diagnostic code and exit.")
@click.option(
    "--overlap",
    type=click.FloatRange(0.0, 1.0),
    help="Report agent pairs at least this alike (TF-IDF cosine; default: the threshold tuned "
    "by bench/overlap_threshold.py); 1 turns the check off.",
)
@click.option(
    "--claude-code-version", help="Read as this CLI version (default: installed, else pinned)."
)
@fail_cleanly
def lint(
    config_path: Path | None,
    agents: tuple[Path, ...],
    plugins: tuple[Path, ...],
    datasets: tuple[Path, ...],
    strict: bool,
    as_json: bool,
    fix: bool,
    show_diff: bool,
    explain: str | None,
    overlap: float | None,
    claude_code_version: str | None,
) -> None:
    """List every problem in the catalog as path:line, as Claude Code reads it; exit 1 on errors."""
    if explain:
        _explain(explain)
        return
    from agenteval.pipeline.lint import DEFAULT_OVERLAP

    overlap = DEFAULT_OVERLAP if overlap is None else overlap
    agent_paths, dataset_paths = catalog_paths_of(config_path, agents, datasets, plugins)

    def read() -> _Linted:
        return _lint_inputs(agent_paths, dataset_paths, overlap, claude_code_version)

    linted = read()
    if fix or show_diff:
        _fix(linted.report, write=fix, show_diff=show_diff)
        if not fix:
            return
        # what fixing left is listed and judged as any lint is: errors still exit 1
        linted = read()
    diags = list(linted.report.diagnostics)
    counts = {s: sum(d.severity == s for d in diags) for s in ("error", "warning", "info")}
    if linted.dataset_problem is not None:
        counts["error"] += 1
    if as_json:
        _print_lint_json(linted)
    else:
        _print_lint_lines(linted, dataset_paths, counts)
    if counts["error"] or (strict and counts["warning"]):
        sys.exit(ExitCode.GATE_FAILED)


@dataclass(frozen=True, kw_only=True)
class _Linted:
    """What lint found: the inputs it read, its report, and the dataset's problem, if any."""

    loaded: Loaded
    report: LintReport
    dataset_problem: DatasetError | None = None


def _explain(code: str) -> None:
    """`lint --explain CODE`: what a diagnostic code means.

    Raises:
        ConfigError: for a code no rule has.
    """
    from agenteval.catalog import RULES
    from agenteval.catalog import explain as explain_code

    if code not in RULES:
        raise ConfigError(
            f"unknown diagnostic code {code!r}",
            hint="codes: " + ", ".join(sorted(RULES)),
        )
    click.echo(explain_code(code), nl=False)


def _lint_inputs(
    agent_paths: Sequence[Path],
    dataset_paths: Sequence[Path],
    overlap: float,
    claude_code_version: str | None,
) -> _Linted:
    """Read the catalog and its datasets and lint them; a dataset that cannot be read is kept
    as a problem of its own, and the catalog is still linted."""
    from agenteval.pipeline import load_inputs
    from agenteval.pipeline.lint import lint_catalog

    try:
        loaded = load_inputs(agent_paths, dataset_paths, claude_code_version=claude_code_version)
        problem = None
    except DatasetError as exc:  # still lint the catalog, and list the dataset problem too
        problem = exc
        loaded = load_inputs(agent_paths, claude_code_version=claude_code_version)
    found = lint_catalog(
        loaded.catalog, loaded.case_set.diagnostics, overlap=overlap if overlap < 1 else None
    )
    return _Linted(loaded=loaded, report=found, dataset_problem=problem)


def _fix(report: LintReport, *, write: bool, show_diff: bool) -> None:
    """`lint --fix` and `--diff`: say which files cannot be fixed, show what fixing changes
    (``show_diff``), and write it (``write``)."""
    from agenteval.pipeline.lint import apply_fixes, propose_fixes

    fixes = propose_fixes(report)
    for f in fixes:
        if f.after is None:
            click.echo(f"{printable(str(f.path))}: not fixed: {f.reason}")
        elif show_diff:
            click.echo(printable(f.diff), nl=False)
    if not write:
        return
    outcomes = apply_fixes(fixes)
    for o in outcomes:
        if not o.written:
            click.echo(f"{printable(str(o.path))}: not written: {printable(o.reason)}")
    n = sum(o.written for o in outcomes)
    click.echo(f"fixed {n} of {len(fixes)} files; both readings now agree on them")


def _print_lint_json(linted: _Linted) -> None:
    """The lint report as JSON, the dataset's problem among the diagnostics."""
    from agenteval.pipeline.lint import lint_json

    payload = lint_json(linted.report)
    problem = linted.dataset_problem
    if problem is not None:
        payload["diagnostics"].append(
            {
                "code": "dataset",
                "severity": "error",
                "file": str(problem.path),
                "line": problem.line,
                "message": problem.message,
                "fix": problem.hint,
            }
        )
    click.echo(json.dumps(payload, indent=2, ensure_ascii=True))


def _print_lint_lines(
    linted: _Linted, dataset_paths: Sequence[Path], counts: Mapping[str, int]
) -> None:
    """One coloured path:line line a diagnostic, then the totals."""
    from agenteval.reports import relative_path

    loaded, problem = linted.loaded, linted.dataset_problem
    folders = [*loaded.catalog.roots, *(p.parent for p in dataset_paths)]
    colours = {"error": "red", "warning": "yellow", "info": "dim"}
    for d in linted.report.diagnostics:
        where = relative_path(str(d.path), folders) + (f":{d.line}" if d.line else "")
        how = f" (fix: {d.hint})" if d.hint else ""
        click.secho(
            printable(f"{where}: {d.severity}[{d.code}]: {d.message}{how}"),
            fg=colours[d.severity] if colours[d.severity] != "dim" else None,
            dim=d.severity == "info",
        )
    if problem is not None:
        click.secho(
            for_terminal(
                f"{relative_path(str(problem.path), folders)}:"
                f"{problem.line}: error: "
                f"{problem.message} (fix: {problem.hint})"
            ),
            fg="red",
        )
    reading = loaded.catalog.claude_code
    seen = (
        f"; Claude Code {reading.version} lists {len(reading.agents)} of {len(reading.files)} files"
        if reading is not None
        else ""
    )
    click.echo(
        f"{plural(len(loaded.catalog.agents), 'agent')}, "
        f"{plural(len(loaded.case_set.cases), 'case')}{seen}: "
        f"{plural(counts['error'], 'error')}, {plural(counts['warning'], 'warning')}, "
        f"{plural(counts['info'], 'note')}"
    )


@main.command()
@click.option(
    "--agents",
    type=click.Path(path_type=Path),
    help="The catalog folder. Default: found (.claude/agents, agents, plugins, .claude/skills).",
)
@click.option(
    "--action",
    default="<owner>/agenteval@<ref>",
    show_default=True,
    help="The workflow's `uses:` for the agenteval action: OWNER/REPO@REF.",
)
@click.option("--force", is_flag=True, help="Overwrite the config and workflow if they exist.")
@fail_cleanly
def init(agents: Path | None, action: str, force: bool) -> None:
    """Write an eval config, a GitHub workflow and .gitignore lines for the catalog here."""
    from agenteval.pipeline.init import PLACEHOLDER, WORKFLOW, init_repo

    done = init_repo(Path.cwd(), agents=agents, action=action, force=force)
    paths = [p.as_posix() for p in done.catalog.paths]
    where = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    click.echo(f"found: {printable(where)} ({done.catalog.kind})")
    if done.written:
        click.echo(f"wrote: {', '.join(p.as_posix() for p in done.written)}")
    if done.kept:
        kept = ", ".join(p.as_posix() for p in done.kept)
        click.echo(f"kept: {kept}; use --force to overwrite")
    if done.ignored:
        click.echo(f".gitignore: added {', '.join(done.ignored)}")
    if action == PLACEHOLDER and WORKFLOW in done.written:
        click.echo(f"set `uses: {PLACEHOLDER}` in {WORKFLOW.as_posix()} to where agenteval lives")
    click.echo("next:")
    for command in done.commands:
        click.echo(f"  {command}")
