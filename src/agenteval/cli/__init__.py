"""The `agenteval` command. Thin: parse options, call one library function, print, exit.

One module a group of commands (`evaluate`: run; `catalog`: cases, lint, init; `costs`:
estimate, capture; `results`: report, merge, compare, history, export; `fix`: generate,
improve); `app` holds the group and the options several commands share.
Exit codes: 0 ok, 1 a gate failed, 2 usage or input error, 3 too many trial errors.
"""

from __future__ import annotations

from agenteval.cli import catalog, costs, fix, results  # noqa: F401  (each registers its commands)
from agenteval.cli.app import main
from agenteval.cli.evaluate import run

__all__ = ["main", "run"]
