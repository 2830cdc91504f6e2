"""`agenteval run`: route, grade outputs, score, save the record and render the reports.

The run folder holds the resolved settings from the first second, so `--resume` needs nothing
else. Routing and output grading share one `Executor` (one limit, one budget, one cache) inside
one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agenteval.cases import Case
from agenteval.config import EvalConfig
from agenteval.errors import ConfigError
from agenteval.execution.batch import BatchTicket, run_batch
from agenteval.execution.cache import ResponseCache
from agenteval.execution.executor import Executor, StopReason
from agenteval.execution.runner import RunPlan, RunState, run_plan
from agenteval.execution.trials import ResultRow, Trial
from agenteval.models.client import ModelClient
from agenteval.outputs.produce import Recorded, load_recorded
from agenteval.pipeline.finish import RunOutcome, exit_code, finish_run
from agenteval.pipeline.grade import grade_outputs, output_cost, user_modules
from agenteval.pipeline.inputs import Loaded, build_router, open_cache, output_client, prepare
from agenteval.pipeline.reading import scored_names
from agenteval.pipeline.start import new_record, new_run_dir
from agenteval.record import store
from agenteval.record.history import facts_of, run_facts
from agenteval.record.schema import BaselineRef
from agenteval.record.schema import Selection as RecordedSelection
from agenteval.record.store import (
    ResultsWriter,
    RunDir,
    RunRecord,
    load_record,
    load_results,
    read_outputs,
    rows_of_run,
    save_record,
)
from agenteval.routing import ModelRouter, PreparedRouter, Router, capabilities_of
from agenteval.routing.profiles.source import self_check_notes
from agenteval.scoring.facts import RunFacts, measured_alike
from agenteval.settings import Overrides, RunSettings, resolve

# the finish (`finish_run`, `exit_code`, `RunOutcome`) lives in `pipeline.finish`; a run's
# callers find it here too
__all__ = [
    "RunOutcome",
    "exit_code",
    "find_baseline",
    "finish_run",
    "recorded_settings",
    "run_eval",
]

BATCH_TICKET = "batch.json"
FINISHED = "finished"  # `RunState.phase` once routing and grading have done all their work


def recorded_settings(record: RunRecord) -> RunSettings:
    """The settings a run was started with (rebuilt from the config for runs written before
    settings were recorded)."""
    if record.settings is not None:
        return record.settings
    config = EvalConfig.model_validate(dict(record.config or {}))
    selection = record.selection or RecordedSelection()
    return resolve(
        config,
        Overrides(
            backend=str(config.router.backend or record.router.backend or "lexical"),
            only=selection.only,
            limit=selection.limit,
            sample=selection.sample,
            seed=selection.seed,
        ),
    )


def run_eval(
    settings: RunSettings,
    *,
    router: Router | None = None,
    resume: Path | None = None,
    progress: Callable[[RunState], Any] | None = None,
    notify: Callable[[str], Any] | None = None,
) -> RunOutcome:
    """Run an eval (or finish a resumed one) and write its folder.

    Args:
        settings: The resolved settings (`settings.resolve`).
        router: A router to use instead of the one the settings name (any object with the
            Router protocol: Python callers can run their own through the whole pipeline).
        resume: A run folder to finish; its recorded settings must match ``settings`` but for
            the budget, the concurrency and the cache.
        progress: Called with the live counters about once per finished trial.
        notify: Called with one-line status messages (batch submitted, polling, ...).

    Raises:
        AgentEvalError: for unusable input (nothing has been routed yet when this is raised).
        RunLockedError: when another process works in the resumed run folder.
    """
    with contextlib.ExitStack() as held:  # the run folder's lock, from when it is known to the end
        return _run_eval(settings, held, router, resume, progress, notify)


@dataclass(frozen=True, kw_only=True)
class _Folder:
    """The run folder a session works in: the record so far and the rows already there."""

    run_dir: Path
    record: RunRecord
    done_rows: tuple[ResultRow, ...] = ()

    @property
    def done(self) -> frozenset[tuple[str, int]]:
        """The (case, trial) pairs already routed."""
        return frozenset((r.trial.case_id, r.trial.trial) for r in self.done_rows)


@dataclass(frozen=True, kw_only=True)
class _Work:
    """What the phases of one session work with."""

    settings: RunSettings
    router: Router
    client: ModelClient | None  # runs agents and judges in the outputs phase
    plan: RunPlan
    executor: Executor
    state: RunState
    folder: _Folder
    say: Callable[[str], Any]
    loaded: Loaded
    graded_cases: Sequence[Any]  # the cases whose outputs are graded
    recorded: dict[tuple[str, int | None], Recorded] | None
    progress: Callable[[RunState], Any] | None


def _run_eval(
    settings: RunSettings,
    held: contextlib.ExitStack,
    router: Router | None,
    resume: Path | None,
    progress: Callable[[RunState], Any] | None,
    notify: Callable[[str], Any] | None,
) -> RunOutcome:
    """`run_eval`, with the run folder's lock entered on ``held`` once the folder is known."""
    started = time.monotonic()
    say = notify or (lambda message: None)
    record = None if resume is None else _resumed_record(resume, settings, held)
    loaded, cases, views = prepare(settings, say)
    if resume is not None and record is not None:
        _check_same_catalog(record, loaded, resume)
    router = _ready_router(router or build_router(settings), settings, say)
    graded_cases = [c for c in cases if c.checks] if settings.outputs.enabled else []
    recorded = (  # read before the run folder is made: a malformed file leaves nothing behind
        load_recorded(settings.outputs.recorded)
        if graded_cases and settings.outputs.recorded
        else None
    )
    notes: list[str] = self_check_notes(router, settings.agents, say)
    client = output_client(settings, router) if graded_cases else None  # agents and judges
    if graded_cases and recorded is None and client is None:
        notes.append(
            f"{len(graded_cases)} cases carry output checks, not graded: no model to run agents "
            "offline (pass --outputs FILE.jsonl, or set ANTHROPIC_API_KEY)"
        )
        graded_cases = []
    if resume is not None and record is not None:
        folder = _resumed_folder(resume, record.with_(settings=settings), settings, cases, say)
    else:
        baseline = _baseline_of(settings, router, loaded, notes)
        folder = _new_folder(settings, router, loaded, cases, baseline, held)
    plan = RunPlan(cases=cases, views=views, trials=settings.trials, done=folder.done)
    cache = open_cache(settings)
    _cache_warnings(cache, notes, say)
    executor = _executor(settings, cache, folder)
    state = RunState(
        total=len(plan.pending()),
        cost_usd=executor.money.spent,
        costs_nothing=capabilities_of(router).pricing == "none",
    )
    work = _Work(
        settings=settings,
        router=router,
        client=client,
        plan=plan,
        executor=executor,
        state=state,
        folder=folder,
        say=say,
        loaded=loaded,
        graded_cases=graded_cases,
        recorded=recorded,
        progress=progress,
    )
    return _work_and_finish(work, cache, notes, started)


