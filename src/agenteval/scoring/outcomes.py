"""How every trial of one case went: the per-case record scorecards and comparisons share.

A case's number is its per-case rate, right trials over scored trials (0 or 1 with one trial).
Its label for display is the majority label; its consistency is the share of its modal label.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from agenteval.execution.trials import Trial


@dataclass(frozen=True, kw_only=True)
class CaseOutcome:
    """How every trial of one case went.

    ``counts`` holds (label, trials), most frequent first. ``majority`` is the label to show for
    the case: the most frequent label on the side (right or wrong) that has a strict majority of
    the scored trials; a tie between right and wrong shows a wrong label. Numbers never use it:
    they use ``rate`` (right over scored) and ``modal`` (the most frequent label's trials).
    ``expected`` is in the order written in the file: the first one owns the case.
    """

    case_id: str
    expected: tuple[str, ...]
    counts: tuple[tuple[str, int], ...]
    correct: int
    errors: int
    majority: str | None

    @cached_property
    def scored(self) -> int:  # cached: scoring asks for it several times per case
        return sum(n for _, n in self.counts)

    @property
    def rate(self) -> float | None:
        """The share of scored trials that were right; None when none was scored."""
        return self.correct / self.scored if self.scored else None

    @property
    def majority_correct(self) -> bool | None:
        return None if not self.scored else 2 * self.correct > self.scored

    @property
    def modal(self) -> int:
        """How many scored trials gave the most frequent label (ties: the shared count)."""
        return max((n for _, n in self.counts), default=0)

    @property
    def agreement(self) -> float | None:
        """The share of scored trials that gave the most frequent label."""
        return self.modal / self.scored if self.scored else None

    @property
    def flaky(self) -> bool:
        return len(self.counts) > 1

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CaseOutcome:
        counts = tuple((label, n) for label, n in d["counts"])
        return cls(**{**d, "expected": tuple(d["expected"]), "counts": counts})


def case_outcomes(trials: Sequence[Trial]) -> tuple[CaseOutcome, ...]:
    """Group trials by case: label counts, correct trials and the majority label, by case id."""
    by_case: dict[str, list[Trial]] = defaultdict(list)
    for t in trials:
        by_case[t.case_id].append(t)
    outcomes = []
    for case_id in sorted(by_case):
        group = by_case[case_id]
        counts = Counter(t.label for t in group if t.label is not None)
        correct = sum(t.correct for t in group)
        expected = min(group, key=lambda t: t.trial).expected
        right_wins = 2 * correct > sum(counts.values())
        side = [(n, label) for label, n in counts.items() if (label in expected) == right_wins]
        majority = min(side, key=lambda x: (-x[0], x[1]))[1] if side else None
        outcomes.append(
            CaseOutcome(
                case_id=case_id,
                expected=expected,
                counts=tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                correct=correct,
                errors=len(group) - sum(counts.values()),
                majority=majority,
            )
        )
    return tuple(outcomes)
