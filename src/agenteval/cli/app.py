"""The `agenteval` command group, and what several commands share: clean errors, the
options more than one command takes, the catalog paths a command reads."""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import Any

import click

from agenteval.errors import AgentEvalError, ExitCode
from agenteval.text import for_terminal


@cache
def quiet_collector() -> None:
    """Spare a command the cyclic collector's work on objects that live as long as it does.

    Loading the SDK and the catalog builds hundreds of thousands of long-lived objects (the SDK's
    pydantic classes among them), and at the default thresholds the collector walks them all
    again and again while they load; at exit, the interpreter's last collections walk them once
    more for nothing. A young generation of 10,000 and rarer old collections keep collecting
    short-lived cycles as before; the exit freeze skips the final walk (everything of ours is
    closed and flushed before atexit runs). What it buys an API run: bench/devices.py.
    """
    gc.set_threshold(10_000, 50, 50)
    atexit.register(gc.freeze)


class GateOption(click.Option):
    """`--fail-under`, whose help names the gates: read from the config module only when help
    is shown, so that `agenteval --help` does not import pydantic and the config models."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from agenteval.config import GATES

        self.help = (
            "Gate (repeatable): exit 1 when METRIC misses VALUE: "
            + ", ".join(
                f"{name} (a count)" if g.kind == "count" else name for name, g in GATES.items()
            )
            + "; rates are 0 to 1."
        )
        return super().get_help_record(ctx)


class RouterChoice(click.Choice[str]):
    """`--router`'s choices: the registry's names (built-ins and installed packages' entry
    points), read when a name is given or the choices are shown, not at every start."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from agenteval.routing import registry

        return tuple(sorted(registry()))

    @choices.setter
    def choices(self, value: object) -> None:
        """Ignored: the choices are the registry's."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from agenteval.routing import router_entry

        if isinstance(value, str) and router_entry(value) is not None:
            return value
        return super().convert(value, param, ctx)


def fail_cleanly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn an AgentEvalError into one `error:` line and exit code 2, with no traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AgentEvalError as exc:
            click.echo(f"error: {for_terminal(exc)}", err=True)
            sys.exit(ExitCode.USAGE_ERROR)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="agenteval")
def main() -> None:
    """Score how well a model routes requests to your Claude Code subagents."""
    quiet_collector()


def load_eval_config(config_path: Path | None) -> Any:
    from agenteval.config import EvalConfig, load_config

    return load_config(config_path) if config_path else EvalConfig()


def catalog_paths_of(
    config_path: Path | None,
    agents: tuple[Path, ...],
    datasets: tuple[Path, ...],
    plugins: tuple[Path, ...] = (),
) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The agents and dataset paths a command reads, resolved as a run resolves them."""
    from agenteval.settings import catalog_paths

    config = load_eval_config(config_path)
    say_default_agents(config, (*agents, *plugins))
    return catalog_paths(config, agents, datasets, plugins)


def say_default_agents(config: Any, agents: tuple[Path, ...]) -> None:
    """Say which default agents folder was chosen, when another one was passed over."""
    if agents or config.agents or config.plugins:
        return
    from agenteval.catalog import default_agents_folder

    try:
        note = default_agents_folder().note
    except AgentEvalError:
        return  # the command itself says there is no agents folder
    if note:
        click.echo(for_terminal(note), err=True)


def agent_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--dataset",
        "datasets",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Dataset file (repeatable), or `none`. Default: datasets/*.yaml|jsonl, with the "
        "default agents only.",
    )(fn)
    fn = click.option(
        "--agents",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Agents folder or file (repeatable). Default: ./agents, else ./.claude/agents.",
    )(fn)
    fn = click.option(
        "--plugin",
        "plugins",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Claude Code plugin or marketplace folder (repeatable), read as the CLI reads "
        "plugins: agents named plugin:name, skills and commands beside them.",
    )(fn)
    return fn


def model_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Which router and model, how examples are held out, how many trials."""
    for option in reversed(
        [
            click.option(
                "--router",
                "backend",
                type=RouterChoice(),
                help="Routing backend (built-ins and installed plugins). Default: anthropic "
                "when ANTHROPIC_API_KEY is set, else lexical.",
            ),
            click.option("--model", help="Model id or alias (sonnet, opus, haiku)."),
            click.option("--holdout", help="`none` or `kfold:K` (default kfold:5)."),
            click.option("--trials", type=int, help="Repeat each case N times."),
        ]
    ):
        fn = option(fn)
    return fn


def selection_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Narrowing a run to some cases."""
    fn = click.option(
        "--only", multiple=True, help="Only cases expecting this agent (repeatable)."
    )(fn)
    return click.option("--limit", type=int, help="Only the first N cases.")(fn)


def printable(text: str) -> str:
    """Control characters (ESC, NUL, ...) as visible escapes: a file must not drive a terminal."""
    return "".join(
        c if c in "\n\t" or (c.isprintable() and c not in "\x7f") else f"\\x{ord(c):02x}"
        for c in text
    )


def open_page(page: Path) -> None:
    """Open a report in the user's browser (a terminal without one says so, and goes on)."""
    import webbrowser

    if not webbrowser.open(page.as_uri()):
        click.echo(f"note: no browser to open {page} with", err=True)
