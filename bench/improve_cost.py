"""What one accepted `agenteval improve` change costs, in routed cases and dollars, beside the
cost of one whole run of the same catalog (the floor: what a user pays to score it once).

For each catalog it routes every case once with the lexical router (free, offline) to find the
worst target and its screening cases, exactly as `improve` picks them, then counts what one
accepted change routes: the screen's baseline and the proposal on the screening cases, and the
proposal on every held-out case (whose answers are the next target's baseline).
Dollars are priced as `agenteval estimate` prices the API router (offline: characters / 4, the
approximate request layout unless a Claude Code profile is cached), plus the proposal call at
its worst case (prompt bytes as tokens, all of its output).
Usage: python bench/improve_cost.py
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from _table import LAYWILL, ROOT

from agenteval.config import EvalConfig
from agenteval.execution.executor import Executor
from agenteval.improve.loop import PROPOSAL_TOKENS, held_out
from agenteval.improve.propose import (
    hide_cases,
    misroutes_between,
    proposal_prompt,
    worst_targets,
)
from agenteval.improve.verify import route
from agenteval.models.pricing import model_table
from agenteval.pipeline import estimate_eval, load_inputs
from agenteval.pipeline.reading import routed_catalog
from agenteval.routing import make_router
from agenteval.settings import Overrides, resolve

CATALOGS = {
    "demo (agents/ + datasets/)": (
        (ROOT / "agents",),
        tuple(sorted((ROOT / "datasets").glob("*.yaml"))),
    ),
    "laywill (213 agents)": ((LAYWILL,), ()),
}


def one(name: str, roots: tuple[Path, ...], datasets: tuple[Path, ...]) -> dict[str, object]:
    loaded = load_inputs(roots, datasets)
    cases = loaded.case_set.cases
    shown = routed_catalog(loaded.catalog, "claude-code")
    router = make_router("lexical", {})
    from agenteval.views import DEFAULT_HOLDOUT

    routed = asyncio.run(route(router, shown, cases, DEFAULT_HOLDOUT, Executor(concurrency=64)))
    training = [c for c in cases if not held_out(c)]
    test = [c for c in cases if held_out(c)]
    labels = {c.id: routed.labels[c.id] for c in training if c.id in routed.labels}
    targets = worst_targets(labels, training, [a.name for a in shown.agents], 1)
    if not targets:
        return {"name": name, "cases": len(cases), "note": "nothing to improve"}
    target = targets[0]
    involved = set(target.agents)
    screen = [c for c in training if set(c.expected) & involved or labels.get(c.id) in involved]
    routed_cases = 2 * len(screen) + len(test)
    agents = {a.name: a for a in loaded.catalog.agents}
    prompt = proposal_prompt(
        target,
        agents,
        {n: hide_cases(agents[n], test) for n in target.agents},
        misroutes_between(target, labels, training),
        0,
    )
    settings = resolve(
        EvalConfig(), Overrides(agents=roots, datasets=datasets, backend="anthropic")
    )
    estimate = estimate_eval(settings)
    per_case = (estimate.cost_usd or 0.0) / max(1, estimate.requests)
    table = model_table()
    model = table.resolve("sonnet")
    proposal = table.worst_case(
        model, input_tokens=len(prompt.encode()), max_tokens=PROPOSAL_TOKENS
    )
    verify = per_case * len(test)
    screening = per_case * 2 * len(screen)
    return {
        "name": name,
        "cases": len(cases),
        "held_out": len(test),
        "screen": len(screen),
        "routed": routed_cases,
        "per_case": per_case,
        "screening": screening,
        "verify": verify,
        "proposal": proposal or 0.0,
        "total": screening + verify + (proposal or 0.0),
        "floor": estimate.cost_usd or 0.0,
        "source": estimate.prompt_source,
    }


def main() -> None:
    os.environ.pop("ANTHROPIC_API_KEY", None)  # estimate offline: nothing is sent
    print(
        "| catalog | cases | held out | screening cases | routed per accepted change | "
        "$ screening | $ verification | $ proposal | $ total | one whole run (floor) | ratio |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, (agents, datasets) in CATALOGS.items():
        r = one(name, agents, datasets)
        if "note" in r:
            print(f"| {name} | {r['cases']} | {r['note']} |")
            continue
        print(
            f"| {name} | {r['cases']} | {r['held_out']} | {r['screen']} | {r['routed']} | "
            f"{r['screening']:.4f} | {r['verify']:.4f} | {r['proposal']:.4f} | {r['total']:.4f} | "
            f"{r['floor']:.4f} | {r['total'] / r['floor']:.2f}x |"
        )
    print(
        "\nPriced with the API router's layout as `agenteval estimate` sees it here; the proposal "
        "at its worst case. Verification is the held-out cases routed with the change (their "
        "answers are the next baseline); screening is the target's training cases before and after."
    )


if __name__ == "__main__":
    main()
