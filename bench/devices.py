"""What a change buys the commands users wait for: each command timed with two trees of the
package, a git revision's `src` (--before) and this checkout's (or --after's), interleaved.

A speed device keeps its place only when it buys a tenth of a command's time (STYLE.md, habit
13): time the revision with the device against the one without it. CPU seconds (the process's
own user + system time) are the figure to read on a loaded machine; wall seconds are shown too.
Medians of --runs runs. A device that is an optional C extension rather than code is timed with
--block MODULE: the after-runs find MODULE unimportable (a stand-in module that raises
ImportError comes first on the path), as on an install without it.
Usage: python bench/devices.py --before REV [--after REV] [--block MODULE] [--runs 7]
  [--only help cases ...]

The devices kept, and what they bought when measured (2 cores, load average about 8; CPU, with
the device then without it; the pointers in the code lead here):
- cli._quiet_collector (gc thresholds, freeze at exit): API run of 200 cases 2.63 s against
  3.51 s (a quarter of the command; wall 7.0 s against 10.0 s); `cases` 0.46 s against 0.50 s.
- pipeline.__getattr__ (the run machinery imported on first use): `cases` on laywill 0.48 s
  against 0.62 s (a fifth), `lint` 0.76 s against 0.87 s (an eighth).
- templating (jinja's bytecode cache between processes; load average 1 to 3, medians of 11):
  `report` of 10,000 trials 0.60 s against 0.71 s (a sixth), `demo` 0.78 s against 0.90 s (an
  eighth); `api` (the approximate prompt's template) 2.34 s against 2.37 s.
- ruamel.yaml.clib (ruamel's C parser, a dependency src does not import; --block _ruamel_yaml,
  medians of 7): `cases` on laywill 0.41 s against 0.81 s (half), `lint` 0.81 s against 1.63 s
  (half), `lexical` 1.59 s against 1.83 s (an eighth).

The devices measured and removed (2 cores, load average 1 to 3; CPU, with the device then
without it; medians of 9):
- models.anthropic._parameters (the SDK method's signature read once, not per request): `api`
  2.40 s against 2.28 s (noise: no gain to be seen).
- routing.router_entry's shortcut for built-in names (the installed packages' entry points not
  read for `--router lexical`): `demo` 0.720 s against 0.729 s, `lexical` 1.421 s against
  1.439 s (a hundredth).
- cases.WrittenOrder (a frozenset subclass iterating in the written order; now a plain tuple):
  `cases` 0.447 s against 0.469 s, `demo` 0.773 s against 0.756 s, `lexical` 1.524 s against
  1.514 s, `report` 0.633 s against 0.619 s (noise both ways).
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import render_report
from _table import AGENTEVAL, LAYWILL, ROOT, empty_dir
from anthropic_overhead import KEY, _clear_cache, _project
from stub_anthropic import StubAnthropic, hash_router


@dataclass(frozen=True, kw_only=True)
class Command:
    """One user-visible command: what runs, where, and what to do before each run."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    before: Callable[[], None] = lambda: None
    ok: tuple[int, ...] = (0,)


