"""Time to the first line `agenteval run` prints on a 10,000-agent catalog, and to each line.

The catalog is made in a temporary folder from copies of the laywill catalog's files, each copy
renamed (`name: <agent>-<copy>`), so descriptions and examples are real ones. The run is the
offline lexical one (`agenteval run --agents DIR --router lexical --plain --limit 50`): only
what happens before routing matters here. Every line of stdout and stderr is stamped with the
seconds since the process started; the first line's time is what a user waits in silence.

Usage: python bench/first_line.py [--agents 10000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _table import AGENTEVAL, LAYWILL

NAME = re.compile(r"^name:\s*(\S+)\s*$", re.M)


def write_catalog(folder: Path, agents: int) -> int:
    """Copy laywill's files until there are ``agents`` of them, each with a new name."""
    sources = sorted(LAYWILL.rglob("*.md"))
    sources = [p for p in sources if NAME.search(p.read_text(encoding="utf-8"))]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(agents):
        source = sources[i % len(sources)]
        copy = i // len(sources)
        text = source.read_text(encoding="utf-8")
        text = NAME.sub(lambda m, c=copy: f"name: {m.group(1)}-{c}", text, count=1)
        (folder / f"{source.stem}-{copy}.md").write_text(text, encoding="utf-8")
    return agents


def stamped_lines(args: list[str]) -> list[tuple[float, str]]:
    """Run a command; every output line with the seconds since it started."""
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    with selectors.DefaultSelector() as sel:
        assert proc.stdout is not None and proc.stderr is not None
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        open_streams = 2
        while open_streams:
            for key, _ in sel.select():
                line = key.fileobj.readline()  # type: ignore[union-attr]
                if not line:
                    sel.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                lines.append((time.monotonic() - started, line.rstrip("\n")))
    proc.wait()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="make (or reuse) the catalog here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "catalog"
        if not folder.is_dir() or len(os.listdir(folder)) != args.agents:
            write_catalog(folder, args.agents)
        lines = stamped_lines(
            [
                AGENTEVAL,
                "run",
                "--agents",
                str(folder),
                "--router",
                "lexical",
                "--plain",
                "--limit",
                "50",
                "--out",
                str(Path(tmp) / "reports"),
            ]
        )
    for seconds, line in lines[:8]:
        print(f"{seconds:7.2f} s  {line[:110]}")
    if lines:
        stamps = [0.0, *(s for s, _ in lines)]
        silence, after = max((b - a, i) for i, (a, b) in enumerate(itertools.pairwise(stamps)))
        before = lines[after - 1][1][:60] if after else "the start"
        print(
            f"first line after {lines[0][0]:.2f} s; last after {lines[-1][0]:.2f} s; longest "
            f"silence {silence:.2f} s, after {before!r}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
