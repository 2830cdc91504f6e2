"""`agenteval run --router lexical` on a synthetic 10,000-agent catalog, as a whole process.

Goal: under 60 s wall time and under 1 GB peak RSS on the 2-core machine (issue 11, item 12:
the dense confusion matrix once took 456 s and 1.1 GB of summary.json at this size). The catalog
is generated in a temporary folder: each agent has its own made-up words, so the lexical router
has something to find, plus words shared with a few neighbours, so some cases go wrong and the
confusion matrix is not only a diagonal. Printed beside the floor measured in the same run: the
start-up of the same CLI (`agenteval --help`), wall time and peak RSS.

Peak RSS is the run's own, read by the benches' launcher (`_table.run_once`).

Usage: python bench/large_catalog.py [--agents 10000] [--examples 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from _table import run_once

GOAL_S = 60.0
GOAL_MB = 1024.0


def word(rnd: random.Random) -> str:
    return "".join(rnd.choice("bcdfghklmnprstvz") + rnd.choice("aeiou") for _ in range(4))


def write_catalog(folder: Path, agents: int, examples: int, seed: int = 7) -> int:
    """Write ``agents`` agent files with ``examples`` examples each; returns the case count."""
    rnd = random.Random(seed)
    vocab = [word(rnd) for _ in range(agents * 3)]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(agents):
        own = vocab[3 * i : 3 * i + 3]
        nxt = 3 * ((i + 1) % agents)
        near = vocab[nxt]  # a word of the next agent's: some confusions
        blocks = []
        for e in range(examples):
            if e % 2:  # mostly the next agent's words: often misrouted
                request = f"please {near} the {vocab[nxt + 1]} with {own[e % 3]}"
            else:
                request = f"please {own[e % 3]} the {own[(e + 1) % 3]} for me"
            blocks.append(
                f'<example>\\nContext: case {e}.\\nuser: \\"{request}\\"\\n'
                f'assistant: \\"I\'ll use the agent-{i:05d} agent.\\"\\n</example>'
            )
        description = f"Use this agent for {' '.join(own)} work and some {near}. " + "\\n\\n".join(
            blocks
        )
        (folder / f"agent-{i:05d}.md").write_text(
            f'---\nname: agent-{i:05d}\ndescription: "{description}"\n---\n\nYou do {own[0]}.\n',
            encoding="utf-8",
        )
    return agents * examples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--examples", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="write the catalog and run folder here")
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("agenteval"))
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        catalog, out = root / "agents", root / "reports"
        start = time.perf_counter()
        cases = write_catalog(catalog, args.agents, args.examples)
        print(f"catalog: {args.agents} agents, {cases} cases ({time.perf_counter() - start:.1f} s)")
        floor_s, floor_mb = run_once([exe, "--help"], cwd=root)
        cmd = [exe, "run", "--agents", str(catalog), "--router", "lexical", "--out", str(out)]
        wall, peak_mb = run_once([*cmd, "--plain", "--no-cache"], cwd=root, ok=(0, 1))
        summary = next(out.glob("*/summary.json"))
        size_mb = summary.stat().st_size / 1e6
        h = json.loads(summary.read_text())["headline"]
    print(f"run: {h['cases']} cases, accuracy {h['accuracy']:.3f}, summary.json {size_mb:.1f} MB")
    floor = f"floor: `agenteval --help` {floor_s:.2f} s"
    print(f"wall time: {wall:.1f} s (goal < {GOAL_S:.0f} s; {floor})")
    print(f"peak RSS: {peak_mb:.0f} MB (goal < {GOAL_MB:.0f} MB; floor: {floor_mb:.0f} MB)")


if __name__ == "__main__":
    main()
