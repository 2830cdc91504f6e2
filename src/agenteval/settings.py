"""Run settings: an eval config plus command-line choices, resolved once into a frozen record.

`resolve()` is the only place defaults are decided: the holdout, the backend (and why), the
router's validated options and model id, the cache path, the gates, the eval's name. Nothing in
`RunSettings` is left None that has a default. The record stores it (`to_dict`), and a resume
rebuilds it (`from_dict`) and may change only the budget, the concurrency and the cache
(`resume_with`); anything else is refused here, in the library, not only in the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from agenteval.catalog import discover_agent_dirs
from agenteval.config import CatalogReading, EvalConfig
from agenteval.errors import ConfigError, RouterError
from agenteval.models.pricing import model_table
from agenteval.routing import registry, router_entry, router_factory, validate_options
from agenteval.views import DEFAULT_HOLDOUT, Holdout

DEFAULT_CACHE_DIR = ".agenteval"
NO_DATASETS = "none"  # `--dataset none`: no dataset at all
GENERIC_FOLDERS = frozenset({"agents", ".claude", "claude", "subagents"})
RESUMABLE = ("max_cost_usd", "concurrency", "cache", "gates")  # nothing that changes answers


@dataclass(frozen=True, kw_only=True)
class Overrides:
    """What the command line says, before it is merged with the config (None: not given)."""

    agents: tuple[Path, ...] = ()
    datasets: tuple[Path, ...] = ()
    backend: str | None = None
    model: str | None = None
    holdout: str | None = None
    trials: int | None = None
    concurrency: int | None = None
    max_cost_usd: float | None = None
    no_cache: bool = False
    batch: bool = False
    out: str | None = None
    fail_under: tuple[tuple[str, float], ...] = ()
    baseline: str | None = None
    recorded: Path | None = None
    oracle_routing: bool = False
    judge_model: str | None = None
    allow_python_checks: bool = False  # `python:` checks may run any module
    only: tuple[str, ...] = ()
    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    shard: tuple[int, int] | None = None  # (I, N) of `--shard I/N`, parsed


@dataclass(frozen=True, kw_only=True)
class GateSettings:
    """Which gates a run must pass."""

    thresholds: Mapping[str, float] = field(default_factory=dict)  # gate name -> threshold
    baseline: str | None = None  # a run folder, or `latest`
    max_regression: float | None = None
    significance: float = 0.05


@dataclass(frozen=True, kw_only=True)
class OutputSettings:
    """How outputs of cases with checks are produced and graded."""

    enabled: bool = True
    recorded: Path | None = None
    sample_data: bool = False
    oracle_routing: bool = False
    judge_model: str | None = None
    max_tokens: int | None = None
    trusted_check_modules: tuple[str, ...] = ()  # what `python:` checks may run ("*": any)


@dataclass(frozen=True, kw_only=True)
class Selection:
    """Which of the cases run (`--only`, `--limit`, `--sample`, `--seed`, `--shard`)."""

    only: tuple[str, ...] = ()
    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    shard: tuple[int, int] | None = None  # (I, N): the stable 1/N of the selected cases


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """Everything a run needs to know, resolved."""

    name: str
    agents: tuple[Path, ...]
    datasets: tuple[Path, ...]
    examples: bool = True
    backend: str
    backend_reason: str
    router_options: Mapping[str, Any] = field(default_factory=dict)  # validated, as JSON
    model: str | None = None  # the resolved model id, for routers that ask a model
    holdout: Holdout = DEFAULT_HOLDOUT
    catalog_reading: CatalogReading = "claude-code"  # which reading of the catalog routers see
    trials: int = 1
    concurrency: int = 16
    max_cost_usd: float | None = None
    cache: bool = True
    cache_path: Path
    batch: bool = False
    batch_poll_s: float = 30.0
    out: Path
    gates: GateSettings = field(default_factory=GateSettings)
    outputs: OutputSettings = field(default_factory=OutputSettings)
    selection: Selection = field(default_factory=Selection)
    api_key_env: str = "ANTHROPIC_API_KEY"
    config_path: Path | None = None
    base_dir: Path = Path(".")

    def to_dict(self) -> dict[str, Any]:
        """As JSON values (paths as strings, the holdout as its text)."""
        data = asdict(self)
        data["holdout"] = str(self.holdout)
        jsonable: dict[str, Any] = _jsonable(data)
        return jsonable

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSettings:
        """The inverse of `to_dict`."""
        values = dict(data)
        for key in ("agents", "datasets"):
            values[key] = tuple(Path(p) for p in values.get(key) or ())
        for key in ("cache_path", "out", "base_dir"):
            values[key] = Path(values[key])
        if values.get("config_path"):
            values["config_path"] = Path(values["config_path"])
        values["holdout"] = Holdout.parse(str(values.get("holdout") or DEFAULT_HOLDOUT))
        # runs recorded before the reading was a setting routed what the authors meant
        values.setdefault("catalog_reading", "recovered")
        gates = dict(values.get("gates") or {})
        values["gates"] = GateSettings(**gates)
        outputs = dict(values.get("outputs") or {})
        if outputs.get("recorded"):
            outputs["recorded"] = Path(outputs["recorded"])
        outputs["trusted_check_modules"] = tuple(outputs.get("trusted_check_modules") or ())
        values["outputs"] = OutputSettings(**outputs)
        selection = dict(values.get("selection") or {})
        selection["only"] = tuple(selection.get("only") or ())
        shard = selection.get("shard")
        selection["shard"] = (int(shard[0]), int(shard[1])) if shard else None
        values["selection"] = Selection(**selection)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def resume_with(
        self,
        *,
        max_cost_usd: float | None = None,
        concurrency: int | None = None,
        cache: bool | None = None,
        fail_under: Sequence[tuple[str, float]] = (),
    ) -> RunSettings:
        """These settings for a resume: only the budget, the concurrency, the cache and the
        gates may change (nothing that changes an answer)."""
        changes: dict[str, Any] = {}
        if fail_under:
            thresholds = {**self.gates.thresholds, **dict(fail_under)}
            changes["gates"] = replace(self.gates, thresholds=thresholds)
        if max_cost_usd is not None:
            changes["max_cost_usd"] = _positive("--max-cost", max_cost_usd)
        if concurrency is not None:
            changes["concurrency"] = _at_least_one("--concurrency", concurrency)
        if cache is not None:
            changes["cache"] = cache
        return replace(self, **changes)

    def check_resume(self, recorded: RunSettings) -> None:
        """Refuse to resume a run with settings that change answers.

        Raises:
            ConfigError: naming every setting that differs from the recorded run's.
        """
        mine, theirs = self.to_dict(), recorded.to_dict()
        changed = [
            k
            for k in mine
            if k not in RESUMABLE and k not in ("backend_reason",) and mine[k] != theirs.get(k)
        ]
        if changed:
            raise ConfigError(
                f"{', '.join(changed)} cannot change when resuming: the run keeps what it "
                "started with",
                hint="resume with only the budget, concurrency or cache changed, or start a "
                "new run",
            )


def resolve(
    config: EvalConfig,
    overrides: Overrides = Overrides(),
    env: Mapping[str, str] | None = None,
) -> RunSettings:
    """Merge a config and the command line into settings with every default decided.

    Raises:
        ConfigError: for a value out of range, an unknown backend, or an option the chosen
            router does not take (naming the config file and line when it came from there).
    """
    env = os.environ if env is None else env
    o = overrides
    trials = _at_least_one("--trials", o.trials if o.trials is not None else config.trials)
    concurrency = _at_least_one(
        "--concurrency", o.concurrency if o.concurrency is not None else config.concurrency
    )
    budget = o.max_cost_usd if o.max_cost_usd is not None else config.max_cost_usd
    if budget is not None:
        _positive("--max-cost", budget)
    for flag, value in (("--limit", o.limit), ("--sample", o.sample)):
        if value is not None:
            _at_least_one(flag, value)
    agents, datasets = catalog_paths(config, o.agents, o.datasets)
    backend, reason = choose_backend(config, o.backend, env)
    options, model = _router_options(config, backend, o.model)
    holdout = Holdout.parse(o.holdout or config.holdout or str(DEFAULT_HOLDOUT))
    gates = GateSettings(
        thresholds={**config.gates.thresholds(), **dict(o.fail_under)},
        baseline=o.baseline or config.gates.baseline,
        max_regression=config.gates.max_regression,
        significance=config.gates.significance,
    )
    cfg_out = config.outputs
    recorded = (
        o.recorded.resolve()
        if o.recorded
        else (config.resolve(cfg_out.recorded) if cfg_out.recorded else None)
    )
    cache_path = (
        config.resolve(config.cache_path)
        if config.cache_path
        else (Path(env.get("AGENTEVAL_CACHE_DIR") or DEFAULT_CACHE_DIR) / "cache.sqlite").resolve()
    )
    return RunSettings(
        name=config.name or eval_name(config, agents),
        agents=agents,
        datasets=datasets,
        examples=config.examples,
        backend=backend,
        backend_reason=reason,
        router_options=options,
        model=model,
        holdout=holdout,
        catalog_reading=config.catalog.reading,
        trials=trials,
        concurrency=concurrency,
        max_cost_usd=budget,
        cache=config.cache and not o.no_cache,
        cache_path=cache_path,
        batch=config.batch or o.batch,
        batch_poll_s=config.batch_poll_s,
        out=(Path(o.out).resolve() if o.out else config.resolve(config.out)),
        gates=gates,
        outputs=OutputSettings(
            enabled=cfg_out.enabled,
            recorded=recorded,
            sample_data=cfg_out.sample_data,
            oracle_routing=cfg_out.oracle_routing or o.oracle_routing,
            judge_model=o.judge_model or cfg_out.judge_model,
            max_tokens=cfg_out.max_tokens,
            trusted_check_modules=(
                *cfg_out.trusted_check_modules,
                *(["*"] if o.allow_python_checks else []),  # the user's call, never a dataset's
            ),
        ),
        selection=Selection(
            only=o.only, limit=o.limit, sample=o.sample, seed=o.seed, shard=o.shard
        ),
        api_key_env=str(options.get("api_key_env") or "ANTHROPIC_API_KEY"),
        config_path=Path(config.source).resolve() if config.source else None,
        base_dir=Path(config.base_dir).resolve(),
    )


def catalog_paths(
    config: EvalConfig, agents: Sequence[Path] = (), datasets: Sequence[Path] = ()
) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The agent folders and dataset files a command reads: the command line's (relative to
    where it runs), else the config's (relative to the config), else ./agents (or
    ./.claude/agents) with datasets/*. Agents given on the command line read no default
    datasets; `--dataset none` reads none at all.

    Raises:
        CatalogError: when nothing was given and no default agents folder exists.
    """
    found = (
        tuple(Path(p).resolve() for p in agents)
        if agents
        else tuple(config.resolve(a) for a in config.agents)
        if config.agents
        else tuple(p.resolve() for p in discover_agent_dirs())
    )
    if tuple(str(d) for d in datasets) == (NO_DATASETS,):
        return found, ()
    if datasets:
        return found, tuple(Path(p).resolve() for p in datasets)
    if agents:
        return found, ()  # ./datasets belong to the default catalog
    return found, _datasets(config, found)


