"""How long `agenteval --help` takes, beside `python -c pass` and `python -c "import agenteval"`.

Goal: <= 0.10 s wall (median of N), kept while the rest gets faster.
Usage: python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse

from _table import AGENTEVAL, PYTHON, Row, empty_dir, measure, print_table


def rows(runs: int) -> list[Row]:
    cwd = empty_dir()
    bare = measure([PYTHON, "-c", "pass"], runs, cwd=cwd)
    package = measure([PYTHON, "-c", "import agenteval"], runs, cwd=cwd)
    helped = measure([AGENTEVAL, "--help"], runs, cwd=cwd)
    return [
        Row(
            what="`agenteval --help`",
            figure=helped.wall,
            floor=bare.wall,
            unit="s",
            floor_is="`python -c pass`",
            goal="<= 0.10 s",
        ),
        Row(
            what="`agenteval --help`",
            figure=helped.wall,
            floor=package.wall,
            unit="s",
            floor_is='`python -c "import agenteval"`',
            goal="<= 0.10 s",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print_table(rows(args.runs), f"startup, median of {args.runs}")


if __name__ == "__main__":
    main()
