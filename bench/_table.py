"""What every bench script shares: timing a whole process, its peak memory, and the table.

The machine is shared and noisy, so no figure stands alone: each row holds the figure, a floor
measured in the same invocation (the least a process doing that job could take here, now), and
their ratio. Times are medians of N runs; memory is the median peak resident set of the process.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYWILL = ROOT.parent / "shared/benchmarks/catalogs/laywill-awesome-claude-code-subagents"
PYTHON = sys.executable
AGENTEVAL = str(Path(sys.executable).with_name("agenteval"))

# Time the package as an installed one runs: from its bytecode cache. An editable install under
# PYTHONDONTWRITEBYTECODE=1 (this sandbox sets it) would otherwise compile every module from
# source on every start, ~60 ms that no user's second run pays. Up-to-date files are skipped.
compileall.compile_dir(ROOT / "src" / "agenteval", quiet=1)


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


# A child's peak RSS (ru_maxrss) keeps the high-water mark of the process it was forked from:
# Linux carries it across exec. Timed from this (large, stub-hosting) process, every command
# would "peak" at this process's size. So each command is started by this small launcher, a
# fresh interpreter of ~10 MB, which times it, waits for it and reports its own child's usage.
_LAUNCH = """
import os, sys, time
out = int(sys.argv[1])
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
os.write(out, f"{wall} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}".encode())
"""


def run_once(
    cmd: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run of `cmd`, its own (see _LAUNCH)."""
    read, write = os.pipe()
    try:
        proc = subprocess.Popen(
            [PYTHON, "-S", "-c", _LAUNCH, str(write), *cmd],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(write,),
        )
        os.close(write)
        write = -1
        _, err = proc.communicate()
        with os.fdopen(read, "rb") as fh:
            read = -1
            report = fh.read().decode().split()
    finally:
        for fd in (read, write):
            if fd >= 0:
                os.close(fd)
    if proc.returncode != 0 or len(report) != 3:
        sys.exit(f"could not time {' '.join(cmd)}: {err.decode()[-800:]}")
    wall, maxrss_kb, code = float(report[0]), int(report[1]), int(report[2])
    if code not in ok:
        sys.exit(f"{' '.join(cmd)} exited {code}: {err.decode()[-800:]}")
    return wall, maxrss_kb / 1024


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
