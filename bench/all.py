"""Every bench that has a goal in the speed issue, as one table of (figure, floor, ratio).

Each row's floor is measured in the same invocation as its figure (the machine is shared and
noisy: read the ratio, not the seconds). Times are medians of --runs runs.
Usage: python bench/all.py [--runs 5] [--only startup lexical ...] [--extra]
  --extra also runs the benches without a table row (scoring, fsync, claude CLI) after it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import anthropic_overhead
import catalog_speed
import lexical_laywill
import render_report
import startup
from _table import PYTHON, Row, print_table

BENCHES = {
    "startup": startup.rows,
    "catalog": catalog_speed.rows,
    "lexical": lexical_laywill.rows,
    "api": anthropic_overhead.rows,
    "render": render_report.rows,
}
EXTRA = ("scoring_speed.py", "results_fsync.py", "claude_cli_overhead.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHES), default=list(BENCHES))
    parser.add_argument("--extra", action="store_true")
    args = parser.parse_args()
    start = time.monotonic()
    table: list[Row] = []
    for name in args.only:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        table.extend(BENCHES[name](args.runs))
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print_table(
        table, f"agenteval benchmarks, {stamp}, {os.cpu_count()} cores, median of {args.runs}"
    )
    print(f"({time.monotonic() - start:.0f} s in all)")
    if args.extra:
        here = Path(__file__).parent
        for script in EXTRA:
            print(f"\n## {script}", flush=True)
            subprocess.run([PYTHON, str(here / script)], check=False)


if __name__ == "__main__":
    main()
