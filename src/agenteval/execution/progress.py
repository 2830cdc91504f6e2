"""Live progress: a rich bar on a terminal, plain periodic lines in CI logs."""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from agenteval.execution.runner import RunState

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

MIN_DONE = 5  # trials finished (since the first one) before a rate is trusted


class RateMeter:
    """Trials per second over the recent past, and an ETA only once that rate is steady.

    The clock starts at the first finished trial, not at the start of the run: start-up (imports,
    the first request warming a cache) would otherwise make the first ETA many times too long.
    A rate is steady when the newer half of the window runs within a factor of two of the whole.

    Args:
        window: How many recent (time, done) points the rate is measured over.
    """

    def __init__(self, window: int = 40) -> None:
        self._points: deque[tuple[float, int]] = deque(maxlen=window)
        self._first_done: int | None = None

    def add(self, now: float, done: int) -> None:
        """Record that `done` trials had finished at time `now`."""
        if self._first_done is None:
            self._first_done = done
        if self._points and self._points[-1][1] == done:
            return
        self._points.append((now, done))

    def rate(self) -> float | None:
        """Trials per second over the window, or None while too few trials finished."""
        if self._first_done is None or len(self._points) < 2:
            return None
        if self._points[-1][1] - self._first_done < MIN_DONE:
            return None
        return _rate(self._points[0], self._points[-1])

    def eta(self, remaining: int) -> float | None:
        """Seconds left for `remaining` trials, or None until the rate is steady."""
        whole = self.rate()
        if whole is None or not whole:
            return None
        points = list(self._points)
        recent = _rate(points[len(points) // 2], points[-1])
        if recent is None or not 0.5 <= recent / whole <= 2.0:
            return None
        return remaining / recent


def _rate(first: tuple[float, int], last: tuple[float, int]) -> float | None:
    span = last[0] - first[0]
    return (last[1] - first[1]) / span if span > 0 else None


class ProgressDisplay:
    """Call the instance with the runner's state after each trial.

    Args:
        stream: Where to write (stderr by default, so stdout stays clean for --json users).
        every_s: Seconds between plain lines when the stream is not a terminal.
        force_plain: Plain lines even on a terminal.
        clock: Monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        every_s: float = 10.0,
        force_plain: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.tty = not force_plain and self.stream.isatty()
        self._clock = clock
        self._last: float | None = None
        self._progress: Progress | None = None
        self._tasks: dict[int, TaskID] = {}
        self._meters: dict[int, RateMeter] = {}

    def __enter__(self) -> ProgressDisplay:
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[eta]}"),  # ours: rich's own ETA trusts the first trial
                TextColumn("{task.fields[extra]}"),
                console=Console(file=self.stream),
                transient=False,
            )
            self._progress.start()
        return self

    def __call__(self, state: RunState) -> None:
        now = self._clock()
        meter = self._meters.setdefault(id(state), RateMeter())
        meter.add(now, state.done)
        rate = meter.rate()
        left = state.total - state.done
        eta = meter.eta(left) if left else None
        rate_text = "" if rate is None else f"{rate:.1f}/s"
        eta_text = "" if eta is None else f"eta {eta:.0f}s"
        acc = "n/a" if state.accuracy is None else f"{100 * state.accuracy:.1f}%"
        cost = f"${state.cost_usd:.4f}" if state.cost_known else "cost unknown"
        if state.costs_nothing and not state.cost_usd:
            cost = "cost none (offline)"
        what = "acc" if state.phase == "routing" else "pass"
        extra = f"{what} {acc} · errors {state.errors} · {cost}"
        if self._progress is not None:
            task = self._tasks.get(id(state))
            if task is None:
                task = self._tasks[id(state)] = self._progress.add_task(
                    state.phase, total=state.total, rate="", eta="", extra=""
                )
            self._progress.update(
                task, completed=state.done, rate=rate_text, eta=eta_text, extra=extra
            )
            return
        if state.done == state.total or self._last is None or now - self._last >= self.every_s:
            self._last = now
            parts = [f"{state.phase}: {state.done}/{state.total}", rate_text, eta_text, extra]
            print("[agenteval] " + " · ".join(p for p in parts if p), file=self.stream, flush=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
