"""One eval, end to end: catalog → cases → router → trials → scorecard → record → reports.

This package holds the library calls behind the CLI: `run_eval` for `agenteval run`, and
`estimate_eval`, `compare_runs` and `rerender` for the other commands. The CLI only parses
options into `RunSettings` (`settings.resolve`), calls one of them, and prints.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agenteval.pipeline.compare import CompareOutcome, compare_runs
    from agenteval.pipeline.estimate import estimate_eval
    from agenteval.pipeline.finish import RunOutcome, finish_run
    from agenteval.pipeline.inputs import Loaded, load_inputs
    from agenteval.pipeline.report import rerender
    from agenteval.pipeline.run import find_baseline, recorded_settings, run_eval

# Imported on first use, so `cases` and `lint` do not load the run machinery (reports, jinja,
# the record store); what that buys: bench/devices.py.
_WHERE = {
    "Loaded": "inputs",
    "load_inputs": "inputs",
    "RunOutcome": "finish",
    "find_baseline": "run",
    "finish_run": "finish",
    "recorded_settings": "run",
    "run_eval": "run",
    "CompareOutcome": "compare",
    "compare_runs": "compare",
    "estimate_eval": "estimate",
    "rerender": "report",
}

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


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"agenteval.pipeline.{_WHERE[name]}"), name)
