"""Progress lines: no ETA until a few trials finished at a steady rate (issue 11, item 10)."""

from __future__ import annotations

import io

from agenteval.execution.progress import ProgressDisplay, RateMeter
from agenteval.execution.runner import RunState


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lines_for(times: list[float], total: int) -> list[str]:
    """Plain progress lines when trial i finishes at times[i] (every update printed)."""
    clock = Clock()
    stream = io.StringIO()
    state = RunState(total=total, started=0.0)
    display = ProgressDisplay(stream, every_s=0.0, force_plain=True, clock=clock)
    with display:
        for i, t in enumerate(times, 1):
            clock.now = t
            state.done = i
            display(state)
    return stream.getvalue().splitlines()


def test_first_line_has_no_eta_after_a_slow_start():
    # 3 s of start-up (imports, the first request), then 10 trials a second: a 13 s run
    times = [3.0 + 0.1 * i for i in range(100)]
    lines = lines_for(times, total=100)
    assert "eta" not in lines[0]
    assert all("eta" not in line for line in lines[:4])  # too few trials to trust a rate
    (at_50,) = [line for line in lines if " 50/100 " in line]
    assert "eta 5s" in at_50  # 50 left at 10/s, not the 90 s a rate since start gives


def test_eta_waits_for_a_steady_rate():
    meter = RateMeter()
    for i, t in enumerate([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 5.5, 10.5], 1):
        meter.add(t, i)
    assert meter.eta(remaining=10) is None  # the rate just fell tenfold: not stable yet
    for i in range(9, 30):
        meter.add(10.5 + 5 * (i - 8), i)
    eta = meter.eta(remaining=10)
    assert eta is not None and 40 <= eta <= 60  # one trial per 5 s


def test_last_line_is_printed_without_eta():
    lines = lines_for([0.1 * i for i in range(1, 21)], total=20)
    assert lines[-1].startswith("[agenteval] routing: 20/20") and "eta" not in lines[-1]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_bar_shows_no_eta_on_its_first_trial():
    clock = Clock()
    stream = FakeTerminal()
    state = RunState(total=639, started=0.0)
    with ProgressDisplay(stream, clock=clock) as display:
        assert display.tty
        clock.now, state.done = 3.0, 1
        display(state)
    first = stream.getvalue()
    assert "1/639" in first and "eta" not in first
    stream = FakeTerminal()
    with ProgressDisplay(stream, clock=clock) as display:
        for i in range(1, 101):
            clock.now, state.done = 3.0 + 0.01 * i, i
            display(state)
    assert "eta 5s" in stream.getvalue()  # 539 left at 100/s