def _resumed_record(resume: Path, settings: RunSettings, held: contextlib.ExitStack) -> RunRecord:
    """The record of the run folder to finish, locked on ``held``.

    Raises:
        ConfigError: when ``settings`` change what the run's answers would be.
        RunLockedError: when another process works in the folder.
    """
    held.enter_context(RunDir(resume).lock())
    record = load_record(resume)
    settings.check_resume(recorded_settings(record))
    return record


def _check_same_catalog(record: RunRecord, loaded: Loaded, resume: Path) -> None:
    """A resumed run routes the catalog it started with.

    Raises:
        ConfigError: when the catalog the router is shown changed since.
    """
    if record.catalog.fingerprint not in (None, loaded.shown.fingerprint):
        raise ConfigError(
            "the catalog changed since this run started, so its trials would not compare",
            path=resume,
            hint="restore the agents as they were, or start a new run "
            "(`agenteval compare` can compare the two afterwards)",
        )


def _ready_router(router: Router, settings: RunSettings, say: Callable[[str], Any]) -> Router:
    """The router, prepared (runs the CLI when the router needs it, and says so), and priced
    when the run has a budget (`_check_priced`)."""
    if isinstance(router, PreparedRouter):
        router.prepare(say)
    if settings.max_cost_usd is not None:
        _check_priced(router)
    return router


def _resumed_folder(
    run_dir: Path,
    record: RunRecord,
    settings: RunSettings,
    cases: Sequence[Case],
    say: Callable[[str], Any],
) -> _Folder:
    """The resumed run's folder, with the rows of this run it holds (what else is there is
    said, and left out)."""
    found = rows_of_run(load_results(run_dir, repair=True), settings.trials, {c.id for c in cases})
    for warning in found.warnings():
        say(f"warning: {warning}")
    return _Folder(run_dir=run_dir, record=record, done_rows=tuple(found.rows))