def timed(cmd: Command, path: str) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `cmd` with `path` (the package's `src`) as PYTHONPATH."""
    cmd.before()
    env = {**cmd.env, "PYTHONPATH": path}
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd.argv, cwd=cmd.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in cmd.ok:
        sys.exit(f"{' '.join(cmd.argv)} exited {proc.returncode}: {err.decode()[-800:]}")
    return wall, usage.ru_utime + usage.ru_stime


def _export(rev: str, into: Path) -> Path:
    """The `src` folder of revision `rev`, compiled (as an installed package runs)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    compileall.compile_dir(into / "src" / "agenteval", quiet=1)
    return into / "src"


@contextmanager
def commands(names: Sequence[str]) -> Iterator[dict[str, Command]]:
    """The commands named, with their projects (and the API stub) set up."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cwd = empty_dir()
    out = cwd / "out"
    made = {
        "help": Command(argv=[AGENTEVAL, "--help"], cwd=cwd, env=env),
        "cases": Command(argv=[AGENTEVAL, "cases", "--agents", str(LAYWILL)], cwd=cwd, env=env),
        "lint": Command(
            argv=[AGENTEVAL, "lint", "--agents", str(LAYWILL)], cwd=cwd, env=env, ok=(0, 1)
        ),
        "lexical": Command(
            argv=[AGENTEVAL, "run", "--agents", str(LAYWILL), "--router", "lexical"]
            + ["--out", str(out), "--plain"],
            cwd=cwd,
            env=env,
            before=lambda: shutil.rmtree(out, ignore_errors=True),
        ),
        # the quick start's run on the demo catalog and datasets, offline
        "demo": Command(
            argv=[AGENTEVAL, "run", "--router", "lexical", "--out", str(out), "--plain"],
            cwd=_demo(cwd / "demo"),
            env=env,
            before=lambda: shutil.rmtree(out, ignore_errors=True),
        ),
    }
    if "report" in names:
        render_report.build_run(cwd / "run", 10_000)
        made["report"] = Command(argv=[AGENTEVAL, "report", str(cwd / "run")], cwd=cwd, env=env)
    if "api" not in names:
        yield made
        return
    project = cwd / "api"
    _project(project, 200, 32)
    with StubAnthropic(latency=0.3, responder=hash_router) as stub:
        api_env = {**env, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": stub.base_url}
        made["api"] = Command(
            argv=[AGENTEVAL, "run", "bench.yaml", "--plain"],
            cwd=project,
            env=api_env,
            before=lambda: _clear_cache(project),
            ok=(0, 1),
        )
        yield made


def _demo(into: Path) -> Path:
    """A copy of the checkout's demo project: its agents and datasets."""
    for name in ("agents", "datasets"):
        shutil.copytree(ROOT / name, into / name)
    return into


def _blocking(module: str, into: Path) -> Path:
    """A folder whose `module` raises ImportError: first on the path, it hides the real one."""
    into.mkdir(parents=True)
    (into / f"{module}.py").write_text(f"raise ImportError('{module} is blocked')\n")
    return into


def compare(cmd: Command, before: str, after: str, runs: int) -> list[list[float]]:
    """[wall, cpu] medians for before, then after; interleaved so both see the same load."""
    samples: dict[str, list[tuple[float, float]]] = {before: [], after: []}
    for i in range(runs):
        for src in (before, after) if i % 2 == 0 else (after, before):
            samples[src].append(timed(cmd, src))
    return [[statistics.median(x) for x in zip(*samples[s], strict=True)] for s in (before, after)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="a git revision")
    parser.add_argument("--after", help="a git revision (default: this checkout's src)")
    parser.add_argument("--block", help="a module the after-runs cannot import")
    parser.add_argument("--runs", type=int, default=7)
    choices = ["help", "cases", "lint", "lexical", "demo", "report", "api"]
    parser.add_argument("--only", nargs="+", choices=choices, default=choices)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = str(_export(args.before, Path(tmp) / "before"))
        after = str(_export(args.after, Path(tmp) / "after") if args.after else ROOT / "src")
        if args.block:
            after += os.pathsep + str(_blocking(args.block, Path(tmp) / "block"))
        without = f" without {args.block}" if args.block else ""
        print(f"{args.before} -> {args.after or 'checkout'}{without}, median of {args.runs}")
        print("| command | CPU before | CPU after | change | wall before | wall after |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        with commands(args.only) as made:
            for name in args.only:
                (wall_b, cpu_b), (wall_a, cpu_a) = compare(made[name], before, after, args.runs)
                print(
                    f"| {name} | {cpu_b:.3f} s | {cpu_a:.3f} s | {(cpu_a - cpu_b) / cpu_b:+.1%} "
                    f"| {wall_b:.3f} s | {wall_a:.3f} s |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
