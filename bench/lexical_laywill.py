"""How long `agenteval run --router lexical` takes on the laywill catalog (213 agents, 639 cases).

Goal: under 10 s on the 2-core machine, whole process included. Prints wall times of N runs.
Usage: python bench/lexical_laywill.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT.parent / "shared/benchmarks/catalogs/laywill-awesome-claude-code-subagents"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    exe = Path(sys.executable).with_name("agenteval")
    times = []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(
                [
                    str(exe),
                    "run",
                    "--agents",
                    str(CATALOG),
                    "--router",
                    "lexical",
                    "--out",
                    out,
                    "--plain",
                ],
                check=False,
                capture_output=True,
            )
            times.append(time.perf_counter() - start)
        summary = json.loads(next(Path(out).glob("*/summary.json")).read_text())
    h = summary["headline"]
    print(
        f"laywill lexical run: {h['cases']} cases, accuracy {h['accuracy']:.3f}, "
        f"macro recall {h['macro_recall']:.3f}"
    )
    print(
        f"wall time over {args.runs} runs: median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s (goal < 10 s)"
    )


if __name__ == "__main__":
    main()
