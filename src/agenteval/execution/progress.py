"""Live progress: a rich bar on a terminal, plain periodic lines in CI logs."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from agenteval.execution.runner import RunState

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class ProgressDisplay:
    """Call the instance with the runner's state after each trial.

    Args:
        stream: Where to write (stderr by default, so stdout stays clean for --json users).
        every_s: Seconds between plain lines when the stream is not a terminal.
    """

    def __init__(
        self, stream: TextIO | None = None, *, every_s: float = 10.0, force_plain: bool = False
    ) -> None:
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.tty = not force_plain and self.stream.isatty()
        self._last = 0.0
        self._progress: Progress | None = None
        self._tasks: dict[int, TaskID] = {}

    def __enter__(self) -> ProgressDisplay:
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[extra]}"),
                console=Console(file=self.stream),
                transient=False,
            )
            self._progress.start()
        return self

    def __call__(self, state: RunState) -> None:
        now = time.monotonic()
        elapsed = max(now - state.started, 1e-9)
        rate = state.done / elapsed
        acc = "n/a" if state.accuracy is None else f"{100 * state.accuracy:.1f}%"
        cost = f"${state.cost_usd:.4f}" if state.cost_known else "cost unknown"
        what = "acc" if state.phase == "routing" else "pass"
        extra = f"{what} {acc} · errors {state.errors} · {cost}"
        if self._progress is not None:
            task = self._tasks.get(id(state))
            if task is None:
                task = self._tasks[id(state)] = self._progress.add_task(
                    state.phase, total=state.total, rate="", extra=""
                )
            self._progress.update(task, completed=state.done, rate=f"{rate:.1f}/s", extra=extra)
            return
        if state.done == state.total or now - self._last >= self.every_s:
            self._last = now
            eta = (state.total - state.done) / rate if rate else 0.0
            print(
                f"[agenteval] {state.phase}: {state.done}/{state.total} · {rate:.1f}/s · "
                f"eta {eta:.0f}s · {extra}",
                file=self.stream,
                flush=True,
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
