"""Run settings: an eval config plus command-line choices, resolved once into a frozen record.

`resolve()` is the only place defaults are decided: the holdout, the backend (and why), the
router's validated options and model id, the cache path, the gates, the eval's name. Nothing in
`RunSettings` is left None that has a default. The record stores it as its typed `settings`.

Each `RunSettings` field declares its `Role`: it changes the answers (must match to resume, to
merge shards, to compare), may change on resume (budget, concurrency, cache, gates), or is per
shard (where a shard writes and reads). The resume check, the shard check, the CLI's refusals
on `run --resume` and the comparability facts are derived from those roles; nothing else lists
fields.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, TypeAdapter, ValidationError

from agenteval.config import CatalogReading, EvalConfig
from agenteval.errors import ConfigError, RouterError
from agenteval.models.anthropic import SDK_HINT, sdk_installed
from agenteval.routing import registry, router_entry, router_factory, validate_options
from agenteval.views import DEFAULT_HOLDOUT, Holdout

DEFAULT_CACHE_DIR = ".agenteval"
NO_DATASETS = "none"  # `--dataset none`: no dataset at all
GENERIC_FOLDERS = frozenset({"agents", ".claude", "claude", "subagents"})


class Role(enum.Enum):
    """What a setting may do between runs meant to give the same answers."""

    ANSWERS = "changes the answers"  # must match to resume, to merge shards, to compare
    RESUMABLE = "may change on resume"  # budget, concurrency, cache, gates
    PER_SHARD = "per shard"  # where one shard writes and reads; never compared


AGREEMENT = "agreement"  # another value: an agreement comparison of two routers, no regression
MEASUREMENT = "measurement"  # another value: another measurement, not comparable


def with_role(
    role: Role, *options: str, fact: str | None = None, another: str = MEASUREMENT
) -> dict[str, Any]:
    """A field's metadata: its role, the `agenteval run` options (click parameter names) that
    set it, and the comparability fact (a `scoring.facts.RunFacts` field) it decides, if any,
    with what another value of it makes a comparison (``another``)."""
    return {"role": role, "options": options, "fact": fact, "another": another}


def _holdout(value: object) -> object:
    return Holdout.parse(value) if isinstance(value, str) else value


HoldoutText = Annotated[Holdout, BeforeValidator(_holdout), PlainSerializer(str, return_type=str)]


@dataclass(frozen=True, kw_only=True)
class Overrides:
    """What the command line says, before it is merged with the config (None: not given)."""

    agents: tuple[Path, ...] = ()
    plugins: tuple[Path, ...] = ()
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
    cases: tuple[str, ...] = ()  # only these case ids: the ones `--rerun-failed` found


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
    cases: tuple[str, ...] = ()  # only these case ids (`--rerun-failed RUN_DIR`)


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """Everything a run needs to know, resolved."""

    name: str = field(metadata=with_role(Role.ANSWERS))
    agents: tuple[Path, ...] = field(metadata=with_role(Role.ANSWERS, "agents", "plugins"))
    datasets: tuple[Path, ...] = field(metadata=with_role(Role.ANSWERS, "datasets"))
    examples: bool = field(default=True, metadata=with_role(Role.ANSWERS))
    backend: str = field(
        metadata=with_role(Role.ANSWERS, "backend", fact="router", another=AGREEMENT)
    )
    backend_reason: str = field(metadata=with_role(Role.PER_SHARD))
    router_options: Mapping[str, Any] = field(  # validated, as JSON
        default_factory=dict, metadata=with_role(Role.ANSWERS, fact="prompt", another=AGREEMENT)
    )
    model: str | None = field(  # the resolved model id, for routers that ask a model
        default=None, metadata=with_role(Role.ANSWERS, "model", fact="model", another=AGREEMENT)
    )
    holdout: HoldoutText = field(
        default=DEFAULT_HOLDOUT, metadata=with_role(Role.ANSWERS, "holdout", fact="holdout")
    )
    catalog_reading: CatalogReading = field(  # which reading of the catalog routers see
        default="claude-code", metadata=with_role(Role.ANSWERS)
    )
    trials: int = field(default=1, metadata=with_role(Role.ANSWERS, "trials", fact="trials"))
    concurrency: int = field(default=16, metadata=with_role(Role.RESUMABLE, "concurrency"))
    max_cost_usd: float | None = field(default=None, metadata=with_role(Role.RESUMABLE, "max_cost"))
    cache: bool = field(default=True, metadata=with_role(Role.RESUMABLE, "no_cache"))
    cache_path: Path = field(metadata=with_role(Role.PER_SHARD))
    batch: bool = field(default=False, metadata=with_role(Role.ANSWERS, "batch"))
    batch_poll_s: float = field(default=30.0, metadata=with_role(Role.ANSWERS))
    out: Path = field(metadata=with_role(Role.PER_SHARD, "out"))
    gates: GateSettings = field(
        default_factory=GateSettings, metadata=with_role(Role.RESUMABLE, "fail_under", "baseline")
    )
    outputs: OutputSettings = field(
        default_factory=OutputSettings,
        metadata=with_role(
            Role.ANSWERS, "recorded", "oracle_routing", "judge_model", "allow_python_checks"
        ),
    )
    selection: Selection = field(
        default_factory=Selection,
        metadata=with_role(
            Role.ANSWERS, "only", "limit", "sample", "seed", "shard", "rerun_failed"
        ),
    )
    api_key_env: str = field(default="ANTHROPIC_API_KEY", metadata=with_role(Role.ANSWERS))
    config_path: Path | None = field(default=None, metadata=with_role(Role.ANSWERS, "config_path"))
    base_dir: Path = field(default=Path("."), metadata=with_role(Role.PER_SHARD))

    def to_dict(self) -> dict[str, Any]:
        """As JSON values (paths as strings, the holdout as its text): the record's format."""
        data: dict[str, Any] = _adapter(type(self)).dump_python(self, mode="json")
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSettings:
        """The inverse of `to_dict`.

        Raises:
            ValueError: naming the first field that is not valid.
        """
        try:
            settings: RunSettings = _adapter(cls).validate_python(dict(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            raise ValueError(f"`{where}`: {first['msg']}{more}") from None
        return settings

    def resume_with(
        self,
        *,
        max_cost_usd: float | None = None,
        concurrency: int | None = None,
        cache: bool | None = None,
        fail_under: Sequence[tuple[str, float]] = (),
        baseline: str | None = None,
    ) -> RunSettings:
        """These settings for a resume: only what is `Role.RESUMABLE` may change (the budget,
        the concurrency, the cache and the gates; nothing that changes an answer)."""
        changes: dict[str, Any] = {}
        if fail_under or baseline:
            thresholds = {**self.gates.thresholds, **dict(fail_under)}
            changes["gates"] = replace(
                self.gates, thresholds=thresholds, baseline=baseline or self.gates.baseline
            )
        if max_cost_usd is not None:
            changes["max_cost_usd"] = _positive("--max-cost", max_cost_usd)
        if concurrency is not None:
            changes["concurrency"] = _at_least_one("--concurrency", concurrency)
        if cache is not None:
            changes["cache"] = cache
        return replace(self, **changes)

    def check_resume(self, recorded: RunSettings) -> None:
        """Refuse to resume a run with settings that change answers (`Role.ANSWERS`).

        Raises:
            ConfigError: naming every setting that differs from the recorded run's.
        """
        mine, theirs = answers_of(self), answers_of(recorded)
        changed = [k for k in mine if mine[k] != theirs.get(k)]
        if changed:
            raise ConfigError(
                f"{', '.join(changed)} cannot change when resuming: the run keeps what it "
                "started with",
                hint="resume with only the budget, concurrency, cache or gates changed, or "
                "start a new run",
            )


_ADAPTERS: dict[type[RunSettings], TypeAdapter[RunSettings]] = {}


def _adapter(cls: type[RunSettings]) -> TypeAdapter[RunSettings]:
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


def settings_fields(role: Role, cls: type[RunSettings] = RunSettings) -> tuple[Field[Any], ...]:
    """The fields of ``cls`` (RunSettings or an extension of it) with that role, in order."""
    return tuple(f for f in fields(cls) if f.metadata["role"] is role)


def answers_of(settings: RunSettings) -> dict[str, Any]:
    """The settings that change the answers, as JSON values: what a resume, the shards of one
    run and two compared runs must agree on."""
    data = settings.to_dict()
    return {f.name: data[f.name] for f in settings_fields(Role.ANSWERS, type(settings))}


def fixed_on_resume(cls: type[RunSettings] = RunSettings) -> frozenset[str]:
    """The `agenteval run` options (click parameter names) a resume refuses: those that set a
    setting which may not change on resume."""
    return frozenset(
        option
        for role in Role
        if role is not Role.RESUMABLE
        for f in settings_fields(role, cls)
        for option in f.metadata["options"]
    )


def compared_facts(cls: type[RunSettings] = RunSettings) -> dict[str, str]:
    """Comparability fact (a `scoring.facts.RunFacts` field) -> what another value of it makes
    a comparison (`AGREEMENT` or `MEASUREMENT`), from the settings that change the answers."""
    return {
        f.metadata["fact"]: f.metadata["another"]
        for f in settings_fields(Role.ANSWERS, cls)
        if f.metadata["fact"]
    }


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
    agents, datasets = catalog_paths(config, o.agents, o.datasets, o.plugins)
    backend, reason = choose_backend(config, o.backend, env)
    options, model = _router_options(config, backend, o.model)
    holdout = Holdout.parse(o.holdout or config.holdout or str(DEFAULT_HOLDOUT))
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
        cache_path=_cache_path(config, env),
        batch=config.batch or o.batch,
        batch_poll_s=config.batch_poll_s,
        out=(Path(o.out).resolve() if o.out else config.resolve(config.out)),
        gates=_gate_settings(config, o),
        outputs=_output_settings(config, o),
        selection=Selection(
            only=o.only,
            limit=o.limit,
            sample=o.sample,
            seed=o.seed,
            shard=o.shard,
            cases=o.cases,
        ),
        api_key_env=str(options.get("api_key_env") or "ANTHROPIC_API_KEY"),
        config_path=Path(config.source).resolve() if config.source else None,
        base_dir=Path(config.base_dir).resolve(),
    )


def _gate_settings(config: EvalConfig, o: Overrides) -> GateSettings:
    """The config's gates, with the command line's thresholds and baseline over them."""
    return GateSettings(
        thresholds={**config.gates.thresholds(), **dict(o.fail_under)},
        baseline=o.baseline or config.gates.baseline,
        max_regression=config.gates.max_regression,
        significance=config.gates.significance,
    )


def _output_settings(config: EvalConfig, o: Overrides) -> OutputSettings:
    """How outputs are produced and graded: the config's, and what the command line adds."""
    cfg_out = config.outputs
    recorded = (
        o.recorded.resolve()
        if o.recorded
        else (config.resolve(cfg_out.recorded) if cfg_out.recorded else None)
    )
    return OutputSettings(
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
    )


def _cache_path(config: EvalConfig, env: Mapping[str, str]) -> Path:
    """The response cache: the config's `cache_path`, else cache.sqlite in $AGENTEVAL_CACHE_DIR
    (default .agenteval) from here."""
    return (
        config.resolve(config.cache_path)
        if config.cache_path
        else (Path(env.get("AGENTEVAL_CACHE_DIR") or DEFAULT_CACHE_DIR) / "cache.sqlite").resolve()
    )


def catalog_paths(
    config: EvalConfig,
    agents: Sequence[Path] = (),
    datasets: Sequence[Path] = (),
    plugins: Sequence[Path] = (),
) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """The agent folders and dataset files a command reads: the command line's (relative to
    where it runs), else the config's (relative to the config), else ./agents (or
    ./.claude/agents) with datasets/*. Plugin folders (`--plugin`, else the config's
    `plugins:`) come last among the agent folders; the catalog reads them as plugins.
    Agents or plugins given on the command line read no default datasets; `--dataset none`
    reads none at all.

    Raises:
        CatalogError: when nothing was given and no default agents folder exists, or a plugin
            folder is not one.
    """
    from agenteval.catalog.plugins import plugin_roots  # reading a saved run loads no catalog

    roots = plugin_roots(
        tuple(Path(p).resolve() for p in plugins)
        if plugins
        else tuple(config.resolve(p) for p in config.plugins)
    )
    found = (
        tuple(Path(p).resolve() for p in agents)
        if agents
        else tuple(config.resolve(a) for a in config.agents)
        if config.agents
        else ()
        if roots
        else tuple(p.resolve() for p in _discover_agent_dirs())
    )
    found = (*found, *(r for r in roots if r not in found))
    if tuple(str(d) for d in datasets) == (NO_DATASETS,):
        return found, ()
    if datasets:
        return found, tuple(Path(p).resolve() for p in datasets)
    if agents or plugins:
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
    elif env.get(key_env) and sdk_installed():
        backend, reason = "anthropic", f"{key_env} is set"
    elif env.get(key_env):
        backend = "lexical"
        reason = f"offline: {key_env} is set, but the Anthropic SDK is not installed: {SDK_HINT}"
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
        from agenteval.models.pricing import model_table  # a saved run never loads the prices

        table = model_table().with_overrides(options.get("prices") or {})
        resolved = table.resolve(options.get("model"))
    return options, resolved


def _discover_agent_dirs() -> tuple[Path, ...]:
    from agenteval.catalog import discover_agent_dirs  # reading a saved run loads no catalog

    return discover_agent_dirs()


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
            hint=f"e.g. {flag} 5 (left out: a new run has no budget, a resume keeps its run's)",
        )
    return value
