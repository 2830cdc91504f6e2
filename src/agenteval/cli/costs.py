"""Commands about what a run will send: `estimate`, and `capture` of the request layout."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from agenteval.cli.app import (
    agent_options,
    fail_cleanly,
    load_eval_config,
    main,
    model_options,
    say_default_agents,
    selection_options,
)
from agenteval.text import for_terminal

if TYPE_CHECKING:
    from agenteval.execution.estimate import Estimate


@main.command()
@click.argument("config_path", required=False, type=click.Path(path_type=Path))
@agent_options
@model_options
@selection_options
@click.option("--batch", is_flag=True, help="Price it as a Message Batches run (half price).")
@fail_cleanly
def estimate(
    config_path: Path | None,
    agents: tuple[Path, ...],
    plugins: tuple[Path, ...],
    datasets: tuple[Path, ...],
    backend: str | None,
    model: str | None,
    holdout: str | None,
    trials: int | None,
    limit: int | None,
    only: tuple[str, ...],
    batch: bool,
) -> None:
    """Tokens and cost of a run, before spending anything."""
    from agenteval.pipeline import estimate_eval
    from agenteval.settings import Overrides, resolve

    config = load_eval_config(config_path)
    say_default_agents(config, agents)
    if not backend and not config.router.backend:
        backend = "anthropic"  # estimating is about what a model run would cost
    settings = resolve(
        config,
        Overrides(
            agents=agents,
            plugins=plugins,
            datasets=datasets,
            backend=backend,
            model=model,
            holdout=holdout,
            trials=trials,
            batch=batch,
            only=only,
            limit=limit,
        ),
    )
    chosen = settings.backend
    e = estimate_eval(settings, say=lambda m: click.echo(for_terminal(m), err=True))
    _print_estimate(e, chosen)


def _print_estimate(e: Estimate, chosen: str) -> None:
    """The estimate of a run with router ``chosen``: requests, tokens, cost and how it was
    reckoned, and the cost of each placement of the agent list."""
    click.echo(f"router {chosen}, model {e.model}{' (batch)' if e.batch else ''}")
    click.echo(
        f"requests: {e.requests} to send, {e.cached} answered from the cache; "
        f"{e.prefixes} prompt prefix(es) to cache"
    )
    if e.tokens_counted:
        click.echo(
            f"tokens per request: ~{e.prefix_tokens:,} shared prefix + ~{e.request_tokens:,} "
            f"for the case"
        )
        click.echo(
            f"tokens: {e.input_tokens:,} input, {e.cache_write_tokens:,} cache write, "
            f"{e.cache_read_tokens:,} cache read, ~{e.output_tokens:,} output (assumed)"
        )
    click.echo(f"estimated cost: {_cost_text(e)}")
    click.echo(f"method: {e.method}")
    if e.prompt_source:
        click.echo(f"prompt: {e.prompt_source}")
    for p in e.placements:
        price = "unknown" if p.cost_usd is None else f"${p.cost_usd:.4f}"
        click.echo(
            f"placement {p.placement}: {price} ({p.input_tokens:,} fresh input, "
            f"{p.cache_read_tokens:,} cache read)"
            + (" <- this run" if p.placement == e.placement else "")
        )


def _cost_text(e: Estimate) -> str:
    """The estimated cost as the router is priced: nothing offline, a plan's API-equivalent,
    dollars, or unknown and why."""
    if e.pricing == "none":
        return "none (offline router)"
    if e.pricing == "plan":
        worst = "unknown" if e.cost_usd is None else f"${e.cost_usd:.4f}"
        return (
            "none per token: the run draws on your Claude plan (Claude Code login, no API key); "
            f"API-equivalent {worst}"
        )
    return f"unknown ({e.unknown_reason})" if e.cost_usd is None else f"${e.cost_usd:.4f}"


@main.command()
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Alias or id as `claude --model` takes it (repeatable; default: sonnet).",
)
@click.option("--claude", help="The `claude` binary (default: $AGENTEVAL_CLAUDE, ./.tools, PATH).")
@click.option(
    "--empty-view", is_flag=True, help="Also capture the layout for a view with no agents."
)
@fail_cleanly
def capture(models: tuple[str, ...], claude: str | None, empty_view: bool) -> None:
    """Record the request the installed Claude Code sends, as the profile `prompt: claude-code`
    replays; print what changed since the previous profile."""
    from agenteval.catalog import default_agents_folder
    from agenteval.errors import CatalogError
    from agenteval.pipeline.capture import capture_profiles
    from agenteval.routing.profiles.project import read_project

    shapes = ("agents", "empty") if empty_view else ("agents",)
    try:
        agent_dirs: tuple[Path, ...] = (default_agents_folder().path,)
    except CatalogError:
        agent_dirs = ()  # no catalog here: nothing to self-check
    captured = capture_profiles(
        models,
        claude=claude,
        shapes=shapes,
        say=lambda m: click.echo(for_terminal(m), err=True),
        context=read_project(Path.cwd()),
        agent_dirs=agent_dirs,
    )
    for c in captured:
        click.echo(c.summary())
        click.echo(f"  {c.change or 'first profile of this model and view shape'}")
        click.echo(f"  stored: {c.path}")
