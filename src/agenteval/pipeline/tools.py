"""The other commands' library calls: `estimate`, `compare` and `report`."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from agenteval.errors import ConfigError
from agenteval.execution.estimate import Estimate, estimate_run
from agenteval.execution.runner import RunPlan
from agenteval.pipeline.inputs import build_router, open_cache, prepare
from agenteval.record.history import run_facts
from agenteval.record.store import (
    RunDir,
    load_record,
    read_results,
)
from agenteval.reports import write_reports
from agenteval.reports.compare import render_compare_html, render_compare_markdown
from agenteval.routing import router_factory
from agenteval.routing.api import PromptRouter
from agenteval.routing.profiles.profile import PLACEMENTS
from agenteval.scoring.compare import Comparison, compare
from agenteval.settings import RunSettings


def estimate_eval(settings: RunSettings) -> Estimate:
    """Estimate requests, tokens and cost of a run without routing anything.

    Counts tokens with the API when the key is set, else approximates offline.
    """
    _, cases, views = prepare(settings)
    online = bool(os.environ.get(settings.api_key_env))
    factory = router_factory(settings.backend)
    if not online and settings.backend == "anthropic":
        router = factory.from_options(settings.router_options, offline=True)
    else:
        router = build_router(settings)
    cache = open_cache(settings)
    try:
        plan = RunPlan(cases=cases, views=views, trials=settings.trials)
        main = estimate_run(router, plan, cache=cache, online=online, batch=settings.batch)
        if isinstance(router, PromptRouter) and router.profiles is not None:
            each = tuple(
                estimate_run(
                    router.with_placement(p), plan, cache=cache, online=online, batch=settings.batch
                )
                for p in PLACEMENTS
            )
            main = replace(main, placements=each)
        return main
    finally:
        if cache is not None:
            cache.close()


@dataclass(frozen=True, kw_only=True)
class CompareOutcome:
    """What `agenteval compare` printed and wrote."""

    comparison: Comparison
    text: str
    html: Path
    markdown: Path


def compare_runs(
    run_a: Path, run_b: Path, *, out: Path, alpha: float = 0.05, force: bool = False
) -> CompareOutcome:
    """Compare run B against run A and write compare.html and compare.md into ``out``.

    Runs of other routers on the same measurement compare as an agreement; runs of another
    holdout or number of trials are refused unless ``force`` (then every output is marked).

    Raises:
        ConfigError: when the runs are not comparable and ``force`` is not set.
    """
    a, b = load_record(run_a), load_record(run_b)
    rows_a, rows_b = read_results(run_a), read_results(run_b)
    comp = compare(
        rows_a,
        rows_b,
        a.catalog.names,
        b.catalog.names,
        facts_a=run_facts(a),
        facts_b=run_facts(b),
    )
    if comp.verdict == "not comparable" and not force:
        which = "; ".join(f"{d.name}: A {d.a}, B {d.b}" for d in comp.differences)
        raise ConfigError(
            f"{a.run_id} and {b.run_id} are not comparable ({which})",
            hint="run both with the same holdout and trials, or pass --force to compare them "
            "anyway (every output says they are not comparable)",
        )
    prompts = {r.case.id: r.case.prompt for r in (*rows_a, *rows_b)}
    out.mkdir(parents=True, exist_ok=True)
    html, md = out / "compare.html", out / "compare.md"
    html.write_text(render_compare_html(comp, a, b, prompts), encoding="utf-8")
    markdown = render_compare_markdown(comp, a, b, prompts)
    md.write_text(markdown, encoding="utf-8")
    text = (
        f"A = {a.run_id}\nB = {b.run_id}\n"
        + comp.summary_sentence(a="A", b="B", alpha=alpha)
        + f"\n{len(comp.fixed)} fixed, {len(comp.broken)} newly broken, "
        f"{len(comp.added)} cases only in B, {len(comp.removed)} only in A"
    )
    if comp.verdict == "agreement" and comp.disagreements:
        text += f"\n{len(comp.disagreements)} cases where A and B disagree (listed in compare.md)"
    return CompareOutcome(comparison=comp, text=text, html=html, markdown=md)


def rerender(run_dir: Path) -> Path:
    """Render the reports of a saved run again, without routing anything.

    Raises:
        RunLockedError: when a run is still working in the folder.
    """
    load_record(run_dir)  # not a run folder: say so before putting a lock file in it
    with RunDir(run_dir).lock():
        record = load_record(run_dir)
        write_reports(run_dir, record, read_results(run_dir))
    return run_dir
