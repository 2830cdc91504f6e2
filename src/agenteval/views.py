"""What a router may see of the catalog for each case.

With ``holdout: none`` every case sees the whole catalog, its own example included: that measures
whether the catalog's examples route at all. With ``kfold:K`` the examples are split into K stable
folds and a case of fold i sees the catalog without fold i's examples, so a router is never shown
the answer it is tested on. All cases of one fold share one view, hence one prompt-cache prefix.
Dataset cases always see the full catalog.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from agenteval.cases import Case
from agenteval.cases.examples import Example, extract_examples
from agenteval.catalog import SKILL_PREFIX, Agent, Catalog
from agenteval.catalog.skills import escape_markup
from agenteval.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Holdout:
    """How examples are held out from the catalog a router sees."""

    k: int = 0  # 0 = no holdout

    @classmethod
    def parse(cls, text: str) -> Holdout:
        """Parse ``none`` or ``kfold:K`` (the default, when nothing is said, is decided once:
        `DEFAULT_HOLDOUT`, applied by `settings.resolve`).

        Raises:
            ConfigError: for any other text.
        """
        if not isinstance(text, str):
            raise TypeError(f"a holdout is text (`none` or `kfold:K`), not {text!r}")
        if text.strip().lower() == "none":
            return cls(k=0)
        m = re.fullmatch(r"\s*kfold\s*:\s*(\d+)\s*", str(text))
        if not m or int(m.group(1)) < 2:
            raise ConfigError(
                f"unknown holdout {text!r}", hint="use `none` or `kfold:K` with K >= 2"
            )
        return cls(k=int(m.group(1)))

    def __str__(self) -> str:
        return f"kfold:{self.k}" if self.k else "none"

    def fold_of(self, case: Case) -> int | None:
        """The fold of an example case; None for dataset cases or without holdout."""
        if not self.k or case.agent is None or case.example_index is None:
            return None
        return (_stable_int(case.agent) + case.example_index) % self.k


DEFAULT_HOLDOUT = Holdout(k=5)


@dataclass(frozen=True, kw_only=True)
class AgentView:
    """One agent (or, with kind `skill`, one skill) as a router sees it."""

    name: str
    description: str
    tools_text: str
    kind: Literal["agent", "skill"] = "agent"

    @property
    def label(self) -> str:
        """What a pick of it is scored as: the agent's name, or `skill:NAME`."""
        return self.name if self.kind == "agent" else SKILL_PREFIX + self.name


@dataclass(frozen=True, kw_only=True)
class CatalogView:
    """The catalog as a router sees it for the cases of one fold (or the full catalog)."""

    fold: int | None
    agents: tuple[AgentView, ...]
    skills: tuple[AgentView, ...] = ()  # the Skill tool's list, in the CLI's order

    @cached_property
    def names(self) -> frozenset[str]:
        """Every label a router may pick: agent names and `skill:NAME`."""
        return frozenset(a.label for a in (*self.agents, *self.skills))

    @property
    def targets(self) -> tuple[AgentView, ...]:
        """Agents, then skills."""
        return (*self.agents, *self.skills)

    @cached_property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for a in self.agents:
            h.update(f"{a.name}\0{a.description}\0{a.tools_text}\0".encode())
        for sk in self.skills:
            h.update(f"{sk.label}\0{sk.description}\0".encode())
        return h.hexdigest()


@dataclass(frozen=True, kw_only=True)
class Views:
    """Every view a run needs, and which one each case gets."""

    holdout: Holdout
    by_fold: dict[int | None, CatalogView]

    def for_case(self, case: Case) -> CatalogView:
        return self.by_fold[self.holdout.fold_of(case)]


def build_views(catalog: Catalog, holdout: Holdout, cases: Iterable[Case] = ()) -> Views:
    """Build the full view plus one view per fold that the given cases use."""
    folds = {fold for c in cases if (fold := holdout.fold_of(c)) is not None}
    examples = (
        {a.name: extract_examples(a) for a in (*catalog.agents, *_skill_shapes(catalog))}
        if folds
        else {}
    )
    by_fold: dict[int | None, CatalogView] = {None: _view(catalog, None, holdout, examples)}
    for fold in sorted(folds):
        by_fold[fold] = _view(catalog, fold, holdout, examples)
    return Views(holdout=holdout, by_fold=by_fold)


def _skill_shapes(catalog: Catalog) -> tuple[Agent, ...]:
    """Each skill as shown (markup not yet escaped), named by its label (the name its cases
    hold out by)."""
    return tuple(Agent(name=s.label, description=s.cut_text, path=s.path) for s in catalog.skills)


def _view(
    catalog: Catalog,
    fold: int | None,
    holdout: Holdout,
    examples: Mapping[str, tuple[Example, ...]],
) -> CatalogView:
    agents = tuple(
        AgentView(
            name=a.name,
            description=_held_out(a.name, a.description, fold, holdout, examples),
            tools_text=a.tools_text,
        )
        for a in catalog.agents
    )
    skills = tuple(
        AgentView(
            name=s.name,
            description=escape_markup(_held_out(s.label, s.cut_text, fold, holdout, examples)),
            tools_text="",
            kind="skill",
        )
        for s in catalog.skills
    )
    return CatalogView(fold=fold, agents=agents, skills=skills)


def _held_out(
    name: str,
    description: str,
    fold: int | None,
    holdout: Holdout,
    examples: Mapping[str, tuple[Example, ...]],
) -> str:
    """The description without the examples of `fold` (unchanged for the full view)."""
    if fold is None:
        return description
    held = [ex.span for ex in examples[name] if (_stable_int(name) + ex.index) % holdout.k == fold]
    for start, end in sorted(held, reverse=True):
        description = description[:start] + description[end:]
    return re.sub(r"\n{3,}", "\n\n", description).strip()


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
