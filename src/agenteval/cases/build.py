"""The cases of a run: every example with a user turn and every dataset row, checked against
the catalog, then narrowed to the agents, sample or limit asked for."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from agenteval.cases import NONE_LABEL, Case, WrittenOrder
from agenteval.cases.datasets import Dataset
from agenteval.cases.examples import extract_examples
from agenteval.catalog import Catalog, Diagnostic
from agenteval.errors import DatasetError


@dataclass(frozen=True, kw_only=True)
class CaseSet:
    """The cases of a run and what was noticed while building them."""

    cases: tuple[Case, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    examples_total: int = 0
    examples_without_user: int = 0


def build_cases(catalog: Catalog, datasets: Iterable[Dataset] = ()) -> CaseSet:
    """Turn every example with a user turn, and every dataset row, into a case.

    Raises:
        DatasetError: when a dataset expects an agent the catalog does not have.
    """
    cases: list[Case] = []
    diags: list[Diagnostic] = []
    total = no_user = 0
    agent_names = catalog.names
    for agent in catalog.agents:
        for ex in extract_examples(agent, agent_names):
            total += 1
            if not ex.closed:
                diags.append(
                    Diagnostic(
                        path=agent.path,
                        line=ex.line,
                        severity="warning",
                        code="example-unclosed",
                        message=f"example {ex.index} of {agent.name} is not closed",
                        hint="add </example>",
                    )
                )
            if ex.user is None:
                no_user += 1
                empty = not (ex.context or ex.assistant or ex.commentary)
                diags.append(
                    Diagnostic(
                        path=agent.path,
                        line=ex.line,
                        severity="warning",
                        code="example-empty" if empty else "example-no-user",
                        message=f"example {ex.index} of {agent.name} "
                        + ("is empty" if empty else "has no user turn: not a routing case"),
                        hint="add a `user:` turn with the request that should reach this agent",
                    )
                )
                continue
            cases.append(
                Case(
                    id=f"{agent.name}/ex{ex.index}",
                    prompt=ex.user,
                    expected=WrittenOrder([agent.name]),
                    origin="example",
                    source=f"{agent.path}:{ex.line}",
                    context=ex.context,
                    tags=ex.tags,
                    agent=agent.name,
                    example_index=ex.index,
                )
            )
    names = set(catalog.names)
    for ds in datasets:
        for case, line in zip(ds.cases, ds.lines, strict=True):
            unknown = sorted(case.expected - names - {NONE_LABEL})
            if unknown:
                close = difflib.get_close_matches(unknown[0], sorted(names), n=1)
                hint = (
                    f"did you mean {close[0]!r}?"
                    if close
                    else "use an agent name from the catalog or `none`"
                )
                raise DatasetError(
                    f"case {case.id!r} expects agent {unknown[0]!r}, which is not in the catalog",
                    path=ds.path,
                    line=line,
                    hint=hint,
                )
            if NONE_LABEL in case.expected and len(case.expected) > 1:
                raise DatasetError(
                    f"case {case.id!r} mixes `none` with agent names",
                    path=ds.path,
                    line=line,
                    hint="expect either `none` or a list of agents",
                )
            cases.append(case)
    _refuse_duplicate_ids(cases)
    return CaseSet(
        cases=tuple(cases),
        diagnostics=tuple(diags),
        examples_total=total,
        examples_without_user=no_user,
    )


def _refuse_duplicate_ids(cases: Sequence[Case]) -> None:
    """Two sources making one case id would let one case silently replace the other."""
    first: dict[str, Case] = {}
    for case in cases:
        seen = first.setdefault(case.id, case)
        if seen is not case:
            path, _, line = case.source.rpartition(":")
            raise DatasetError(
                f"case id {case.id!r} comes from two sources: {seen.source} and {case.source}",
                path=path or case.source,
                line=int(line) if line.isdigit() else None,
                hint="give the cases different ids, or rename one of the dataset files",
            )


def select_cases(
    cases: Sequence[Case],
    *,
    only: Collection[str] = (),
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> tuple[Case, ...]:
    """Narrow a run to some agents, a random sample and/or the first N cases."""
    chosen = [c for c in cases if not only or (c.expected & set(only)) or c.agent in only]
    if sample is not None and sample < len(chosen):
        keyed = sorted(chosen, key=lambda c: hashlib.sha256(f"{seed}:{c.id}".encode()).digest())
        keep = {c.id for c in keyed[:sample]}
        chosen = [c for c in chosen if c.id in keep]
    if limit is not None:
        chosen = chosen[:limit]
    return tuple(chosen)
