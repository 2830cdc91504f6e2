"""The `agenteval` command. Thin: parse options, call one library function, print, exit.

Exit codes: 0 ok, 1 a gate failed, 2 usage or input error, 3 too many trial errors.
"""

from __future__ import annotations

import atexit
import gc
import json
import sys
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import Any

import click

from agenteval.errors import AgentEvalError, ConfigError, ExitCode
from agenteval.text import for_rich, for_terminal, plural


@cache
def _quiet_collector() -> None:
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


class _GateOption(click.Option):
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


class _RouterChoice(click.Choice[str]):
    """`--router`'s choices: the registry's names, read only when they are shown or a name is
    not a built-in (reading the installed packages' entry points would cost every start)."""

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


def _fail_cleanly(fn: Callable[..., Any]) -> Callable[..., Any]:
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
    _quiet_collector()


def _load_config(config_path: Path | None) -> Any:
    from agenteval.config import EvalConfig, load_config

    return load_config(config_path) if config_path else EvalConfig()


def _catalog_paths(
    config_path: Path | None,
    agents: tuple[Path, ...],
    datasets: tuple[Path, ...],
    plugins: tuple[Path, ...] = (),
) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The agents and dataset paths a command reads, resolved as a run resolves them."""
    from agenteval.settings import catalog_paths

    config = _load_config(config_path)
    _say_default_agents(config, (*agents, *plugins))
    return catalog_paths(config, agents, datasets, plugins)


def _say_default_agents(config: Any, agents: tuple[Path, ...]) -> None:
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


def _agent_opts(fn: Callable[..., Any]) -> Callable[..., Any]:
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


def _model_opts(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Which router and model, how examples are held out, how many trials."""
    for option in reversed(
        [
            click.option(
                "--router",
                "backend",
                type=_RouterChoice(),
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


def _selection_opts(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Narrowing a run to some cases."""
    fn = click.option(
        "--only", multiple=True, help="Only cases expecting this agent (repeatable)."
    )(fn)
    return click.option("--limit", type=int, help="Only the first N cases.")(fn)


@main.command()
@click.argument("config_path", required=False, type=click.Path(path_type=Path))
@_agent_opts
@_model_opts
@click.option("--concurrency", type=int, help="Requests in flight at once (default 16).")
@_selection_opts
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
    cls=_GateOption,
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
@_fail_cleanly
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
    from agenteval.execution.progress import ProgressDisplay
    from agenteval.pipeline import recorded_settings, run_eval
    from agenteval.pipeline.shard import parse_shard
    from agenteval.record.store import load_record
    from agenteval.scoring.gates import parse_fail_under
    from agenteval.settings import Overrides, resolve

    gates = parse_fail_under(fail_under)
    if resume:
        _refuse_answer_changes(click.get_current_context())
        settings = recorded_settings(load_record(resume)).resume_with(
            max_cost_usd=max_cost,
            concurrency=concurrency,
            cache=False if no_cache else None,
            fail_under=gates,
            baseline=baseline,
        )
    else:
        config = _load_config(config_path)
        _say_default_agents(config, agents)
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
    _print_summary(outcome)
    if open_report:
        _open((outcome.run_dir / "report.html").resolve())
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


def _print_summary(outcome: Any) -> None:
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
    say(f"report: {outcome.run_dir / 'report.html'}")
    for g in r.failed_gates:
        say(f"gate failed: {g.name}: {g.message}", "red")
    if outcome.exit_code == ExitCode.USAGE_ERROR and r.stopped_reason:
        click.echo(f"error: {for_terminal(r.stopped_reason.removeprefix('stopped: '))}", err=True)


@main.command()
@click.argument("config_path", required=False, type=click.Path(path_type=Path))
@_agent_opts
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_fail_cleanly
def cases(
    config_path: Path | None,
    agents: tuple[Path, ...],
    plugins: tuple[Path, ...],
    datasets: tuple[Path, ...],
    as_json: bool,
) -> None:
    """List the cases a run would route, without routing them."""
    from agenteval.pipeline import load_inputs

    loaded = load_inputs(*_catalog_paths(config_path, agents, datasets, plugins))
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
@_agent_opts
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
@_fail_cleanly
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
        from agenteval.catalog import RULES
        from agenteval.catalog import explain as explain_code

        if explain not in RULES:
            raise ConfigError(
                f"unknown diagnostic code {explain!r}",
                hint="codes: " + ", ".join(sorted(RULES)),
            )
        click.echo(explain_code(explain), nl=False)
        return
    from agenteval.errors import DatasetError
    from agenteval.pipeline import load_inputs
    from agenteval.pipeline.lint import (
        DEFAULT_OVERLAP,
        apply_fixes,
        lint_catalog,
        lint_json,
        propose_fixes,
    )

    overlap = DEFAULT_OVERLAP if overlap is None else overlap

    agent_paths, dataset_paths = _catalog_paths(config_path, agents, datasets, plugins)

    def read() -> tuple[Any, Any, DatasetError | None]:
        try:
            loaded = load_inputs(
                agent_paths, dataset_paths, claude_code_version=claude_code_version
            )
            problem = None
        except DatasetError as exc:  # still lint the catalog, and list the dataset problem too
            problem = exc
            loaded = load_inputs(agent_paths, claude_code_version=claude_code_version)
        found = lint_catalog(
            loaded.catalog, loaded.case_set.diagnostics, overlap=overlap if overlap < 1 else None
        )
        return loaded, found, problem

    loaded, report, dataset_problem = read()
    if fix or show_diff:
        fixes = propose_fixes(report)
        for f in fixes:
            if f.after is None:
                click.echo(f"{_printable(str(f.path))}: not fixed: {f.reason}")
            elif show_diff:
                click.echo(_printable(f.diff), nl=False)
        if not fix:
            return
        outcomes = apply_fixes(fixes)
        for o in outcomes:
            if not o.written:
                click.echo(f"{_printable(str(o.path))}: not written: {_printable(o.reason)}")
        n = sum(o.written for o in outcomes)
        click.echo(f"fixed {n} of {len(fixes)} files; both readings now agree on them")
        # what fixing left is listed and judged as any lint is: errors still exit 1
        loaded, report, dataset_problem = read()
    diags = list(report.diagnostics)
    counts = {s: sum(d.severity == s for d in diags) for s in ("error", "warning", "info")}
    if dataset_problem is not None:
        counts["error"] += 1
    if as_json:
        payload = lint_json(report)
        if dataset_problem is not None:
            payload["diagnostics"].append(
                {
                    "code": "dataset",
                    "severity": "error",
                    "file": str(dataset_problem.path),
                    "line": dataset_problem.line,
                    "message": dataset_problem.message,
                    "fix": dataset_problem.hint,
                }
            )
        click.echo(json.dumps(payload, indent=2, ensure_ascii=True))
    else:
        from agenteval.reports import relative_path

        folders = [*loaded.catalog.roots, *(p.parent for p in dataset_paths)]
        colours = {"error": "red", "warning": "yellow", "info": "dim"}
        for d in diags:
            where = relative_path(str(d.path), folders) + (f":{d.line}" if d.line else "")
            how = f" (fix: {d.hint})" if d.hint else ""
            click.secho(
                _printable(f"{where}: {d.severity}[{d.code}]: {d.message}{how}"),
                fg=colours[d.severity] if colours[d.severity] != "dim" else None,
                dim=d.severity == "info",
            )
        if dataset_problem is not None:
            click.secho(
                for_terminal(
                    f"{relative_path(str(dataset_problem.path), folders)}:"
                    f"{dataset_problem.line}: error: "
                    f"{dataset_problem.message} (fix: {dataset_problem.hint})"
                ),
                fg="red",
            )
        reading = loaded.catalog.claude_code
        seen = (
            f"; Claude Code {reading.version} lists {len(reading.agents)} of "
            f"{len(reading.files)} files"
            if reading is not None
            else ""
        )
        click.echo(
            f"{plural(len(loaded.catalog.agents), 'agent')}, "
            f"{plural(len(loaded.case_set.cases), 'case')}{seen}: "
            f"{plural(counts['error'], 'error')}, {plural(counts['warning'], 'warning')}, "
            f"{plural(counts['info'], 'note')}"
        )
    if counts["error"] or (strict and counts["warning"]):
        sys.exit(ExitCode.GATE_FAILED)


def _printable(text: str) -> str:
    """Control characters (ESC, NUL, ...) as visible escapes: a file must not drive a terminal."""
    return "".join(
        c if c in "\n\t" or (c.isprintable() and c not in "\x7f") else f"\\x{ord(c):02x}"
        for c in text
    )


@main.command()
@click.argument("config_path", required=False, type=click.Path(path_type=Path))
@_agent_opts
@_model_opts
@_selection_opts
@click.option("--batch", is_flag=True, help="Price it as a Message Batches run (half price).")
@_fail_cleanly
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

    config = _load_config(config_path)
    _say_default_agents(config, agents)
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
    if e.pricing == "none":
        cost = "none (offline router)"
    else:
        cost = f"unknown ({e.unknown_reason})" if e.cost_usd is None else f"${e.cost_usd:.4f}"
    click.echo(f"estimated cost: {cost}")
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


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--open", "open_report", is_flag=True, help="Open the report in a browser.")
@_fail_cleanly
def report(run_dir: Path, open_report: bool) -> None:
    """Render the reports of a saved run again, without routing (and refresh the index of
    runs beside it, reports/index.html)."""
    from agenteval.pipeline import rerender

    rerender(run_dir, notify=lambda m: click.echo(for_terminal(m), err=True))
    page = (run_dir / "report.html").resolve()
    click.echo(f"report: {page}")
    if open_report:
        _open(page)


def _open(page: Path) -> None:
    """Open a report in the user's browser (a terminal without one says so, and goes on)."""
    import webbrowser

    if not webbrowser.open(page.as_uri()):
        click.echo(f"note: no browser to open {page} with", err=True)


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
@_fail_cleanly
def capture(models: tuple[str, ...], claude: str | None, empty_view: bool) -> None:
    """Record the request the installed Claude Code sends, as the profile `prompt: claude-code`
    replays; print what changed since the previous profile."""
    from agenteval.pipeline.capture import capture_profiles

    shapes = ("agents", "empty") if empty_view else ("agents",)
    captured = capture_profiles(
        models, claude=claude, shapes=shapes, say=lambda m: click.echo(for_terminal(m), err=True)
    )
    for c in captured:
        click.echo(c.summary())
        click.echo(f"  {c.change or 'first profile of this model and view shape'}")
        click.echo(f"  stored: {c.path}")


@main.command()
@click.argument(
    "run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False)
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for the merged run folder, as `run --out` (default: the first shard's).",
)
@_fail_cleanly
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
    _print_summary(outcome)
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
@_fail_cleanly
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
@_fail_cleanly
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
    help="Take each agent's neighbours from this run's confusions (default: the overlap lint).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("datasets/generated.yaml"),
    show_default=True,
    help="The dataset file to write (a review page is written beside it).",
)
@click.option("--max-cost", type=float, help="Stop starting requests before spending this (USD).")
@_fail_cleanly
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

    settings = resolve(_load_config(config_path), Overrides(agents=agents, backend="lexical"))
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
        f"wrote {len(g.cases)} cases ({kinds}) to {_printable(str(done.dataset))}, "
        f"review page {_printable(str(done.review))}"
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
@_agent_opts
@click.option(
    "--router",
    "backend",
    type=_RouterChoice(),
    help="The router that verifies each change (default: as `run` chooses).",
)
@click.option("--model", help="The model that proposes descriptions (alias or id).")
@click.option("--targets", type=int, default=3, show_default=True, help="Pairs or agents to try.")
@click.option("--attempts", type=int, default=2, show_default=True, help="Proposals per target.")
@click.option("--apply", is_flag=True, help="Write the accepted changes into the agent files.")
@click.option("--max-cost", type=float, help="Stop starting requests before spending this (USD).")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for the session's files.")
@_fail_cleanly
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
) -> None:
    """Propose description changes for the worst confusions and prove them on held-out cases:
    a report, a patch, and with --apply the files written."""
    from agenteval.improve.session import improve_dataset
    from agenteval.settings import Overrides, resolve

    settings = resolve(
        _load_config(config_path),
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
    click.echo(f"report: {_printable(str(done.files['html']))}")
    click.echo(f"patch: {_printable(str(done.files['patch']))}")
    for path in done.applied:
        click.echo(f"written: {_printable(str(path))}")
    for line in done.refused:
        click.echo(f"error: {for_terminal(line)}", err=True)
    if imp.stop:
        click.echo(f"error: {for_terminal(imp.stop)}", err=True)
    sys.exit(done.exit_code)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--csv", "as_csv", is_flag=True, required=True, help="Write cases.csv and trials.csv."
)
@click.option(
    "--out", type=click.Path(path_type=Path), help="Folder to write to (default RUN_DIR)."
)
@_fail_cleanly
def export(run_dir: Path, as_csv: bool, out: Path | None) -> None:
    """Write a run's cases and trials as CSV files for a spreadsheet (see also the Python
    analysis API, `agenteval.analysis`, for pandas DataFrames)."""
    from agenteval.analysis import export_csv

    for path in export_csv(run_dir, out):
        click.echo(f"wrote {_printable(str(path))}")


if __name__ == "__main__":
    main()
