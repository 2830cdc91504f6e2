"""The library calls behind `agenteval generate` and `agenteval improve`.

Each loads the catalog as a run does, makes the proposer's model client (the Anthropic SDK
client: no key is an error before any call), and runs one event loop under one Executor (the
settings' concurrency, the budget, the response cache).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agenteval.errors import ConfigError, ExitCode
from agenteval.execution.executor import Executor
from agenteval.improve.dataset import dataset_yaml, review_html
from agenteval.improve.generate import Generation, generate_cases, neighbours_of
from agenteval.improve.loop import Improvement, changed_files, improve_catalog
from agenteval.improve.patch import apply_changes
from agenteval.improve.report import write_session
from agenteval.improve.verify import Routed
from agenteval.models.client import ModelClient
from agenteval.pipeline.inputs import build_router, load_inputs, open_cache
from agenteval.pipeline.reading import routed_catalog
from agenteval.routing import PreparedRouter
from agenteval.settings import RunSettings


@dataclass(frozen=True, kw_only=True)
class Generated:
    """What `generate` wrote."""

    generation: Generation
    dataset: Path
    review: Path
    exit_code: ExitCode


@dataclass(frozen=True, kw_only=True)
class Improved:
    """What `improve` wrote and did."""

    improvement: Improvement
    files: dict[str, Path]
    applied: tuple[Path, ...]
    refused: tuple[str, ...]
    exit_code: ExitCode


def proposer_client(settings: RunSettings, model: str | None) -> ModelClient:
    """The model that writes cases and proposals.

    Raises:
        RouterError: when no API key is set (before any call).
    """
    from agenteval.models.anthropic import AnthropicClient

    return AnthropicClient.from_env(api_key_env=settings.api_key_env, model=model)


def _executor(settings: RunSettings, max_cost: float | None) -> Executor:
    return Executor(
        concurrency=settings.concurrency,
        max_cost_usd=max_cost,
        cache=open_cache(settings),
    )


def generate_dataset(
    settings: RunSettings,
    *,
    model: str | None,
    per_agent: int,
    out: Path,
    max_cost: float | None = None,
    only: Sequence[str] = (),
    confusions: dict[tuple[str, str], int] | None = None,
) -> Generated:
    """Write a dataset of generated cases (and its review page) for the settings' catalog."""
    if per_agent < 1:
        raise ConfigError("--per-agent must be at least 1", hint="ask for 1 to 20 requests")
    loaded = load_inputs(settings.agents)
    catalog = loaded.catalog
    unknown = [n for n in only if n not in catalog.target_labels]
    if unknown:
        raise ConfigError(
            f"no agent or skill named {unknown[0]!r}",
            hint="name an agent, or a skill as skill:NAME (see `agenteval cases`)",
        )
    examples: dict[str, list[str]] = {}
    for case in loaded.case_set.cases:
        if case.origin == "example":
            examples.setdefault(next(iter(case.expected)), []).append(case.prompt)
    client = proposer_client(settings, model)
    neighbours = neighbours_of(catalog, confusions=confusions)

    async def main() -> Generation:
        executor = _executor(settings, max_cost)
        try:
            return await generate_cases(
                catalog,
                client,
                executor,
                model=model,
                per_agent=per_agent,
                neighbours=neighbours,
                examples=examples,
                only=only,
            )
        finally:
            await client.aclose()

    generation = asyncio.run(main())
    out.parent.mkdir(parents=True, exist_ok=True)
    review = out.with_suffix(".review.html")
    root = Path.cwd()
    out.write_text(dataset_yaml(generation, root, review.name), encoding="utf-8")
    review.write_text(review_html(generation, root, out.name), encoding="utf-8")
    stopped = generation.stop is not None or bool(generation.not_asked)
    return Generated(
        generation=generation,
        dataset=out,
        review=review,
        exit_code=ExitCode.GATE_FAILED if stopped else ExitCode.OK,
    )


