"""What a run starts from: the spec, the catalog and cases, the router options, the cache."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agenteval.cases import Case, CaseSet, build_cases, load_dataset, select_cases
from agenteval.catalog import Catalog, discover_agent_dirs, load_catalog
from agenteval.config import EvalConfig
from agenteval.errors import ConfigError
from agenteval.execution.cache import ResponseCache, default_cache_path
from agenteval.views import Holdout, Views, build_views

DEFAULT_HOLDOUT = "kfold:5"


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """A config plus the command-line choices that are not part of it."""

    config: EvalConfig
    only: tuple[str, ...] = ()
    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    fail_under: tuple[tuple[str, float], ...] = ()
    resume: Path | None = None
    baseline: str | None = None  # a run folder, or "latest" (the newest complete run of this eval)
    backend_reason: str = ""


@dataclass(frozen=True, kw_only=True)
class Loaded:
    """A catalog and its cases, as `cases`, `lint` and `run` all need them."""

    catalog: Catalog
    case_set: CaseSet
    dataset_paths: tuple[Path, ...]


def choose_backend(config: EvalConfig, explicit: str | None) -> tuple[str, str]:
    """Which router to use, and why (printed so nobody wonders)."""
    if explicit:
        return explicit, "chosen with --router"
    if config.router.backend:
        return config.router.backend, "set in the config"
    if os.environ.get(config.router.api_key_env):
        return "anthropic", f"{config.router.api_key_env} is set"
    return "lexical", f"offline: {config.router.api_key_env} is not set"


def load_inputs(config: EvalConfig) -> Loaded:
    """Load the catalog and build every case the config asks for.

    Raises:
        CatalogError, DatasetError: for input that cannot be used at all.
    """
    if config.agents:
        dirs = tuple(config.resolve(a) for a in config.agents)
    else:
        dirs = discover_agent_dirs()
    catalog = load_catalog(dirs)
    if config.datasets is None and config.agents:
        paths: tuple[Path, ...] = ()  # datasets in ./datasets belong to the default catalog
    elif config.datasets is None:
        default = Path("datasets")
        paths = (
            tuple(
                sorted([*default.glob("*.yaml"), *default.glob("*.yml"), *default.glob("*.jsonl")])
            )
            if default.is_dir()
            else ()
        )
    else:
        paths = tuple(config.resolve(d) for d in config.datasets)
    datasets = [load_dataset(p) for p in paths]
    case_set = build_cases(catalog, datasets)
    if not config.examples:
        case_set = CaseSet(
            cases=tuple(c for c in case_set.cases if c.origin != "example"),
            diagnostics=case_set.diagnostics,
        )
    return Loaded(catalog=catalog, case_set=case_set, dataset_paths=paths)


def prepare(spec: RunSpec) -> tuple[Loaded, tuple[Case, ...], Holdout, Views]:
    loaded = load_inputs(spec.config)
    cases = select_cases(
        loaded.case_set.cases, only=spec.only, limit=spec.limit, sample=spec.sample, seed=spec.seed
    )
    if not cases:
        raise ConfigError(
            "no cases to run", hint="add <example> blocks or a dataset, or relax --only / --limit"
        )
    holdout = Holdout.parse(spec.config.holdout or DEFAULT_HOLDOUT)
    return loaded, cases, holdout, build_views(loaded.catalog, holdout, cases)


def open_cache(config: EvalConfig) -> ResponseCache | None:
    if not config.cache:
        return None
    path = config.resolve(config.cache_path) if config.cache_path else default_cache_path()
    return ResponseCache(path)


def router_options(config: EvalConfig) -> dict[str, Any]:
    return config.router.model_dump() | {"trials": config.trials}
