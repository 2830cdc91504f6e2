"""What every bench script shares: timing a whole process, its peak memory, and the table.

The machine is shared and noisy, so no figure stands alone: each row holds the figure, a floor
measured in the same invocation (the least a process doing that job could take here, now), and
their ratio. Times are medians of N runs; memory is the median peak resident set of the process.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYWILL = ROOT.parent / "shared/benchmarks/catalogs/laywill-awesome-claude-code-subagents"
PYTHON = sys.executable
AGENTEVAL = str(Path(sys.executable).with_name("agenteval"))


@dataclass(frozen=True, kw_only=True)
class Row:
    """One line of a bench table."""

    what: str
    figure: float
    floor: float
    unit: str  # "s" or "MB"
    floor_is: str  # what the floor is
    goal: str = ""  # the goal, as text

    @property
    def ratio(self) -> float:
        return self.figure / self.floor if self.floor else float("nan")


@dataclass(frozen=True, kw_only=True)
class Measured:
    """Median wall time (s) and median peak RSS (MB) of N runs of one command."""

    wall: float
    peak_mb: float
    runs: int


def run_once(
    cmd: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run of `cmd` (its own rusage, via wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}: {err.decode()[-800:]}")
    return wall, usage.ru_maxrss / 1024


def measure(
    cmd: Sequence[str],
    runs: int,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
    before: object = None,
) -> Measured:
    """Median of `runs` runs; `before` (a callable) runs before each, untimed."""
    walls, peaks = [], []
    for _ in range(runs):
        if callable(before):
            before()
        wall, peak = run_once(cmd, cwd=cwd, env=env, ok=ok)
        walls.append(wall)
        peaks.append(peak)
    return Measured(wall=statistics.median(walls), peak_mb=statistics.median(peaks), runs=runs)


def print_table(rows: Sequence[Row], title: str = "") -> None:
    """The rows as a Markdown table (figure, floor, ratio), with the load average."""
    load = os.getloadavg()
    if title:
        print(f"{title} (load average {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f})")
    print("| what | figure | floor | ratio | floor is | goal |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    for r in rows:
        fmt = (lambda x: f"{x:.2f} s") if r.unit == "s" else (lambda x: f"{x:.0f} MB")
        print(
            f"| {r.what} | {fmt(r.figure)} | {fmt(r.floor)} | {r.ratio:.2f}x "
            f"| {r.floor_is} | {r.goal} |"
        )
    sys.stdout.flush()


def empty_dir() -> Path:
    """A folder with nothing in it, so no ./agents or ./datasets of a checkout joins a run."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix="agenteval-bench-"))
