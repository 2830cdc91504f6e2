"""The one engine every paid call goes through: routing, agent runs, judges, batches, the CLI.

An `Executor` owns:
- the concurrency limit (AIMD: halves on every 429/529 a client reports, grows back by one on
  success);
- the budget: a call starts only if the spend so far, plus the worst case of every call in flight,
  plus this call's own worst case, stays within it (a batch is split or refused the same way
  before submission);
- why the run stopped (`StopReason`), which decides the exit code;
- the response cache (get/put through a codec, so decisions and completions share one file);
- cost accounting: what was actually spent, kept apart from what is reserved.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from agenteval.execution.cache import ResponseCache
from agenteval.models.client import FatalModelError


class StopReason(enum.Enum):
    """Why a run stopped before doing all its work."""

    BUDGET = "budget"
    FATAL = "fatal"  # the API refused in a way every later call would hit (key, spend limit)
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, kw_only=True)
class Stop:
    """A stop reason with the sentence that explains it."""

    reason: StopReason
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(kw_only=True)
class AdaptiveLimit:
    """A concurrency limit that halves on overload (429/529) and grows back by one on success."""

    limit: int
    ceiling: int
    floor: int = 1
    in_flight: int = 0
    _cond: asyncio.Condition = field(default_factory=asyncio.Condition)
    _wakers: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> AdaptiveLimit:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        async with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def overloaded(self) -> None:
        self.limit = max(self.floor, self.limit // 2)

    def succeeded(self) -> None:
        if self.limit < self.ceiling:
            self.limit += 1
            with contextlib.suppress(RuntimeError):  # no running loop: nobody is waiting
                task = asyncio.get_running_loop().create_task(self._wake())  # wake one now
                self._wakers.add(task)
                task.add_done_callback(self._wakers.discard)

    async def _wake(self) -> None:
        async with self._cond:
            self._cond.notify(1)


class Outcome(Protocol):
    """What the executor reads of any call's result (a Decision, a Completion, ...)."""

    @property
    def error(self) -> str | None: ...

    @property
    def cost_usd(self) -> float | None: ...

    @property
    def cached(self) -> bool: ...


R = TypeVar("R", bound=Outcome)
T = TypeVar("T")


class Codec(Protocol[R]):
    """How one kind of result is stored in the response cache."""

    def encode(self, value: R) -> dict[str, Any]: ...

    def decode(self, data: Mapping[str, Any]) -> R: ...


@dataclass(kw_only=True)
class Spend:
    """Money spent (billed answers) and reserved (worst cases of the calls in flight)."""

    spent: float = 0.0
    reserved: float = 0.0
    holders: int = 0  # calls holding a reservation
    paid: int = 0
    unknown: int = 0  # billed calls whose price is unknown


