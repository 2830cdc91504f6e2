"""The fix loop's commands: `generate` (new cases) and `improve` (description changes)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from agenteval.cli.app import (
    RouterChoice,
    agent_options,
    fail_cleanly,
    load_eval_config,
    main,
    printable,
)
from agenteval.text import for_terminal


@main.command()
@click.argument("config_path", required=False, type=click.Path(path_type=Path))
@click.option(
    "--agents",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Agents folder or file (repeatable). Default: ./agents, else ./.claude/agents.",
)
@click.option("--model", help="The model that writes the cases (alias or id; default sonnet).")
@click.option("--per-agent", type=int, default=5, show_default=True, help="Requests per agent.")
@click.option("--only", multiple=True, help="Only these agents (repeatable).")
@click.option(
    "--from-run",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Take each agent's neighbours from this run's confusions (default: the last complete "
    "run of this catalog, else the overlap lint).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("datasets/generated.yaml"),
    show_default=True,
    help="The dataset file to write (a review page is written beside it).",
)
@click.option("--max-cost", type=float, help="Stop starting requests before spending this (USD).")
@fail_cleanly
def generate(
    config_path: Path | None,
    agents: tuple[Path, ...],
    model: str | None,
    per_agent: int,
    only: tuple[str, ...],
    from_run: Path | None,
    out: Path,
    max_cost: float | None,
) -> None:
    """Write new cases for review: requests each agent should take (from its body as well as
    its description), near misses that belong to its neighbours, and requests for no agent."""
    from agenteval.improve.session import confusions_of, generate_dataset
    from agenteval.record.store import load_results
    from agenteval.settings import Overrides, resolve

    settings = resolve(load_eval_config(config_path), Overrides(agents=agents, backend="lexical"))
    if from_run is None:  # the last complete run of this catalog, if there is one
        from agenteval.record.store import find_baseline

        last = find_baseline("latest", out=settings.out, name=settings.name)
        from_run = Path(last.path) if last is not None else None
    if from_run is not None:
        click.echo(f"neighbours: the confusions of {printable(str(from_run))}", err=True)
    else:
        click.echo("neighbours: the overlap lint (no run of this catalog yet)", err=True)
    confusions = confusions_of(load_results(from_run).rows) if from_run else None
    done = generate_dataset(
        settings,
        model=model,
        per_agent=per_agent,
        out=out,
        max_cost=max_cost,
        only=only,
        confusions=confusions,
    )
    g = done.generation
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(g.by_kind.items())) or "none"
    click.echo(
        f"wrote {len(g.cases)} cases ({kinds}) to {printable(str(done.dataset))}, "
        f"review page {printable(str(done.review))}"
    )
    click.echo(
        f"{g.calls} model calls with {g.model}, ${g.cost_usd:.4f}; left out: {g.repeats} "
        f"repeating an example or another case, {g.malformed} malformed"
    )
    for line in g.failed:
        click.echo(f"warning: {for_terminal(line)}", err=True)
    if g.not_asked:
        click.echo(
            f"error: {for_terminal(g.stop or 'stopped')}; {len(g.not_asked)} agents not asked "
            "(run again with a larger --max-cost: answers so far are cached)",
            err=True,
        )
    sys.exit(done.exit_code)


@main.command()
@click.argument("config_path", required=False, type=click.Path(path_type=Path))
@agent_options
@click.option(
    "--router",
    "backend",
    type=RouterChoice(),
    help="The router that verifies each change (default: as `run` chooses).",
)
@click.option("--model", help="The model that proposes descriptions (alias or id).")
@click.option("--targets", type=int, default=3, show_default=True, help="Pairs or agents to try.")
@click.option("--attempts", type=int, default=2, show_default=True, help="Proposals per target.")
@click.option("--apply", is_flag=True, help="Write the accepted changes into the agent files.")
@click.option("--max-cost", type=float, help="Stop starting requests before spending this (USD).")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for the session's files.")
@click.option(
    "--from-run",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Start from this run's answers (same router, holdout and catalog) instead of routing.",
)
@fail_cleanly
def improve(
    config_path: Path | None,
    agents: tuple[Path, ...],
    datasets: tuple[Path, ...],
    plugins: tuple[Path, ...],
    backend: str | None,
    model: str | None,
    targets: int,
    attempts: int,
    apply: bool,
    max_cost: float | None,
    out: Path | None,
    from_run: Path | None,
) -> None:
    """Propose description changes for the worst confusions and prove them on held-out cases:
    a report, a patch, and with --apply the files written."""
    from agenteval.improve.session import improve_dataset
    from agenteval.settings import Overrides, resolve

    settings = resolve(
        load_eval_config(config_path),
        Overrides(agents=agents, datasets=datasets, plugins=plugins, backend=backend),
    )
    done = improve_dataset(
        settings,
        model=model,
        out=out,
        targets=targets,
        attempts=attempts,
        apply=apply,
        max_cost=max_cost,
        note=lambda s: click.echo(for_terminal(s), err=True),
        from_run=from_run,
    )
    imp = done.improvement
    if not imp.targets:
        click.echo("nothing to improve: no training case is misrouted")
    for a in imp.attempts:
        state = "accepted" if a.accepted else "rejected"
        click.echo(f"{state}: {for_terminal(a.target.why)}: {for_terminal(a.reason)}")
    click.echo(
        f"{len(imp.accepted)} accepted of {len(imp.attempts)} proposals; ${imp.cost_usd:.4f} "
        f"on {imp.calls} model call{'' if imp.calls == 1 else 's'}, {imp.routed} routed cases"
    )
    click.echo(f"report: {printable(str(done.files['html']))}")
    click.echo(f"patch: {printable(str(done.files['patch']))}")
    for path in done.applied:
        click.echo(f"written: {printable(str(path))}")
    for line in done.refused:
        click.echo(f"error: {for_terminal(line)}", err=True)
    if imp.stop:
        click.echo(f"error: {for_terminal(imp.stop)}", err=True)
    sys.exit(done.exit_code)
