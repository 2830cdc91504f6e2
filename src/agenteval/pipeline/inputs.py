"""What a run starts from: the catalog and cases, the router, the model client, the cache."""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agenteval.cases import NONE_LABEL, Case
from agenteval.cases.build import CaseSet, build_cases, select_cases
from agenteval.cases.datasets import load_dataset
from agenteval.catalog import Catalog, load_catalog
from agenteval.catalog.files import find_agent_files
from agenteval.claude_code_install import locate
from agenteval.errors import ConfigError
from agenteval.execution.cache import ResponseCache
from agenteval.models.client import ModelClient
from agenteval.pipeline.reading import routed_catalog
from agenteval.routing import ModelRouter, Router, make_router
from agenteval.settings import RunSettings
from agenteval.text import plural
from agenteval.views import Views, build_views

# From this many agent files, reading the catalog and building its views take long enough that
# a run says what it is doing first (bench/first_line.py measures the silence).
LARGE_CATALOG = 1_000


@dataclass(frozen=True, kw_only=True)
class Loaded:
    """A catalog and its cases, as `cases`, `lint` and `run` all need them.

    `routed` is the catalog a run's router is shown (`pipeline.reading.routed_catalog`): set by
    `prepare`, None until then (then the recovered `catalog` is the one meant).
    """

    catalog: Catalog
    case_set: CaseSet
    dataset_paths: tuple[Path, ...]
    routed: Catalog | None = None

    @property
    def shown(self) -> Catalog:
        """The catalog the router is shown."""
        return self.routed if self.routed is not None else self.catalog


def load_inputs(
    agents: Sequence[Path],
    datasets: Sequence[Path] = (),
    *,
    examples: bool = True,
    claude_code_version: str | None = None,
) -> Loaded:
    """Load the catalog and build every case.

    `claude_code_version` picks the CLI version whose reading the catalog carries (default: the
    installed CLI's, else the pinned one).

    Raises:
        CatalogError, DatasetError: for input that cannot be used at all.
    """
    catalog = load_catalog(agents, version=claude_code_version)
    case_set = build_cases(catalog, [load_dataset(p) for p in datasets])
    if not examples:
        case_set = CaseSet(
            cases=tuple(c for c in case_set.cases if c.origin != "example"),
            diagnostics=case_set.diagnostics,
        )
    return Loaded(catalog=catalog, case_set=case_set, dataset_paths=tuple(datasets))


def prepare(
    settings: RunSettings, say: Callable[[str], Any] = lambda message: None
) -> tuple[Loaded, tuple[Case, ...], Views]:
    """The inputs, the selected cases and the catalog view each case gets: views are built from
    the reading the settings route (Claude Code's by default); cases from the recovered one.

    A large catalog is announced to ``say`` before each slow step (reading it, building views).

    Raises:
        ConfigError: when no case is left to run.
    """
    files = len(find_agent_files([p for p in settings.agents if p.exists()]).files)
    large = files >= LARGE_CATALOG
    if large:
        say(f"reading {plural(files, 'agent file')} and building their cases")
    loaded = load_inputs(
        settings.agents,
        settings.datasets,
        examples=settings.examples,
        claude_code_version=named_claude_version(settings),
    )
    s = settings.selection
    _check_only(s.only, loaded.catalog)
    cases = select_cases(
        loaded.case_set.cases,
        only=s.only,
        limit=s.limit,
        sample=s.sample,
        seed=s.seed,
        ids=s.cases,
    )
    if s.shard is not None:
        cases = select_shard(cases, *s.shard)
    if not cases:
        raise ConfigError(
            "no cases to run",
            hint="add <example> blocks or a dataset, or relax --only / --limit / --shard "
            "(with --rerun-failed: the catalog no longer has the failed cases)",
        )
    loaded = replace(loaded, routed=routed_catalog(loaded.catalog, settings.catalog_reading))
    if large:
        cases_text = plural(len(cases), "case")
        say(f"building the {settings.holdout} views of the catalog for {cases_text}")
    return loaded, cases, build_views(loaded.shown, settings.holdout, cases)


def named_claude_version(settings: RunSettings) -> str | None:
    """The version of the `claude` the router option names (None: none is named, so the catalog
    finds the same one the router will), so the catalog is read by the CLI that routes.

    Raises:
        RouterError: when the named binary is not executable or prints no version.
    """
    named = settings.router_options.get("claude")
    return locate(str(named)).version if named else None


def shard_of(case_id: str, count: int) -> int:
    """The shard (1..count) a case id belongs to: a hash, so stable across runs and machines."""
    digest = hashlib.sha256(case_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def select_shard(cases: Iterable[Case], index: int, count: int) -> tuple[Case, ...]:
    """The cases of shard ``index`` of ``count`` (1-based), in their given order.

    Raises:
        ConfigError: when the shard numbers are out of range.
    """
    if not 1 <= index <= count:
        raise ConfigError(f"shard {index}/{count} is out of range", hint="use I/N with 1 <= I <= N")
    return tuple(c for c in cases if shard_of(c.id, count) == index)


def _check_only(only: Sequence[str], catalog: Catalog) -> None:
    """Every `--only` name is an agent of the catalog.

    Raises:
        ConfigError: naming the unknown agent and the closest names.
    """
    names = list(catalog.target_labels)
    for name in only:
        if name in names or name == NONE_LABEL:
            continue
        close = difflib.get_close_matches(name, names, n=3)
        raise ConfigError(
            f"--only: no agent named {name!r} in the catalog",
            hint=f"did you mean {' or '.join(close)}?"
            if close
            else "`agenteval cases` lists the agents and their cases",
        )


def build_router(settings: RunSettings) -> Router:
    """The router the settings name, from the registry."""
    return make_router(settings.backend, settings.router_options)


def output_client(settings: RunSettings, router: Router) -> ModelClient | None:
    """Who runs agents and judges: the router's own model client, else the Anthropic SDK
    client when a key is set and the SDK installed, else nobody (outputs can then only be
    graded as recorded)."""
    if isinstance(router, ModelRouter):
        return router.client
    from agenteval.models.anthropic import AnthropicClient, sdk_installed

    if not os.environ.get(settings.api_key_env) or not sdk_installed():
        return None  # (the router line said why, when the SDK is what is missing)

    return AnthropicClient.from_env(
        api_key_env=settings.api_key_env, model=settings.router_options.get("model")
    )


def open_cache(settings: RunSettings) -> ResponseCache | None:
    return ResponseCache(settings.cache_path) if settings.cache else None
