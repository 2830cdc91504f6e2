"""How long `score()` takes on synthetic runs: 213 agents, 10,000 trials, 1 or 5 trials a case.

Goal: the case-level bootstrap well under 1 s, the whole score() under 1 s. Prints the best of N.
Usage: python bench/scoring_speed.py [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import time

from agenteval.execution.trials import Trial
from agenteval.routing import Decision
from agenteval.scoring.scorecard import score


def synthetic(cases: int, per_case: int, agents: int = 213, seed: int = 1):
    """A router right 70% of the time, 2% invalid names, 1% errors."""
    rnd = random.Random(seed)
    names = [f"agent-{i:03d}" for i in range(agents)]
    trials = []
    for c in range(cases):
        expected = rnd.choice([*names, "none"])
        for t in range(per_case):
            r = rnd.random()
            if r < 0.7:
                label = expected
            elif r < 0.72:
                label = "invalid"
            else:
                label = rnd.choice([*names, "none"])
            error = "boom" if rnd.random() < 0.01 else None
            trials.append(
                Trial(
                    case_id=f"c{c:05d}",
                    trial=t,
                    expected=(expected,),
                    label=None if error else label,
                    decision=Decision(agent=label, error=error),
                )
            )
    return trials, names


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for cases, per_case in [(10_000, 1), (2_000, 5), (10_000, 5)]:
        trials, names = synthetic(cases, per_case)
        score(trials[:20], names)  # imports numpy, scipy and sklearn once
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            card = score(trials, names)
            times.append(time.perf_counter() - start)
        print(
            f"{len(trials):>6} trials ({cases} cases x {per_case}), {len(names)} agents: "
            f"best {min(times):.3f} s  accuracy {card.accuracy.value:.3f} "
            f"[{card.accuracy.low:.3f}, {card.accuracy.high:.3f}]  "
            f"macro recall {card.macro_recall:.3f} "
            f"[{card.macro_recall_ci[0]:.3f}, {card.macro_recall_ci[1]:.3f}]"
        )


if __name__ == "__main__":
    main()
