"""Test cases: what a routing test is, and the labels it is scored with.

A case comes from an `<example>` block of an agent's description (`cases.examples`) or from a
hand-written dataset (`cases.datasets`); `cases.build` turns a catalog and datasets into the
cases of a run. This module holds only the case itself, so that reading a run's results (a
report, a comparison) loads neither YAML nor the catalog reader.

A case sends the router the user's message only. The assistant turn and the commentary of an
example name the answer ("I'll use the X agent"), so they never reach the router.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

NONE_LABEL = "none"
INVALID_LABEL = "invalid"
# the expected agent is one Claude Code never lists: the case can never route right
UNLISTED_LABEL = "unlisted"


class WrittenOrder(frozenset[str]):
    """A set of agent names that iterates in the order they were written.

    It compares, hashes and combines like a frozenset, so `expected` keeps its set semantics,
    while ``tuple(case.expected)`` lists the names as the file wrote them: the first one owns
    the case when several agents are acceptable (see DESIGN's scoring rules).
    """

    __slots__ = ("_order",)
    _order: tuple[str, ...]

    def __new__(cls, names: Iterable[str] = ()) -> WrittenOrder:
        order = tuple(dict.fromkeys(names))
        self = super().__new__(cls, order)
        self._order = order
        return self

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __repr__(self) -> str:
        return f"WrittenOrder({list(self._order)!r})"

    def __reduce__(self) -> tuple[type[WrittenOrder], tuple[tuple[str, ...]]]:
        return (type(self), (self._order,))


@dataclass(frozen=True, kw_only=True)
class Case:
    """One routing test: a request and the agents that may rightly receive it."""

    id: str
    prompt: str
    expected: frozenset[str]
    origin: Literal["example", "dataset", "generated"]
    source: str
    context: str | None = None
    tags: tuple[str, ...] = ()
    agent: str | None = None  # the agent whose example this is
    example_index: int | None = None
    checks: tuple[dict[str, Any], ...] = field(default=(), compare=False)
