"""`agenteval run`: parse the options into settings, run the eval, print its summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from agenteval.cli.app import (
    GateOption,
    agent_options,
    fail_cleanly,
    load_eval_config,
    main,
    model_options,
    open_page,
    say_default_agents,
    selection_options,
)
from agenteval.cli.summary import print_summary
from agenteval.errors import ConfigError, ExitCode
from agenteval.text import for_terminal

if TYPE_CHECKING:
    from agenteval.settings import RunSettings


@main.command()
@click.argument("config_path", required=False, type=click.Path(path_type=Path))
@agent_options
@model_options
@click.option("--concurrency", type=int, help="Requests in flight at once (default 16).")
@selection_options
@click.option("--sample", type=int, help="Run a random sample of N cases (see --seed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --sample.")
@click.option(
    "--shard",
    metavar="I/N",
    help="Run only shard I of N (a stable split of the cases); `agenteval merge` joins them.",
)
@click.option(
    "--rerun-failed",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Route again only the cases that failed in this run folder, as a run of its own.",
)
@click.option("--out", help="Folder for run folders (default reports/).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the response cache.")
@click.option(
    "--resume",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Finish an interrupted run folder.",
)
@click.option(
    "--fail-under",
    multiple=True,
    metavar="METRIC=VALUE",
    cls=GateOption,
)
@click.option(
    "--max-cost",
    type=float,
    help="Stop starting requests before spending this (USD); a --resume keeps the run's unless "
    "given again.",
)
@click.option(
    "--baseline",
    help="A run folder (or `latest`) to compare against; with the "
    "regression gate, a significant drop fails the run.",
)
@click.option("--batch", is_flag=True, help="Use the Message Batches API (half price, slower).")
@click.option(
    "--outputs",
    "recorded",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Grade outputs recorded in this JSONL file instead of running agents.",
)
@click.option(
    "--oracle-routing",
    is_flag=True,
    help="Grade the expected agent's output, whatever routing chose.",
)
@click.option("--judge-model", help="Model that grades `rubric` checks (default: the run's).")
@click.option(
    "--allow-python-checks",
    is_flag=True,
    help="Let `python:` checks run any module (default: only outputs.trusted_check_modules).",
)
@click.option("--plain", is_flag=True, help="Plain progress lines even on a terminal.")
@click.option("--open", "open_report", is_flag=True, help="Open the report in a browser.")
@fail_cleanly
def run(
    config_path: Path | None,
    agents: tuple[Path, ...],
    plugins: tuple[Path, ...],
    datasets: tuple[Path, ...],
    backend: str | None,
    model: str | None,
    holdout: str | None,
    trials: int | None,
    concurrency: int | None,
    limit: int | None,
    only: tuple[str, ...],
    sample: int | None,
    seed: int,
    shard: str | None,
    rerun_failed: Path | None,
    out: str | None,
    no_cache: bool,
    resume: Path | None,
    fail_under: tuple[str, ...],
    max_cost: float | None,
    baseline: str | None,
    batch: bool,
    recorded: Path | None,
    oracle_routing: bool,
    judge_model: str | None,
    allow_python_checks: bool,
    plain: bool,
    open_report: bool,
) -> None:
    """Route every case, grade outputs of cases with checks, write a report folder."""
    from agenteval.pipeline.shard import parse_shard
    from agenteval.scoring.gates import parse_fail_under
    from agenteval.settings import Overrides, resolve

    gates = parse_fail_under(fail_under)
    if resume:
        settings = _resumed_settings(resume, max_cost, concurrency, no_cache, gates, baseline)
    else:
        config = load_eval_config(config_path)
        say_default_agents(config, agents)
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
                concurrency=concurrency,
                max_cost_usd=max_cost,
                no_cache=no_cache,
                batch=batch,
                out=out,
                fail_under=gates,
                baseline=baseline,
                recorded=recorded,
                oracle_routing=oracle_routing,
                judge_model=judge_model,
                allow_python_checks=allow_python_checks,
                only=only,
                limit=limit,
                sample=sample,
                seed=seed,
                shard=parse_shard(shard) if shard else None,
                cases=_failed_cases(rerun_failed) if rerun_failed else (),
            ),
        )
        click.echo(f"router: {settings.backend} ({settings.backend_reason})", err=True)
    _run_and_report(settings, resume, plain=plain, open_report=open_report)


def _resumed_settings(
    resume: Path,
    max_cost: float | None,
    concurrency: int | None,
    no_cache: bool,
    gates: tuple[tuple[str, float], ...],
    baseline: str | None,
) -> RunSettings:
    """The settings the run in ``resume`` started with, changed only where a resume may change
    them (the budget, the concurrency, the cache, the gates).

    Raises:
        ConfigError: when an option sets what may not change on resume.
    """
    from agenteval.pipeline import recorded_settings
    from agenteval.record.store import load_record

    _refuse_answer_changes(click.get_current_context())
    return recorded_settings(load_record(resume)).resume_with(
        max_cost_usd=max_cost,
        concurrency=concurrency,
        cache=False if no_cache else None,
        fail_under=gates,
        baseline=baseline,
    )


def _run_and_report(
    settings: RunSettings, resume: Path | None, *, plain: bool, open_report: bool
) -> NoReturn:
    """Run the eval with live progress, print its summary (and open its report), and exit with
    the run's exit code."""
    from agenteval.execution.progress import ProgressDisplay
    from agenteval.pipeline import run_eval

    with ProgressDisplay(force_plain=plain) as progress:
        outcome = run_eval(
            settings,
            resume=resume,
            progress=progress,
            notify=lambda m: click.echo(for_terminal(m), err=True),
        )
    if outcome.exit_code == ExitCode.INTERRUPTED and Path(sys.argv[0]).name == "agenteval":
        # The run is saved and this process is on its way out with 130: a press now (while the
        # summary prints, or during interpreter shutdown, which resets Python-level handlers but
        # keeps SIG_IGN) must not kill it with SIGINT instead. Only in the `agenteval` process
        # itself: a caller invoking the command in-process keeps its own Ctrl-C (and children
        # it starts would inherit SIG_IGN).
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # and a repeated SIGTERM (issue 21 C.1)
    print_summary(outcome)
    if open_report:
        open_page((outcome.run_dir / "report.html").resolve())
    sys.exit(outcome.exit_code)


def _refuse_answer_changes(ctx: click.Context) -> None:
    """`run --resume` refuses an option given for a setting that may not change on resume."""
    from click.core import ParameterSource

    from agenteval.settings import fixed_on_resume

    fixed = fixed_on_resume()
    changed = [
        p.opts[0] if isinstance(p, click.Option) else "CONFIG"
        for p in ctx.command.params
        if p.name in fixed and ctx.get_parameter_source(p.name) is ParameterSource.COMMANDLINE
    ]
    if changed:
        raise ConfigError(
            f"{', '.join(changed)} cannot change when resuming: the run keeps what it started with",
            hint="resume with only --resume (and --max-cost, --concurrency, --no-cache, "
            "--fail-under, --baseline), or start a new run",
        )


def _failed_cases(run_dir: Path) -> tuple[str, ...]:
    """The cases of a saved run with a trial that was not right (misrouted, unlisted, errored).

    Raises:
        ConfigError: when every case there was right (nothing to route again).
    """
    from agenteval.record.store import failed_case_ids

    failed = failed_case_ids(run_dir)
    if not failed:
        raise ConfigError(
            f"every case of {run_dir} was right: nothing to route again",
            hint="run without --rerun-failed to route every case",
        )
    click.echo(f"routing again the {len(failed)} failed cases of {run_dir}", err=True)
    return failed
