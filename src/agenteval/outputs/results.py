"""What grading one output produced: the agent's answer for a (case, trial) and each check's
result. Kept apart from producing outputs, so that reading a run loads none of that engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from agenteval.cases.checks import CheckResult
from agenteval.models.client import Usage


@dataclass(frozen=True, kw_only=True)
class OutputResult:
    """An agent's output for one (case, trial) and every check's result."""

    case_id: str
    trial: int
    agent: str | None
    routed: str | None
    expected: tuple[str, ...]
    oracle: bool
    source: str  # live | recorded | not-run
    agent_input: str | None = None  # `task` (the main model's prompt argument) or `request`
    output: str | None = None
    model: str | None = None
    judge_model: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = 0.0
    cached: bool = False
    error: str | None = None
    checks: tuple[CheckResult, ...] = ()

    @property
    def misrouted(self) -> bool:
        return self.routed is not None and self.routed not in self.expected

    @property
    def passed(self) -> bool | None:
        """True when every check passed; False when one failed; None when not gradable."""
        if self.error is not None or self.source == "not-run" or not self.checks:
            return None
        if any(c.passed is False for c in self.checks):
            return False
        return None if any(c.passed is None for c in self.checks) else True

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["expected"] = list(self.expected)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutputResult:
        values = dict(data)
        values["expected"] = tuple(values.get("expected") or ())
        values["usage"] = Usage(**(values.get("usage") or {}))
        values["checks"] = tuple(CheckResult(**c) for c in values.get("checks") or ())
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})
