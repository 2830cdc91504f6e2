"""How long `agenteval cases` and `agenteval lint` take on the laywill catalog (213 agents).

Goal: `cases` under 0.6 s as a whole process, beside the floor `python -c "import agenteval"`
measured in the same run (the machine is shared, so compare with the floor, not a constant).
Usage: python bench/catalog_speed.py [--runs 5]
"""

from __future__ import annotations

import argparse

from _table import AGENTEVAL, LAYWILL, PYTHON, Row, empty_dir, measure, print_table


def rows(runs: int) -> list[Row]:
    cwd = empty_dir()  # so no ./datasets or ./agents of this checkout joins in
    floor = measure([PYTHON, "-c", "import agenteval"], runs, cwd=cwd)
    agents = ["--agents", str(LAYWILL)]
    cases = measure([AGENTEVAL, "cases", *agents], runs, cwd=cwd)
    lint = measure([AGENTEVAL, "lint", *agents], runs, cwd=cwd, ok=(0, 1))
    is_floor = '`python -c "import agenteval"`'
    return [
        Row(
            what="`agenteval cases`, laywill (213 agents)",
            figure=cases.wall,
            floor=floor.wall,
            unit="s",
            floor_is=is_floor,
            goal="< 0.6 s",
        ),
        Row(
            what="`agenteval lint`, laywill",
            figure=lint.wall,
            floor=floor.wall,
            unit="s",
            floor_is=is_floor,
            goal="< 0.6 s",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print_table(rows(args.runs), f"catalog commands, median of {args.runs}")


if __name__ == "__main__":
    main()
