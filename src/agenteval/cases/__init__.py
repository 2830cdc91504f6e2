"""Test cases: what a routing test is, and the labels it is scored with.

A case comes from an `<example>` block of an agent's description (`cases.examples`) or from a
hand-written dataset (`cases.datasets`); `cases.build` turns a catalog and datasets into the
cases of a run. This module holds only the case itself, so that reading a run's results (a
report, a comparison) loads neither YAML nor the catalog reader.

A case sends the router the user's message only. The assistant turn and the commentary of an
example name the answer ("I'll use the X agent"), so they never reach the router.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

NONE_LABEL = "none"
INVALID_LABEL = "invalid"
# the expected agent is one Claude Code never lists: the case can never route right
UNLISTED_LABEL = "unlisted"


@dataclass(frozen=True, kw_only=True)
class Case:
    """One routing test: a request and the agents that may rightly receive it.

    ``expected`` lists those agents once each, in the order they were written: the first one
    owns the case when several are acceptable (see DESIGN's scoring rules).
    """

    id: str
    prompt: str
    expected: tuple[str, ...]
    origin: Literal["example", "dataset", "generated"]
    source: str
    context: str | None = None
    tags: tuple[str, ...] = ()
    agent: str | None = None  # the agent whose example this is
    example_index: int | None = None
    checks: tuple[dict[str, Any], ...] = field(default=(), compare=False)