def _baseline_of(
    settings: RunSettings, router: Router, loaded: Loaded, notes: list[str]
) -> BaselineRef | None:
    """The run this one is compared with (`find_baseline`); a `latest` that finds none is
    noted."""
    facts = facts_of(  # what `latest` must match to be a baseline
        catalog=loaded.catalog.fingerprint,
        holdout=str(settings.holdout),
        router=router.describe(),
        trials=settings.trials,
    )
    baseline = find_baseline(settings.gates.baseline, settings, facts)
    if baseline is None and settings.gates.baseline == "latest":
        notes.append(
            f"--baseline latest: no earlier complete run of this eval was measured like this "
            f"one (same holdout, router, model, prompt and trials) in {settings.out}; nothing "
            "to compare with"
        )
    return baseline


def _new_folder(
    settings: RunSettings,
    router: Router,
    loaded: Loaded,
    cases: Sequence[Case],
    baseline: BaselineRef | None,
    held: contextlib.ExitStack,
) -> _Folder:
    """A new run folder, locked on ``held``, holding the run's first record."""
    run_dir = new_run_dir(settings.out, settings.name)
    held.enter_context(RunDir(run_dir).lock())
    record = new_record(run_dir, settings, router, loaded, cases, baseline)
    save_record(run_dir, record)
    return _Folder(run_dir=run_dir, record=record)


def _executor(settings: RunSettings, cache: ResponseCache | None, folder: _Folder) -> Executor:
    """The one engine of the session; its budget covers the whole run, resumed sessions
    included."""
    spent = [r.trial.decision for r in folder.done_rows if not r.trial.decision.cached]
    return Executor(
        concurrency=settings.concurrency,
        max_cost_usd=settings.max_cost_usd,
        cache=cache,
        # what earlier sessions spent: their recorded answers, or more where a call was paid
        # and its answer not kept (a job the budget stopped between its agent and its judge)
        spent_usd=max(
            sum(d.cost_usd or 0.0 for d in spent)
            + (output_cost(read_outputs(folder.run_dir)) or 0.0),
            folder.record.cost_usd or 0.0,
        ),
        paid=sum(d.error is None for d in spent),
    )


def _work_and_finish(
    work: _Work, cache: ResponseCache | None, notes: list[str], started: float
) -> RunOutcome:
    """Route and grade, then finish the run (`finish_run`), even after a Ctrl-C; the cache is
    closed in between, its warnings noted."""
    try:
        shield = _route_and_grade(work)
    finally:
        if cache is not None:
            _cache_warnings(cache, notes, work.say)
            cache.close()
    with shield:  # a second Ctrl-C must not leave the run "running" with no report
        return finish_run(
            work.folder.run_dir,
            work.folder.record,
            work.settings,
            scored_names(work.loaded.catalog, work.loaded.shown),
            started=started,
            stop=work.executor.stop,
            notes=tuple(notes),
            case_ids=frozenset(c.id for c in work.plan.cases),
            spent=work.executor.money.spent if work.executor.money.unknown == 0 else None,
        )


def _route_and_grade(work: _Work) -> contextlib.ExitStack:
    """The phases, each trial appended to results.jsonl as it finishes. A Ctrl-C or SIGTERM
    halts the run (it is then saved as interrupted); the stack returned, once entered, tells
    further presses that the run is being saved instead of obeying them."""
    interrupts = _Interrupts(work.say)
    shield = contextlib.ExitStack()
    shield.callback(interrupts.restore)
    by_id = {c.id: c for c in work.plan.cases}
    with ResultsWriter(work.folder.run_dir) as writer:

        def on_trial(trial: Trial) -> None:
            writer.write(by_id[trial.case_id], trial)
            if work.progress:
                work.progress(work.state)

        interrupts.arm()
        try:
            asyncio.run(_phases(work, on_trial))
            interrupts.restore()  # not stopped: the run is saved with the handlers it found
        except KeyboardInterrupt:
            interrupts.saving()  # first: a press from now on is told, not obeyed
            if work.state.phase != FINISHED:  # a press after the last piece of work stops nothing
                how = "SIGTERM" if interrupts.came else "Ctrl-C"
                work.executor.halt(StopReason.INTERRUPTED, f"interrupted ({how})")
    return shield


def _cache_warnings(
    cache: ResponseCache | None, notes: list[str], say: Callable[[str], Any]
) -> None:
    """What went wrong with the response cache (moved aside, unreadable entries), said and
    kept in the run's notes: the run went on without what it could not read."""
    for warning in cache.take_warnings() if cache is not None else ():
        notes.append(warning)
        say(f"warning: {warning}")


