"""How long rendering the reports takes for a big run, and how big report.html gets.

Builds a synthetic run of 10,000 trials over the 213 agents of the laywill catalog (the router is
right ~70% of the time, with realistic confusions), saves it, then times `agenteval report` on it
(loading summary.json + results.jsonl, rendering HTML, Markdown and JUnit). The record holds
the agents' descriptions, as a real run's does, so the click-to-explain data is in the page.
Goal: under 0.5 s (beside `agenteval --help`), report.html under 10 MB.
Usage: python bench/render_report.py [--runs 5] [--trials 10000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from _table import AGENTEVAL, LAYWILL, Row, measure, print_table

from agenteval.cases.build import build_cases
from agenteval.catalog import load_catalog
from agenteval.execution.trials import Trial, label_of
from agenteval.record.store import ResultsWriter, RunRecord, save_record
from agenteval.routing import Decision, Usage
from agenteval.scoring.gates import headline
from agenteval.scoring.scorecard import score

CATALOG = LAYWILL


def rows(runs: int, trials: int = 10_000) -> list[Row]:
    """`agenteval report` on a synthetic run of `trials` trials, beside `agenteval --help`."""
    table, _ = _measure(runs, trials)
    return table


def _measure(runs: int, n_trials: int) -> tuple[list[Row], str]:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        trials, names = build_run(run_dir, n_trials)
        report = measure([AGENTEVAL, "report", str(run_dir)], runs)
        floor = measure([AGENTEVAL, "--help"], runs)
        sizes = {p.name: p.stat().st_size for p in run_dir.iterdir()}
    table = [
        Row(
            what=f"re-render {trials:,} trials over {names} agents",
            figure=report.wall,
            floor=floor.wall,
            unit="s",
            floor_is="`agenteval --help`",
            goal="< 0.5 s",
        ),
    ]
    note = (
        f"report.html {sizes['report.html'] / 1e6:.2f} MB (goal < 10 MB), "
        f"report.md {sizes['report.md'] / 1e3:.1f} KB (goal < 64 KB), "
        f"junit.xml {sizes['junit.xml'] / 1e6:.2f} MB"
    )
    return table, note


def build_run(run_dir: Path, n_trials: int) -> tuple[int, int]:
    """Save the synthetic run in `run_dir`; return its numbers of trials and of agents."""
    rnd = random.Random(7)
    catalog = load_catalog([CATALOG])
    cases = build_cases(catalog).cases
    names = list(catalog.names)
    neighbours = {n: rnd.sample(names, 3) for n in names}
    per_case = max(1, n_trials // len(cases))
    run_dir.mkdir()
    trials = []
    with ResultsWriter(run_dir) as writer:
        for t in range(per_case + 1):
            for case in cases:
                if len(trials) >= n_trials:
                    break
                exp = next(iter(case.expected))
                roll = rnd.random()
                agent = (
                    exp if roll < 0.7 else (None if roll < 0.75 else rnd.choice(neighbours[exp]))
                )
                decision = Decision(
                    agent=agent,
                    raw=agent or "",
                    latency_s=rnd.uniform(0.5, 3),
                    rationale="I'll delegate this to the specialist because " * 3,
                    usage=Usage(input_tokens=60, output_tokens=120, cache_read_tokens=130_000),
                    cost_usd=0.0045,
                )
                trial = Trial(
                    case_id=case.id,
                    trial=t,
                    expected=tuple(sorted(case.expected)),
                    label=label_of(decision, catalog.names),
                    decision=decision,
                )
                trials.append(trial)
                writer.write(case, trial)
    card = score(trials, names)
    record = RunRecord(
        run_id="bench",
        name="bench",
        status="complete",
        created_at="2026-11-26T00:00:00+00:00",
        config={"trials": per_case + 1},
        router={"backend": "anthropic", "model": "claude-sonnet-5-5", "prompt": "claude-code"},
        holdout="kfold:5",
        catalog={
            "fingerprint": catalog.fingerprint,
            "roots": [str(CATALOG)],  # as a real run records it: paths show relative to it
            "agents": [
                {"name": a.name, "description": a.description, "path": str(a.path)}
                for a in catalog.agents
            ],
            "diagnostics": [],
        },
        cases={
            "total": len(cases),
            "selected": len(cases),
            "examples": len(cases),
            "dataset": 0,
        },
        versions={"agenteval": "bench"},
        usage={},
        cost_usd=45.0,
        headline=headline(card),
        scorecard=card,
    )
    save_record(run_dir, record)
    return len(trials), len(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--trials", type=int, default=10_000)
    args = parser.parse_args()
    table, note = _measure(args.runs, args.trials)
    print_table(table, f"re-render, median of {args.runs}")
    print(note)


if __name__ == "__main__":
    main()