class Executor:
    """Runs calls under one concurrency limit, one budget and one cache.

    Args:
        concurrency: The most calls in flight at once (halved on overload, then regrown).
        max_cost_usd: The budget for the whole run (None: no budget).
        cache: The response cache, or None.
        spent_usd: What earlier sessions of this run already spent (a resumed run's budget
            covers the whole run).
    """

    def __init__(
        self,
        *,
        concurrency: int = 16,
        max_cost_usd: float | None = None,
        cache: ResponseCache | None = None,
        spent_usd: float = 0.0,
        paid: int = 0,
    ) -> None:
        self.limit = AdaptiveLimit(limit=concurrency, ceiling=concurrency)
        self.concurrency = concurrency
        self.max_cost_usd = max_cost_usd
        self.cache = cache
        self.money = Spend(spent=spent_usd, paid=paid)
        self.stop: Stop | None = None
        self.stopped = asyncio.Event()
        self.in_flight = 0
        self._changed = asyncio.Event()  # set (and replaced) whenever money is freed or we stop

    def _signal(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # -- stopping -----------------------------------------------------------------------------
    def halt(self, reason: StopReason, message: str) -> None:
        """Start no more calls; the first reason given is the one kept."""
        if self.stop is None:
            self.stop = Stop(reason=reason, message=message)
        self.stopped.set()
        self._signal()

    # -- budget -------------------------------------------------------------------------------
    async def admit(self, bound: float | None) -> bool:
        """Reserve a call's worst case once it fits: while calls in flight may still free
        their reservations, wait for them; when nothing is in flight and it still does not fit,
        halt the run (the budget is reached)."""
        while True:
            if self.stopped.is_set():
                return False
            if self.max_cost_usd is None or bound is None or self.money.holders == 0:
                return self.reserve(bound)
            if self.money.spent + self.money.reserved + bound <= self.max_cost_usd + 1e-12:
                return self.reserve(bound)
            await self._changed.wait()

    def reserve(self, bound: float | None) -> bool:
        """Reserve a call's worst case if it fits the budget now; halt the run if not."""
        if self.max_cost_usd is None:
            return True
        if bound is None:
            self.halt(
                StopReason.BUDGET,
                "a request's price is unknown, so the budget cannot be kept: add the model "
                "under router.prices",
            )
            return False
        total = self.money.spent + self.money.reserved + bound
        if total > self.max_cost_usd + 1e-12:
            self.halt(StopReason.BUDGET, self._budget_message(bound))
            return False
        self.money.reserved += bound
        self.money.holders += 1
        return True

    def _budget_message(self, bound: float) -> str:
        spent, budget = self.money.spent, self.max_cost_usd or 0.0
        if spent == 0 and bound > budget:
            return (
                f"budget of ${budget:.4f} is below the worst case of one request (${bound:.4f}: "
                "its input plus max_tokens of output); spent $0; raise --max-cost"
            )
        return (
            f"budget of ${budget:.2f} reached: spent ${spent:.4f}, and the next request could "
            f"cost up to ${bound:.4f}"
        )

    def settle(self, bound: float | None, outcome: Outcome | None) -> None:
        """Release a reservation and book what the call actually cost."""
        if self.max_cost_usd is not None and bound is not None:
            self.money.holders -= 1
            # exactly zero when nothing holds a reservation: float residue must not block anyone
            self.money.reserved = (
                max(0.0, self.money.reserved - bound) if self.money.holders else 0.0
            )
            self._signal()
        if outcome is None or outcome.cached:
            return
        if outcome.cost_usd is None and getattr(outcome, "maybe_billed", False):
            self.money.spent += bound or 0.0  # it may be billed: its worst case counts
        elif outcome.cost_usd is not None:
            self.money.spent += outcome.cost_usd
        elif outcome.error is None:
            self.money.unknown += 1
        self.money.paid += outcome.error is None

    def fits(self, bounds: Sequence[float | None]) -> int:
        """How many of these calls (taken in order) fit the budget at once: for a batch."""
        if self.max_cost_usd is None:
            return len(bounds)
        room = self.max_cost_usd - self.money.spent - self.money.reserved
        n = 0
        for bound in bounds:
            if bound is None or bound > room + 1e-12:
                break
            room -= bound
            n += 1
        return n

    # -- cache --------------------------------------------------------------------------------
    def cached(self, key: str | None, codec: Codec[R]) -> R | None:
        if key is None or self.cache is None:
            return None
        data = self.cache.get_json(key)
        if data is None:
            return None
        try:
            return codec.decode(data)
        except (TypeError, ValueError):  # an entry of another shape: a miss, stored over
            return None

    def remember(self, key: str | None, value: R, codec: Codec[R]) -> None:
        if key is not None and self.cache is not None and value.error is None:
            self.cache.put_json(key, codec.encode(value))

    # -- calls --------------------------------------------------------------------------------
    async def call(
        self,
        run: Callable[[], Awaitable[R]],
        *,
        bound: Callable[[], Awaitable[float | None]] | None = None,
        key: str | None = None,
        codec: Codec[R] | None = None,
        overload: Callable[[R], bool] = lambda r: False,
        replay: bool = True,
    ) -> R | None:
        """Run one call (or, with ``replay``, answer it from the cache). None means it was not
        started: the run stopped (budget, fatal error, interruption); it is left for a resume."""
        if codec is not None and replay:
            hit = self.cached(key, codec)
            if hit is not None:
                return hit
        async with self.limit:
            if self.stopped.is_set():
                return None
            try:
                # no budget, nothing to reserve: a bound may cost a count or a CLI capture
                priced = bound is not None and self.max_cost_usd is not None
                worst = await bound() if priced and bound is not None else 0.0
            except FatalModelError as exc:
                self.halt(StopReason.FATAL, str(exc))
                return None
            if not await self.admit(worst):
                return None
            self.in_flight += 1
            result: R | None = None
            try:
                result = await run()
            except FatalModelError as exc:
                self.halt(StopReason.FATAL, str(exc))
                return None
            finally:
                self.in_flight -= 1
                self.settle(worst, result)
        if result.error is not None and overload(result):
            self.limit.overloaded()
        elif result.error is None:
            self.limit.succeeded()
        if codec is not None:
            self.remember(key, result, codec)
        return result

    async def drain(self, items: Sequence[T], one: Callable[[T], Awaitable[None]]) -> None:
        """Run ``one(item)`` for every item on at most ``concurrency`` tasks, until a stop.

        The limit on calls in flight is ``call``'s business; workers only bound how many items
        are taken from the queue at once.
        """
        queue = iter(items)

        async def worker() -> None:
            for item in queue:
                if self.stopped.is_set():
                    return
                await one(item)

        count = max(1, min(self.concurrency, len(items)))
        tasks = [asyncio.create_task(worker()) for _ in range(count)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