def confusions_of(rows: Sequence[Any]) -> dict[tuple[str, str], int]:
    """(expected, got) -> count of a saved run's misroutes between two agents."""
    found: Counter[tuple[str, str]] = Counter()
    for row in rows:
        t = row.trial
        if t.label is not None and not t.correct and t.expected:
            found[(t.expected[0], t.label)] += 1
    return dict(found)


def improve_dataset(
    settings: RunSettings,
    *,
    model: str | None,
    out: Path | None = None,
    targets: int = 3,
    attempts: int = 2,
    apply: bool = False,
    max_cost: float | None = None,
    note: Callable[[str], Any] = lambda s: None,
    from_run: Path | None = None,
) -> Improved:
    """Propose, prove and (with `apply`) write description changes for the settings' catalog.

    Raises:
        ConfigError: when `from_run` was made with another router, holdout or catalog.
    """
    loaded = load_inputs(settings.agents, settings.datasets, examples=settings.examples)
    catalog = loaded.catalog
    shown = routed_catalog(catalog, settings.catalog_reading)
    client = proposer_client(settings, model)
    router = build_router(settings)
    if isinstance(router, PreparedRouter):
        router.prepare(note)  # runs the CLI when the router needs it, and says so
    version = catalog.claude_code.version if catalog.claude_code else ""
    start = _start(from_run, settings, shown.fingerprint) if from_run is not None else None

    async def main() -> Improvement:
        executor = _executor(settings, max_cost)
        try:
            return await improve_catalog(
                catalog=catalog,
                shown=shown,
                cases=loaded.case_set.cases,
                router=router,
                router_name=settings.backend,
                client=client,
                executor=executor,
                model=model,
                holdout=settings.holdout,
                version=version,
                significance=settings.gates.significance,
                targets=targets,
                attempts=attempts,
                note=note,
                start=start,
            )
        finally:
            await client.aclose()
            closer = getattr(router, "aclose", None)
            if closer is not None:
                await closer()

    improvement = asyncio.run(main())
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return _write_improvement(improvement, out or settings.out / f"improve-{stamp}", apply)


def _write_improvement(improvement: Improvement, folder: Path, apply: bool) -> Improved:
    """Write the session's report into ``folder`` and (with ``apply``) the accepted changes
    into the agent files; the exit code fails a session the budget stopped or a change that
    could not be written."""
    files = write_session(improvement, folder)
    outcomes = apply_changes(changed_files(improvement)) if apply else ()
    applied = tuple(o.path for o in outcomes if o.written)
    refused = tuple(f"{o.path}: {o.reason}" for o in outcomes if not o.written)
    budget = improvement.stop is not None
    code = ExitCode.GATE_FAILED if budget or refused else ExitCode.OK
    return Improved(
        improvement=improvement, files=files, applied=applied, refused=refused, exit_code=code
    )


def _start(run_dir: Path, settings: RunSettings, fingerprint: str) -> Routed:
    """The first-trial answers of a saved run, when it measured this catalog as this session
    would (same router, holdout and catalog); its answers then stand for a fresh routing."""
    from agenteval.record.store import load_record, read_results

    record = load_record(run_dir)
    mine = {"router": settings.backend, "holdout": str(settings.holdout), "catalog": fingerprint}
    theirs = {
        "router": record.router.backend,
        "holdout": record.holdout,
        "catalog": record.catalog.fingerprint,
    }
    differs = [k for k in mine if mine[k] != theirs[k]]
    if differs:
        raise ConfigError(
            f"{run_dir} measured another {' and '.join(differs)} than this session would",
            hint="leave out --from-run to route the catalog as it is now, or pass a run of it",
        )
    rows = [r for r in read_results(run_dir) if r.trial.trial == 0 and r.trial.error is None]
    return Routed(
        labels={r.trial.case_id: r.trial.label for r in rows if r.trial.label is not None},
        right={r.trial.case_id: r.trial.correct for r in rows},
    )
