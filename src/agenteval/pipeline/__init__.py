"""One eval, end to end: catalog → cases → router → trials → scorecard → record → reports.

This package holds the library calls behind the CLI: `run_eval` for `agenteval run`, and
`estimate_eval`, `compare_runs` and `rerender` for the other commands. The CLI only parses
options into `RunSettings` (`settings.resolve`), calls one of them, and prints.
"""

from agenteval.pipeline.inputs import Loaded, load_inputs
from agenteval.pipeline.run import (
    RunOutcome,
    find_baseline,
    finish_run,
    recorded_settings,
    run_eval,
)
from agenteval.pipeline.tools import CompareOutcome, compare_runs, estimate_eval, rerender

__all__ = [
    "CompareOutcome",
    "Loaded",
    "RunOutcome",
    "recorded_settings",
    "compare_runs",
    "estimate_eval",
    "find_baseline",
    "finish_run",
    "load_inputs",
    "rerender",
    "run_eval",
]