async def _phases(work: _Work, on_trial: Callable[[Trial], None]) -> None:
    """Routing, then (unless the run stopped) the outputs, in one event loop."""
    settings, router, client, executor = work.settings, work.router, work.client, work.executor
    try:
        if settings.batch:
            await _run_batch(
                router,
                work.plan,
                executor,
                work.folder.run_dir / BATCH_TICKET,
                work.say,
                on_trial,
                work.state,
                settings.batch_poll_s,
            )
        else:
            if work.progress:  # heard before the first answer, which may take a while to come
                work.progress(work.state)
            await run_plan(router, work.plan, executor, on_trial=on_trial, state=work.state)
        if work.graded_cases and executor.stop is None:
            with user_modules(settings):
                await grade_outputs(
                    settings,
                    work.loaded.catalog,
                    work.graded_cases,
                    client,
                    work.folder.run_dir,
                    executor,
                    work.recorded,
                    work.progress,
                )
        work.state.phase = FINISHED
    finally:
        await router.aclose()
        if client is not None and not (isinstance(router, ModelRouter) and router.client is client):
            await client.aclose()


class _Interrupts:
    """Ctrl-C and SIGTERM around a run.

    Armed, SIGTERM (what `timeout`, CI cancellation and `kill` send) stops the run as Ctrl-C
    does: saved as interrupted, reports written, the lock released, exit 130. From the first
    stop on (`saving`), further presses and signals are told the run is being saved instead of
    obeyed: the handler that says so is installed before the stop is raised, so no second press
    can land between the two. `restore` puts back the handlers found when it was armed. Outside
    the main thread signals are not ours to handle, and nothing is installed.
    """

    def __init__(self, say: Callable[[str], Any]) -> None:
        self.say = say
        self.came: list[int] = []  # SIGTERM, once it came
        self._previous: dict[int, Any] = {}
        self._ours = threading.current_thread() is threading.main_thread()

    def arm(self) -> None:
        if self._ours:
            self._previous = {
                signal.SIGINT: signal.getsignal(signal.SIGINT),
                signal.SIGTERM: signal.signal(signal.SIGTERM, self._stop),
            }

    def saving(self) -> None:
        if self._ours:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self._again)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _stop(self, signum: int, frame: object) -> None:
        self.came.append(signum)
        self.saving()
        raise KeyboardInterrupt

    def _again(self, signum: int, frame: object) -> None:
        self.say("still saving the interrupted run and its reports; it exits in a moment")


async def _run_batch(
    router: Router,
    plan: RunPlan,
    executor: Executor,
    path: Path,
    say: Callable[[str], Any],
    on_trial: Callable[[Trial], None],
    state: RunState,
    poll_s: float,
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
        executor,
        on_trial=on_trial,
        on_submit=on_submit,
        ticket=ticket,
        state=state,
        poll_s=poll_s,
        on_poll=lambda status, done, total: say(
            f"batch {status}: {done}/{total} requests processed"
        ),
        say=say,
    )


def find_baseline(
    which: str | None, settings: RunSettings, facts: RunFacts | None = None
) -> BaselineRef | None:
    """Resolve a baseline (a run folder, or `latest`) before anything runs (`store.find_baseline`).

    `latest` is the newest complete run of this eval (never an incomplete or failed one) that
    was measured like this one (``facts``: same holdout, router, model, prompt profile and
    trials; the catalog may differ); a relative folder that does not exist from here is looked
    for beside the config file.

    Raises:
        ConfigError: when the folder is not a saved run, or is a failed one.
    """
    if which and which != "latest":
        path = Path(which)
        if not path.is_absolute() and settings.config_path is not None and not path.exists():
            which = str(settings.config_path.parent / path)
    return store.find_baseline(
        which,
        out=settings.out,
        name=settings.name,
        accept=None if facts is None else lambda saved: measured_alike(run_facts(saved), facts),
    )


def _check_priced(router: Router) -> None:
    """A budget needs the price of what the router spends (an offline router spends nothing).

    Raises:
        ConfigError: when the router declares no pricing, or its model has no price.
    """
    caps, described = capabilities_of(router), router.describe()
    if caps.pricing == "unknown":
        raise ConfigError(
            f"--max-cost needs a router that declares its prices: {caps.reason}",
            hint="drop --max-cost, or declare the router's `capabilities`",
        )
    if caps.pricing == "per-token" and described.get("price_known") is False:
        raise ConfigError(
            f"--max-cost needs a price for {described.get('model')}, and the price table has none",
            hint="add the model under router.prices in the config, or drop --max-cost",
        )