def choose_backend(
    config: EvalConfig, explicit: str | None, env: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """Which router to use, and why (printed so nobody wonders).

    Raises:
        ConfigError: for a backend the registry does not know.
    """
    env = os.environ if env is None else env
    key_env = str(config.router.options().get("api_key_env") or "ANTHROPIC_API_KEY")
    if explicit:
        backend, reason = explicit, "chosen with --router"
    elif config.router.backend:
        backend, reason = config.router.backend, "set in the config"
    elif env.get(key_env):
        backend, reason = "anthropic", f"{key_env} is set"
    else:
        backend, reason = "lexical", f"offline: {key_env} is not set"
    if router_entry(backend) is None:
        raise ConfigError(
            f"unknown router {backend!r}",
            path=config.source,
            line=config.lines.get("router.backend"),
            hint=f"use one of: {', '.join(sorted(registry()))}",
        )
    return backend, reason


def eval_name(config: EvalConfig, agents: Sequence[Path]) -> str:
    """A run's default name: the config file's, else the catalog folder's (never a generic
    `agents`), so runs of different catalogs never share a name."""
    if config.source:
        return Path(config.source).stem
    names = []
    for path in agents:
        folder = path if path.is_dir() else path.parent
        while folder.name.lower() in GENERIC_FOLDERS and folder.parent != folder:
            folder = folder.parent
        names.append(folder.name or "agents")
    if not names:
        return "agents"
    return names[0] + (f"+{len(names) - 1}" if len(names) > 1 else "")


def _router_options(
    config: EvalConfig, backend: str, model: str | None
) -> tuple[dict[str, Any], str | None]:
    raw = config.router.options()
    factory = router_factory(backend)
    options_model = getattr(factory, "Options", None)
    if model is not None:
        if options_model is not None and "model" not in options_model.model_fields:
            raise ConfigError(
                f"--model has no effect with the {backend} router (it asks no model)",
                hint="drop --model, or choose a model router with --router anthropic",
            )
        raw["model"] = model
    if options_model is None:  # a third-party router without typed options takes them as given
        return raw, None
    try:
        validated = validate_options(options_model, raw, backend)
    except RouterError as exc:
        key = exc.message.split(" ", 1)[0].strip("`:")
        raise ConfigError(
            exc.message, path=config.source, line=config.lines.get(key), hint=exc.hint
        ) from exc
    options = validated.model_dump(mode="json", exclude_defaults=True)
    resolved = None
    if "model" in options_model.model_fields:
        table = model_table().with_overrides(options.get("prices") or {})
        resolved = table.resolve(options.get("model"))
    return options, resolved


def _datasets(config: EvalConfig, agents: Sequence[Path]) -> tuple[Path, ...]:
    if config.datasets is not None:
        return tuple(config.resolve(d) for d in config.datasets)
    if config.agents:
        return ()  # datasets in ./datasets belong to the default catalog
    default = Path("datasets")
    if not default.is_dir():
        return ()
    found = [*default.glob("*.yaml"), *default.glob("*.yml"), *default.glob("*.jsonl")]
    return tuple(p.resolve() for p in sorted(found))


def _at_least_one(flag: str, value: int) -> int:
    if value < 1:
        raise ConfigError(f"{flag} must be at least 1, got {value}", hint=f"pass {flag} 1 or more")
    return value


def _positive(flag: str, value: float) -> float:
    if not value > 0:
        raise ConfigError(
            f"{flag} must be a positive amount in USD, got {value:g}",
            hint=f"e.g. {flag} 5 (or leave it out for no budget)",
        )
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
