"""What a router may see of the catalog for each case.

With ``holdout: none`` every case sees the whole catalog, its own example included: that measures
whether the catalog's examples route at all. With ``kfold:K`` the examples are split into K stable
folds and a case of fold i sees the catalog without fold i's examples, so a router is never shown
the answer it is tested on. All cases of one fold share one view, hence one prompt-cache prefix.
Dataset cases always see the full catalog.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from agenteval.cases import Case
from agenteval.cases.examples import Example, extract_examples
from agenteval.catalog import Catalog
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
    """One agent as a router sees it."""

    name: str
    description: str
    tools_text: str


@dataclass(frozen=True, kw_only=True)
class AgentSource:
    """The user's file behind an agent of a view, for a router that lets Claude Code read it:
    its path under the catalog folder and the recovered text of each example this view cuts."""

    name: str
    path: Path
    rel: str
    held_out: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CatalogView:
    """The catalog as a router sees it for the cases of one fold (or the full catalog)."""

    fold: int | None
    agents: tuple[AgentView, ...]
    sources: tuple[AgentSource, ...] = ()  # none for a view built by hand

    def source_of(self, name: str) -> AgentSource | None:
        return next((s for s in self.sources if s.name == name), None)

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(a.name for a in self.agents)

    @cached_property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for a in self.agents:
            h.update(f"{a.name}\0{a.description}\0{a.tools_text}\0".encode())
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
    examples = {a.name: extract_examples(a) for a in catalog.agents} if folds else {}
    by_fold: dict[int | None, CatalogView] = {None: _view(catalog, None, holdout, examples)}
    for fold in sorted(folds):
        by_fold[fold] = _view(catalog, fold, holdout, examples)
    return Views(holdout=holdout, by_fold=by_fold)


def _view(
    catalog: Catalog,
    fold: int | None,
    holdout: Holdout,
    examples: Mapping[str, tuple[Example, ...]],
) -> CatalogView:
    agents, sources = [], []
    for a in catalog.agents:
        description = a.description
        held: list[tuple[int, int]] = []
        if fold is not None:
            held = [
                ex.span
                for ex in examples[a.name]
                if (_stable_int(a.name) + ex.index) % holdout.k == fold
            ]
            for start, end in sorted(held, reverse=True):
                description = description[:start] + description[end:]
            description = re.sub(r"\n{3,}", "\n\n", description).strip()
        agents.append(AgentView(name=a.name, description=description, tools_text=a.tools_text))
        source = AgentSource(
            name=a.name,
            path=a.path,
            rel=_relative(a.path, catalog.roots),
            held_out=tuple(a.description[s:e] for s, e in sorted(held)),
        )
        sources.append(source)
    return CatalogView(fold=fold, agents=tuple(agents), sources=tuple(sources))


def _relative(path: Path, roots: Iterable[Path]) -> str:
    """The file's path under the catalog folder it was found in (its name for a file given)."""
    for root in (r for r in roots if r.is_dir()):
        with contextlib.suppress(OSError, ValueError):
            return path.resolve().relative_to(root.resolve()).as_posix()
    return path.name


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
