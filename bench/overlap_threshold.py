"""Tune `lint`'s overlap threshold on measured confusions: how many of the agent pairs the
lexical router really confuses does the overlap check name, and how many of the pairs it names
are really confused?

Runs `agenteval run --router lexical` on the laywill catalog (default holdout), counts the
misroutes per unordered pair of agents (expected, got), and takes as the *confused pairs* those
with at least `--min-count` misroutes. Then, for each threshold, the overlap check's pairs
(`near_duplicates` on the same agent documents) are scored against them:

- precision: the share of reported pairs the router confused at least once;
- recall: the share of confused pairs reported.

Usage: python bench/overlap_threshold.py [--agents DIR] [--min-count 2] [--run RUN_DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _table import LAYWILL

from agenteval.catalog import load_catalog
from agenteval.config import EvalConfig
from agenteval.pipeline import run_eval
from agenteval.pipeline.lint import DEFAULT_OVERLAP
from agenteval.record.store import read_results
from agenteval.routing.lexical import agent_document, near_duplicates
from agenteval.settings import Overrides, resolve

THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def confusions(run_dir: Path, agents: set[str]) -> Counter[frozenset[str]]:
    """Misroutes per unordered pair of catalog agents."""
    pairs: Counter[frozenset[str]] = Counter()
    for row in read_results(run_dir):
        t = row.trial
        if t.label in agents and not t.correct:
            for expected in t.expected:
                if expected in agents and expected != t.label:
                    pairs[frozenset((expected, t.label))] += 1
    return pairs


def lexical_run(agents: Path, out: Path) -> Path:
    settings = resolve(EvalConfig(), Overrides(agents=(agents,), backend="lexical", out=str(out)))
    return run_eval(settings).run_dir


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=Path, default=LAYWILL)
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--run", type=Path, help="a lexical run folder of that catalog to reuse")
    args = parser.parse_args()
    catalog = load_catalog([args.agents])
    names = {a.name for a in catalog.agents}
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run or lexical_run(args.agents, Path(tmp))
        pairs = confusions(run_dir, names)
    confused = {p for p, n in pairs.items() if n >= args.min_count}
    misroutes = sum(pairs.values())
    print(
        f"{args.agents.name}: {len(names)} agents, {misroutes} misroutes between agents over "
        f"{len(pairs)} pairs; {len(confused)} pairs with >= {args.min_count} misroutes "
        f"({sum(pairs[p] for p in confused)} misroutes)"
    )
    documents = {a.name: agent_document(a.name, a.description) for a in catalog.agents}
    print("threshold  reported  confused>=1  precision  confused>=min found  recall")
    for threshold in sorted({*THRESHOLDS, DEFAULT_OVERLAP}):
        found = {
            frozenset((o.first, o.second))
            for o in near_duplicates(documents, min_similarity=threshold)
        }
        hits = len(found & set(pairs))
        recalled = len(found & confused)
        precision = hits / len(found) if found else float("nan")
        recall = recalled / len(confused) if confused else float("nan")
        mark = "  <- default" if threshold == DEFAULT_OVERLAP else ""
        print(
            f"{threshold:9.2f}  {len(found):8d}  {hits:11d}  {precision:9.2f}  "
            f"{recalled:19d}  {recall:6.2f}{mark}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
