"""The cases of a run: every example with a user turn and every dataset row, checked against
the catalog, then narrowed to the agents, sample or limit asked for."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace

from agenteval.cases import NONE_LABEL, Case
from agenteval.cases.datasets import Dataset
from agenteval.cases.examples import Example, extract_examples
from agenteval.catalog import SKILL_PREFIX, Agent, Catalog, Diagnostic, Skill
from agenteval.errors import DatasetError

_NAME_HINT = f"use an agent name from the catalog, `{SKILL_PREFIX}NAME` for a skill, or `none`"


@dataclass(frozen=True, kw_only=True)
class CaseSet:
    """The cases of a run and what was noticed while building them."""

    cases: tuple[Case, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    examples_total: int = 0
    examples_without_user: int = 0


def build_cases(catalog: Catalog, datasets: Iterable[Dataset] = ()) -> CaseSet:
    """Turn every example with a user turn (of an agent or a skill), and every dataset row,
    into a case. A skill's cases expect `skill:NAME`; a dataset may name a plugin agent by its
    full name or, when only one agent has it, by its short name.

    Raises:
        DatasetError: when a dataset expects a target the catalog does not have, or a short
            name several plugin agents share.
    """
    cases: list[Case] = []
    diags: list[Diagnostic] = []
    total = no_user = 0
    agent_names = catalog.names
    for target in (*catalog.agents, *(skill_as_agent(s) for s in catalog.skills)):
        for ex in extract_examples(target, agent_names):
            total += 1
            case = _example_case(target, ex, diags)
            if case is None:
                no_user += 1
            else:
                cases.append(case)
    for ds in datasets:
        for case, line in zip(ds.cases, ds.lines, strict=True):
            cases.append(_dataset_case(catalog, ds, case, line))
    _refuse_duplicate_ids(cases)
    return CaseSet(
        cases=tuple(cases),
        diagnostics=tuple(diags),
        examples_total=total,
        examples_without_user=no_user,
    )


def skill_as_agent(skill: Skill) -> Agent:
    """A skill in the shape examples are read from, named by its label (`skill:NAME`)."""
    return Agent(name=skill.label, description=skill.text, path=skill.path)


def _example_case(agent: Agent, ex: Example, diags: list[Diagnostic]) -> Case | None:
    """The case of one example (None when it has no user turn), noting what is wrong with it."""
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
        return None
    return Case(
        id=f"{agent.name}/ex{ex.index}",
        prompt=ex.user,
        expected=(agent.name,),
        origin="example",
        source=f"{agent.path}:{ex.line}",
        context=ex.context,
        tags=ex.tags,
        agent=agent.name,
        example_index=ex.index,
    )


def _dataset_case(catalog: Catalog, ds: Dataset, case: Case, line: int) -> Case:
    labels = set(catalog.target_labels)
    expected = [_resolve(catalog, labels, e, case, ds, line) for e in case.expected]
    if NONE_LABEL in expected and len(expected) > 1:
        raise DatasetError(
            f"case {case.id!r} mixes `none` with agent names",
            path=ds.path,
            line=line,
            hint="expect either `none` or a list of agents",
        )
    resolved = tuple(dict.fromkeys(expected))
    return case if resolved == case.expected else replace(case, expected=resolved)


def _resolve(
    catalog: Catalog, labels: set[str], name: str, case: Case, ds: Dataset, line: int
) -> str:
    """The label a dataset's expected name stands for: itself, or the one plugin target whose
    short name it is."""
    if name == NONE_LABEL or name in labels:
        return name
    is_skill = name.startswith(SKILL_PREFIX)
    short = name.removeprefix(SKILL_PREFIX)
    pool = (
        [s.label for s in catalog.skills if s.plugin and s.name.rsplit(":", 1)[-1] == short]
        if is_skill
        else [a.name for a in catalog.agents if a.plugin and a.short_name == short]
    )
    if len(pool) == 1:
        return pool[0]
    what = "skill" if is_skill else "agent"
    if pool:
        raise DatasetError(
            f"case {case.id!r} expects {what} {name!r}, a short name of several plugin "
            f"{what}s: {', '.join(sorted(pool))}",
            path=ds.path,
            line=line,
            hint="write the full name of the one you mean",
        )
    close = difflib.get_close_matches(name, sorted(labels), n=1)
    raise DatasetError(
        f"case {case.id!r} expects {what} {name!r}, which is not in the catalog",
        path=ds.path,
        line=line,
        hint=f"did you mean {close[0]!r}?" if close else _NAME_HINT,
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
    ids: Collection[str] = (),
) -> tuple[Case, ...]:
    """Narrow a run to some cases (by id), some agents, a random sample and/or the first N."""
    wanted = set(ids)
    chosen = [c for c in cases if not wanted or c.id in wanted]
    chosen = [
        c for c in chosen if not only or not set(only).isdisjoint(c.expected) or c.agent in only
    ]
    if sample is not None and sample < len(chosen):
        keyed = sorted(chosen, key=lambda c: hashlib.sha256(f"{seed}:{c.id}".encode()).digest())
        keep = {c.id for c in keyed[:sample]}
        chosen = [c for c in chosen if c.id in keep]
    if limit is not None:
        chosen = chosen[:limit]
    return tuple(chosen)
