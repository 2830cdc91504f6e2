"""What a routing trial is: a (case, trial index), the router's decision and its scored label.

Kept apart from the runner so that reading a run's results (reports, comparisons, scoring)
loads none of the engine (asyncio, the executor, the cache).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from agenteval.cases import INVALID_LABEL, NONE_LABEL, UNLISTED_LABEL, Case
from agenteval.routing import Decision


@dataclass(frozen=True, kw_only=True)
class Trial:
    """One (case, trial index) with the router's decision and the label it is scored as.

    ``label`` is an agent name, ``none``, ``invalid`` or ``unlisted`` (no expected agent is in
    the view: Claude Code never lists it); it is None when the trial errored, and such a trial
    is counted apart, never as a misroute.
    """

    case_id: str
    trial: int
    expected: tuple[str, ...]
    label: str | None
    decision: Decision

    @property
    def error(self) -> str | None:
        return self.decision.error

    @property
    def correct(self) -> bool:
        return self.label is not None and self.label in self.expected


@dataclass(frozen=True, kw_only=True)
class ResultRow:
    """One line of results.jsonl: a trial and the case it ran."""

    case: Case
    trial: Trial


def label_of(
    decision: Decision, names: Collection[str], expected: Collection[str] = ()
) -> str | None:
    """The scored label of a decision: a catalog name, ``none``, ``invalid``, or None on error.

    When none of the ``expected`` agents is among the ``names`` the router was shown (Claude
    Code never lists them), the label is ``unlisted`` whatever the router picked: the case
    could never route right, and it is counted apart from misroutes.
    """
    if decision.error is not None:
        return None
    if expected and not any(e == NONE_LABEL or e in names for e in expected):
        return UNLISTED_LABEL
    if decision.agent is None:
        return NONE_LABEL
    return decision.agent if decision.agent in names else INVALID_LABEL
