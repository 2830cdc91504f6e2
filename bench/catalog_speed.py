"""How long `agenteval cases` and `agenteval lint` take on the laywill catalog (213 agents).

Goal: each under 0.6 s as a whole process, beside the floor `python -c "import agenteval"`
measured in the same run (the machine is shared, so compare with the floor, not with a
constant). Prints the median wall and CPU time of N runs of each, and the load average (CPU
time suffers less from load).
Usage: python bench/catalog_speed.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT.parent / "shared/benchmarks/catalogs/laywill-awesome-claude-code-subagents"
GOAL_S = 0.6
_EMPTY = tempfile.mkdtemp(prefix="catalog-speed-")


def _median_wall(cmd: list[str], runs: int, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the process."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        # from an empty folder, so no ./datasets or ./agents of this checkout joins in
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=_EMPTY)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode not in ok:
            sys.exit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-500:]}")
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    exe = [sys.executable, "-m", "agenteval.cli"]
    agents = ["--agents", str(CATALOG)]
    floor, floor_cpu = _median_wall([sys.executable, "-c", "import agenteval"], args.runs)
    print(
        f"floor  python -c 'import agenteval'  {floor:.3f} s wall, {floor_cpu:.3f} s CPU"
        f" (median of {args.runs}; load average {os.getloadavg()[0]:.1f})"
    )
    for name, cmd, ok in (
        ("cases", [*exe, "cases", *agents], (0,)),
        ("lint", [*exe, "lint", *agents], (0, 1)),
        ("lint --json", [*exe, "lint", "--json", *agents], (0, 1)),
    ):
        wall, cpu = _median_wall(cmd, args.runs, ok)
        verdict = "ok" if wall < GOAL_S else "over the goal"
        print(
            f"{name:<12} {wall:.3f} s wall, {cpu:.3f} s CPU (median of {args.runs};"
            f" floor + {wall - floor:.3f} s; goal < {GOAL_S} s wall: {verdict})"
        )


if __name__ == "__main__":
    main()
