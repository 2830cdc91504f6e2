"""Release gates: thresholds a run must meet, and the headline numbers they are checked on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agenteval.config import GATES
from agenteval.errors import ConfigError
from agenteval.outputs.scorecard import OutputScorecard
from agenteval.scoring.scorecard import Scorecard

if TYPE_CHECKING:
    from agenteval.execution.trials import Trial


def headline(card: Scorecard) -> dict[str, Any]:
    """The numbers a reader looks at first: plain values, intervals beside them as [low, high]."""
    worst = card.worst_agents(1)
    return {
        "accuracy": card.accuracy.value,
        "accuracy_ci": _ci(card.accuracy.low, card.accuracy.high),
        "macro_precision": card.macro_precision,
        "macro_precision_ci": _pair(card.macro_precision_ci),
        "macro_recall": card.macro_recall,
        "macro_recall_ci": _pair(card.macro_recall_ci),
        "macro_f1": card.macro_f1,
        "macro_f1_ci": _pair(card.macro_f1_ci),
        "micro_f1": card.micro_f1,
        "micro_f1_ci": _pair(card.micro_f1_ci),
        "weighted_recall": card.weighted_recall,
        "weighted_f1": card.weighted_f1,
        "weighted_f1_ci": _pair(card.weighted_f1_ci),
        "trials_per_case": card.trials_per_case,
        "design_effect": card.design_effect,
        "consistency": card.consistency,
        "pass_k": card.pass_k.value if card.pass_k is not None else None,
        "pass_k_ci": _ci(card.pass_k.low, card.pass_k.high) if card.pass_k is not None else None,
        "flaky": len(card.flaky),
        "min_agent_recall": worst[0].recall.value if worst else None,
        "min_agent_recall_agent": worst[0].name if worst else None,
        "error_rate": card.error_rate.value,
        "error_rate_ci": _ci(card.error_rate.low, card.error_rate.high),
        "trials": card.trials,
        "cases": card.cases,
        "scored": card.scored,
        "errors": card.errors,
        "correct": card.correct,
    }


def _pair(ci: Sequence[float] | None) -> list[float] | None:
    return None if ci is None else [float(ci[0]), float(ci[1])]


def _ci(low: float | None, high: float | None) -> list[float] | None:
    return None if low is None or high is None else [low, high]


def parse_fail_under(items: Sequence[str]) -> tuple[tuple[str, float], ...]:
    """Parse ``--fail-under METRIC=VALUE`` options.

    Raises:
        ConfigError: for an unknown metric, a rate outside 0..1 or a count that is not a whole
            number from 0.
    """
    parsed = []
    for item in items:
        name, _, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if name and name not in GATES:
            raise ConfigError(
                f"--fail-under {item!r}: unknown metric {name!r}",
                hint=f"metrics: {', '.join(GATES)}; e.g. --fail-under accuracy=0.8",
            )
        if not value:
            raise ConfigError(
                f"--fail-under {item!r} is not METRIC=VALUE",
                hint=f"metrics: {', '.join(GATES)}; e.g. --fail-under accuracy=0.8",
            )
        try:
            number = float(value)
        except ValueError as exc:
            raise ConfigError(
                f"--fail-under {item!r}: {value!r} is not a number",
                hint="give a value between 0 and 1",
            ) from exc
        if GATES[name].kind == "count":
            if number < 0 or not number.is_integer():
                raise ConfigError(
                    f"--fail-under {item!r}: {name} takes a count, a whole number from 0",
                    hint=f"e.g. --fail-under {name}=0",
                )
            parsed.append((name, float(int(number))))
            continue
        if not 0 <= number <= 1:
            raise ConfigError(
                f"--fail-under {item!r}: value must be between 0 and 1",
                hint="rates are fractions: 0.8 means 80%",
            )
        parsed.append((name, number))
    return tuple(parsed)


def output_headline(card: OutputScorecard | None) -> dict[str, Any]:
    """The output-grading numbers beside the routing ones (empty when nothing was graded)."""
    if card is None:
        return {}
    worst = min(
        (a for a in card.agents if a.rate.value is not None),
        key=lambda a: (a.rate.value, a.agent),
        default=None,
    )
    return {
        "output_pass_rate": card.rate.value,
        "output_pass_rate_ci": _ci(card.rate.low, card.rate.high),
        "outputs_graded": card.graded,
        "output_errors": card.errors,
        "min_agent_output_pass_rate": worst.rate.value if worst else None,
        "min_agent_output_pass_rate_agent": worst.agent if worst else None,
        "judge_mean": card.judge_mean,
    }


def evaluate_gates(
    numbers: Mapping[str, Any], thresholds: Mapping[str, float]
) -> list[dict[str, Any]]:
    """Check every gate that has a threshold against the run's headline numbers, in words."""
    results = []
    for name, threshold in thresholds.items():
        gate = GATES[name]
        metric, direction = gate.metric, gate.direction
        value = numbers.get(metric)
        if value is None:
            passed, message = False, f"{metric} is undefined for this run (nothing scored)"
        elif gate.kind == "count":  # "2 catalog errors > 0"
            passed = value <= threshold if direction == "max" else value >= threshold
            op = ("<=" if passed else ">") if direction == "max" else (">=" if passed else "<")
            message = f"{value} {metric.replace('_', ' ')} {op} {threshold:g}"
        elif direction == "min":
            passed = value >= threshold
            message = f"{metric} {value:.3f} {'>=' if passed else '<'} {threshold:.3f}"
        else:
            passed = value <= threshold
            message = f"{metric} {value:.3f} {'<=' if passed else '>'} {threshold:.3f}"
        if name.startswith("min_agent") and value is not None and not passed:
            message += f" (worst: {numbers[metric + '_agent']})"
        results.append(
            {
                "name": name,
                "metric": metric,
                "threshold": threshold,
                "value": value,
                "passed": passed,
                "message": message,
            }
        )
    return results


ORIGINS = ("example", "dataset", "generated")


def origin_headlines(
    trials_by_origin: Mapping[str, Sequence[Trial]], labels: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The headline numbers of each origin's trials, scored alone (same labels), when there is
    more than one origin: generated cases never hide inside the author's numbers."""
    from agenteval.scoring.scorecard import score

    present = [o for o in ORIGINS if trials_by_origin.get(o)]
    if len(present) < 2:
        return {}
    return {o: headline(score(list(trials_by_origin[o]), labels)) for o in present}
