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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from agenteval.cases import Case
from agenteval.cases.examples import Example, extract_examples
from agenteval.catalog import SKILL_PREFIX, Agent, Catalog, Skill
from agenteval.catalog.skills import escape_markup, in_full
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
    title: str | None = None  # a skill's frontmatter `name` when it differs: `- NAME (TITLE): ...`
    brief: bool = False  # a skill listed by name only, beyond the list's budget (no description)

    @property
    def label(self) -> str:
        """What a pick of it is scored as: the agent's name, or `skill:NAME`."""
        return self.name if self.kind == "agent" else SKILL_PREFIX + self.name


@dataclass(frozen=True, kw_only=True)
class AgentSource:
    """The user's file behind an agent or skill of a view, for a router that lets Claude Code
    read it: where Claude Code finds it and the recovered text of each example this view cuts.

    ``rel`` is the file's path below the project's `.claude` folder (`agents/team/x.md`,
    `skills/s/SKILL.md`, `commands/c.md`), or, for a plugin's file, below ``plugin`` (the plugin
    folder it was read from: `agents/x.md`).
    """

    name: str  # the label: an agent's name, or `skill:NAME`
    path: Path
    rel: str
    held_out: tuple[str, ...] = ()
    plugin: Path | None = None


@dataclass(frozen=True, kw_only=True)
class CatalogView:
    """The catalog as a router sees it for the cases of one fold (or the full catalog)."""

    fold: int | None
    agents: tuple[AgentView, ...]
    skills: tuple[AgentView, ...] = ()  # the Skill tool's list, in the CLI's order
    sources: tuple[AgentSource, ...] = ()  # none for a view built by hand

    def source_of(self, label: str) -> AgentSource | None:
        """The file behind an agent (its name) or a skill (`skill:NAME`), if known."""
        return self._sources.get(label)

    @cached_property
    def _sources(self) -> dict[str, AgentSource]:
        return {s.name: s for s in self.sources}

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
            h.update(f"{sk.label}\0{sk.title or ''}\0{sk.brief}\0{sk.description}\0".encode())
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
    def held(label: str) -> list[tuple[int, int]]:
        return _held_spans(label, fold, holdout, examples)

    plugins = {p.name: p.root for p in catalog.plugins}
    agents, sources = [], []
    for a in catalog.agents:
        spans = held(a.name)
        description = _held_out(a.description, spans, fold)
        agents.append(AgentView(name=a.name, description=description, tools_text=a.tools_text))
        plugin = plugins.get(a.plugin) if a.plugin else None
        rel = (
            _relative(a.path, [plugin]) if plugin else f"agents/{_relative(a.path, catalog.roots)}"
        )
        sources.append(_source(a.name, a.path, rel, a.description, spans, plugin))
    shown: list[str] = []
    for sk in catalog.skills:
        spans = held(sk.label)
        shown.append(escape_markup(_held_out(sk.cut_text, spans, fold)))
        plugin = plugins.get(sk.plugin) if sk.plugin else None
        # a skill is `skills/NAME/SKILL.md`, a command `commands/NAME.md`, below either root
        rel = sk.path.relative_to(sk.path.parents[2 if sk.source == "skill" else 1]).as_posix()
        sources.append(_source(sk.label, sk.path, rel, sk.cut_text, spans, plugin))
    return CatalogView(
        fold=fold,
        agents=tuple(agents),
        skills=_skill_views(catalog.skills, shown),
        sources=tuple(sources),
    )


def _source(
    label: str, path: Path, rel: str, text: str, spans: list[tuple[int, int]], plugin: Path | None
) -> AgentSource:
    held_out = tuple(text[s:e] for s, e in sorted(spans))
    return AgentSource(name=label, path=path, rel=rel, held_out=held_out, plugin=plugin)


def _skill_views(skills: Sequence[Skill], shown: Sequence[str]) -> tuple[AgentView, ...]:
    """The skills as the view shows them: the list's budget applied to the descriptions this
    view shows (a cut example frees room), those past it by name only."""
    full = in_full([(sk.shown_name, text) for sk, text in zip(skills, shown, strict=True)])
    return tuple(
        AgentView(
            name=sk.name,
            description=text if keep else "",
            tools_text="",
            kind="skill",
            title=sk.title,
            brief=not keep,
        )
        for sk, text, keep in zip(skills, shown, full, strict=True)
    )


def _held_spans(
    name: str,
    fold: int | None,
    holdout: Holdout,
    examples: Mapping[str, tuple[Example, ...]],
) -> list[tuple[int, int]]:
    """The spans of `name`'s examples that `fold` holds out (none for the full view)."""
    if fold is None:
        return []
    return [ex.span for ex in examples[name] if (_stable_int(name) + ex.index) % holdout.k == fold]


def _held_out(description: str, held: list[tuple[int, int]], fold: int | None) -> str:
    """The description without the held-out spans (unchanged for the full view)."""
    if fold is None:
        return description
    for start, end in sorted(held, reverse=True):
        description = description[:start] + description[end:]
    return re.sub(r"\n{3,}", "\n\n", description).strip()


def _relative(path: Path, roots: Iterable[Path]) -> str:
    """The file's path under the catalog folder it was found in (its name for a file given)."""
    for root in (r for r in roots if r.is_dir()):
        with contextlib.suppress(OSError, ValueError):
            return path.resolve().relative_to(root.resolve()).as_posix()
    return path.name


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
