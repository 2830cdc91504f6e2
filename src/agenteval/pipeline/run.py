"""`agenteval run`: route, grade outputs, score, save the record and render the reports.

The run folder holds the resolved config from the first second, so `--resume` needs nothing
else.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from agenteval.config import EvalConfig
from agenteval.errors import AgentEvalError, ConfigError, ExitCode
from agenteval.execution.batch import BatchTicket, run_batch
from agenteval.execution.cache import ResponseCache
from agenteval.execution.runner import RunPlan, RunState, Trial, run_plan
from agenteval.outputs.produce import (
    load_recorded,
)
from agenteval.outputs.scorecard import score_outputs
from agenteval.pipeline.grade import grade_outputs, output_cost, outputs_info, user_modules
from agenteval.pipeline.inputs import (
    Loaded,
    RunSpec,
    open_cache,
    prepare,
    router_options,
)
from agenteval.record.history import append_history
from agenteval.record.store import (
    ResultsWriter,
    RunRecord,
    load_record,
    read_outputs,
    read_results,
    save_record,
    total_usage,
)
from agenteval.reports import write_reports
from agenteval.routing import KeyedRouter, ModelClient, Router, make_router
from agenteval.scoring.compare import compare, regression_gate
from agenteval.scoring.gates import evaluate_gates, headline, output_headline
from agenteval.scoring.scorecard import score

BATCH_TICKET = "batch.json"


@dataclass(frozen=True, kw_only=True)
class RunOutcome:
    """What a finished (or interrupted) run produced."""

    record: RunRecord
    run_dir: Path
    exit_code: ExitCode
    failed_gates: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def run_eval(
    spec: RunSpec,
    *,
    progress: Callable[[RunState], Any] | None = None,
    notify: Callable[[str], Any] | None = None,
) -> RunOutcome:
    """Run an eval (or finish a resumed one) and write its folder.

    Args:
        spec: The resolved config and command-line choices.
        progress: Called with the live counters about once per finished trial.
        notify: Called with one-line status messages (batch submitted, polling, ...).

    Raises:
        AgentEvalError: for unusable input (nothing has been routed yet when this is raised).
    """
    started = time.monotonic()
    if spec.resume:  # the run keeps the cases it started with
        selection = load_record(spec.resume).selection or {}
        spec = replace(
            spec,
            only=tuple(selection.get("only") or ()),
            limit=selection.get("limit"),
            sample=selection.get("sample"),
            seed=int(selection.get("seed") or 0),
        )
    config = spec.config
    loaded, cases, holdout, views = prepare(spec)
    backend = config.router.backend or "lexical"
    router = make_router(backend, router_options(config))
    if config.max_cost_usd is not None and router.describe().get("price_known") is False:
        raise ConfigError(
            f"--max-cost needs a price for {router.describe().get('model')}, and the price table "
            "has none",
            hint="add the model under router.prices in the config, or drop --max-cost",
        )
    graded_cases = [c for c in cases if c.checks] if config.outputs.enabled else []
    recorded = (  # read before the run folder is made: a malformed file leaves nothing behind
        load_recorded(config.resolve(config.outputs.recorded))
        if graded_cases and config.outputs.recorded
        else None
    )
    baseline = (
        None
        if spec.resume
        else find_baseline(
            spec.baseline or config.gates.baseline, config, from_cli=spec.baseline is not None
        )
    )
    if spec.resume:
        run_dir = spec.resume
        record = load_record(run_dir)
        if record.catalog.get("fingerprint") not in (None, loaded.catalog.fingerprint):
            raise ConfigError(
                "the catalog changed since this run started, so its trials would not compare",
                path=run_dir,
                hint="restore the agents as they were, or start a new run "
                "(`agenteval compare` can compare the two afterwards)",
            )
        # a resumed run may get a new budget or concurrency; nothing that changes answers
        record = record.with_(config=config.model_dump(mode="json") | {"base_dir": config.base_dir})
        done_rows = read_results(run_dir, repair=True)
    else:
        run_dir = _new_run_dir(config.resolve(config.out), config.name)
        done_rows = []
        record = RunRecord(
            run_id=run_dir.name,
            name=config.name,
            status="running",
            created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            config=config.model_dump(mode="json") | {"base_dir": config.base_dir},
            router=dict(router.describe()),
            holdout=str(holdout),
            catalog=_catalog_info(loaded),
            cases=_case_info(loaded, cases),
            versions=_versions(),
            baseline=baseline,
            selection={
                "only": list(spec.only),
                "limit": spec.limit,
                "sample": spec.sample,
                "seed": spec.seed,
            },
            notes=tuple(
                n
                for n in [spec.backend_reason and f"router: {backend} ({spec.backend_reason})"]
                if n
            ),
        )
        save_record(run_dir, record)
    done = frozenset((r.trial.case_id, r.trial.trial) for r in done_rows)
    plan = RunPlan(cases=cases, views=views, trials=config.trials, done=done)
    by_id = {c.id: c for c in cases}
    spent = [r.trial.decision for r in done_rows if not r.trial.decision.cached]
    state = RunState(  # the budget covers the whole run, resumed sessions included
        total=len(plan.pending()),
        cost_usd=sum(d.cost_usd or 0.0 for d in spent),
        paid=sum(d.error is None for d in spent),
    )
    interrupted = False
    notes: list[str] = []
    can_run_agents = isinstance(router, ModelClient) or bool(
        os.environ.get(config.router.api_key_env)
    )
    if graded_cases and recorded is None and not can_run_agents:
        notes.append(
            f"{len(graded_cases)} cases carry output checks, not graded: no model to run agents "
            "offline (pass --outputs FILE.jsonl, or set ANTHROPIC_API_KEY)"
        )
        graded_cases = []
    needs_cache = isinstance(router, KeyedRouter) or bool(graded_cases)  # agents and judges
    cache = open_cache(config) if needs_cache else None
    with ResultsWriter(run_dir) as writer:
        preload = _Preload()

        def on_trial(trial: Trial) -> None:
            writer.write(by_id[trial.case_id], trial)
            if not trial.decision.cached:
                preload.start()
            if progress:
                progress(state)

        try:
            asyncio.run(_run(router, plan, config, on_trial, state, cache, run_dir, notify))
            if graded_cases and state.stopped_reason is None:
                with user_modules(config):
                    grade_outputs(
                        config,
                        loaded.catalog,
                        graded_cases,
                        router,
                        run_dir,
                        cache,
                        recorded,
                        state,
                        progress,
                    )
        except KeyboardInterrupt:
            interrupted = True
            state.stopped_reason = "interrupted (Ctrl-C)"
        finally:
            if cache is not None:
                cache.close()
    return finish_run(
        run_dir,
        record,
        loaded.catalog.names,
        started=started,
        stopped_reason=state.stopped_reason,
        interrupted=interrupted,
        fail_under=spec.fail_under,
        notes=tuple(notes),
    )


class _Preload:
    """Import what scoring and reports need in a thread while requests are in flight.

    Started by the first answer that came from the API (so it never competes with `import
    anthropic` or a warm-up request); on a fully cached rerun nothing is started.
    """

    def __init__(self) -> None:
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            threading.Thread(target=self._run, name="agenteval-preload", daemon=True).start()

    @staticmethod
    def _run() -> None:
        import sklearn.metrics  # noqa: F401

        from agenteval.reports.html import warm_templates

        warm_templates()


async def _run(
    router: Router,
    plan: RunPlan,
    config: EvalConfig,
    on_trial: Callable[[Trial], None],
    state: RunState,
    cache: ResponseCache | None,
    run_dir: Path,
    notify: Callable[[str], Any] | None,
) -> None:
    try:
        if config.batch:
            await _run_batch(
                router,
                plan,
                run_dir / BATCH_TICKET,
                notify or (lambda message: None),
                on_trial=on_trial,
                state=state,
                cache=cache,
                poll_s=config.batch_poll_s,
            )
            return
        await run_plan(
            router,
            plan,
            concurrency=config.concurrency,
            on_trial=on_trial,
            max_cost_usd=config.max_cost_usd,
            state=state,
            cache=cache,
        )
    finally:
        await router.aclose()


async def _run_batch(
    router: Router, plan: RunPlan, path: Path, say: Callable[[str], Any], **options: Any
) -> None:
    """Run through Message Batches, keeping the ticket at ``path`` so a resume polls it."""
    ticket = BatchTicket.from_dict(json.loads(path.read_text())) if path.exists() else None
    if ticket is not None:
        say(f"resuming: polling batch {', '.join(ticket.batch_ids)} (not resubmitting)")

    def on_submit(new: BatchTicket) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(new.to_dict()))
        os.replace(tmp, path)
        say(f"submitted batch {', '.join(new.batch_ids)} ({len(new.custom_ids)} requests)")

    await run_batch(
        router,
        plan,
        on_submit=on_submit,
        ticket=ticket,
        on_poll=lambda status, done, total: say(
            f"batch {status}: {done}/{total} requests processed"
        ),
        **options,
    )


def finish_run(
    run_dir: Path,
    record: RunRecord,
    agent_names: Sequence[str],
    *,
    started: float,
    stopped_reason: str | None = None,
    interrupted: bool = False,
    fail_under: Sequence[tuple[str, float]] = (),
    notes: Sequence[str] = (),
) -> RunOutcome:
    """Score what results.jsonl holds, save summary.json, render every report."""
    rows = read_results(run_dir)
    expected_total = record.cases.get("selected", 0) * int(record.config.get("trials", 1))
    complete = not interrupted and stopped_reason is None and len(rows) >= expected_total
    scorecard = score([r.trial for r in rows], agent_names)
    graded = read_outputs(run_dir)
    output_card = score_outputs(graded) if graded else None
    graded_cases = (
        record.cases.get("with_checks", 0)
        if record.config.get("outputs", {}).get("enabled", True)
        else 0
    )
    if graded_cases and not any("not graded" in n for n in notes):
        complete = complete and len(graded) >= graded_cases * int(record.config.get("trials", 1))
    paid = [r.trial.decision for r in rows if not r.trial.decision.cached]
    # a failed request is not billed; an answer cut off at max_tokens is, and says so
    costs = [d.cost_usd for d in paid if d.error is None or d.cost_usd is not None]
    cost = None if any(c is None for c in costs) else round(sum(c or 0.0 for c in costs), 6)
    if graded and cost is not None:
        extra = output_cost(graded)
        cost = None if extra is None else round(cost + extra, 6)
    gates_config = record.config.get("gates") or {}
    numbers = headline(scorecard) | output_headline(output_card)
    gate_results = evaluate_gates(numbers, gates_config, fail_under)
    comparison = None
    if record.baseline:
        base_dir = Path(record.baseline["path"])
        base = load_record(base_dir)
        base_names = [a["name"] for a in base.catalog.get("agents", [])]
        comp = compare(read_results(base_dir), rows, base_names, agent_names)
        comparison = comp.to_dict()
        gate_results.append(
            regression_gate(
                comp,
                baseline=str(record.baseline["run_id"]),
                significance=float(gates_config.get("significance") or 0.05),
                max_regression=gates_config.get("max_regression"),
            )
        )
    record = record.with_(
        status="complete" if complete else "incomplete",
        finished_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        duration_s=round((record.duration_s or 0.0) + time.monotonic() - started, 3),
        stopped_reason=stopped_reason,
        usage=total_usage(rows),
        cost_usd=cost,
        headline=numbers,
        gates=tuple(gate_results),
        scorecard=scorecard,
        comparison=comparison,
        outputs=None if output_card is None else outputs_info(record, output_card, graded),
        notes=tuple(dict.fromkeys([*record.notes, *notes])),
    )
    save_record(run_dir, record)
    append_history(run_dir.parent, record)
    write_reports(run_dir, record, rows)
    failed = tuple(g["name"] for g in gate_results if not g["passed"])
    if interrupted:
        code = ExitCode.INTERRUPTED
    elif stopped_reason and stopped_reason.startswith("stopped:"):
        code = ExitCode.USAGE_ERROR  # the API refused (key, spend limit, model): fix, then resume
    elif scorecard.trials and scorecard.errors / scorecard.trials > 0.5:
        code = ExitCode.TOO_MANY_ERRORS
    elif failed:
        code = ExitCode.GATE_FAILED
    else:
        code = ExitCode.OK
    return RunOutcome(record=record, run_dir=run_dir, exit_code=code, failed_gates=failed)


def find_baseline(
    which: str | None, config: EvalConfig, *, from_cli: bool = False
) -> dict[str, str] | None:
    """Resolve a baseline (a run folder, or `latest`) to {run_id, path}, before anything runs.

    Raises:
        ConfigError: when the folder is not a saved run.
    """
    if not which:
        return None
    if which == "latest":
        out = config.resolve(config.out)
        runs = (
            sorted(p for p in out.glob("*") if (p / "summary.json").is_file())
            if out.is_dir()
            else []
        )
        for run in reversed(runs):
            saved = load_record(run)
            if saved.name == config.name and saved.status == "complete":
                return {"run_id": saved.run_id, "path": str(run.resolve())}
        return None  # the first run of an eval has nothing to compare against
    path = Path(which) if from_cli else config.resolve(which)
    try:
        saved = load_record(path)
    except AgentEvalError as exc:
        raise ConfigError(
            f"baseline {which!r} is not a saved run ({exc.message})",
            hint="pass a folder under reports/ written by `agenteval run`, or `latest`",
        ) from exc
    return {"run_id": saved.run_id, "path": str(path.resolve())}


def _new_run_dir(out: Path, name: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)
    for n in range(1000):
        run_dir = out / (f"{stamp}-{safe}" + (f"-{n}" if n else ""))
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            continue
    raise ConfigError("cannot create a run folder", path=out, hint="clean up the reports folder")


def _catalog_info(loaded: Loaded) -> dict[str, Any]:
    cases_per_agent: dict[str, int] = {}
    for c in loaded.case_set.cases:
        if c.agent:
            cases_per_agent[c.agent] = cases_per_agent.get(c.agent, 0) + 1
    diags = [*loaded.catalog.diagnostics, *loaded.case_set.diagnostics]
    return {
        "fingerprint": loaded.catalog.fingerprint,
        "roots": [str(p) for p in loaded.catalog.roots],
        "agents": [
            {
                "name": a.name,
                "path": str(a.path),
                "line": a.line,
                "model": a.model,
                "examples": cases_per_agent.get(a.name, 0),
                "flags": sorted({d.code for d in a.diagnostics if d.severity != "info"}),
            }
            for a in loaded.catalog.agents
        ],
        "diagnostics": [
            {
                "path": str(d.path),
                "line": d.line,
                "severity": d.severity,
                "code": d.code,
                "message": d.message,
                "hint": d.hint,
            }
            for d in diags
        ],
    }


def _case_info(loaded: Loaded, selected: Sequence[Any]) -> dict[str, Any]:
    all_cases = loaded.case_set.cases
    return {
        "total": len(all_cases),
        "selected": len(selected),
        "examples": sum(c.origin == "example" for c in all_cases),
        "dataset": sum(c.origin == "dataset" for c in all_cases),
        "examples_without_user": loaded.case_set.examples_without_user,
        "with_checks": sum(bool(c.checks) for c in selected),
        "datasets": [str(p) for p in loaded.dataset_paths],
    }


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("agenteval", "scikit-learn", "anthropic"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions
