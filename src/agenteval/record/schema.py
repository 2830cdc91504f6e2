"""summary.json as a typed, versioned record: `RunRecord`, `SCHEMA_VERSION` and the migrations.

The record is the file boundary between a run and everything rendered from it (reports,
`compare`, `history`, `--baseline`), so it is pydantic: a bad file gives one error naming the
file and the field. Older versions are migrated on read, one step at a time, so a run folder
written by any earlier agenteval still loads, re-renders and compares. The scorecards inside keep
their own `to_dict`/`from_dict` formats (their modules own them); the schema calls those.

Version history:
    1: the first record (an untyped mapping in v1's `store.py`).
    2: typed and validated; `status` may be ``failed`` (every trial errored); `settings` (the
       resolved RunSettings) and `stop` (the StopReason) always present, None when unknown. A
       v1 run saved "complete" although every trial errored reads as ``failed``, so it is never
       chosen as a baseline.
    3: `settings` is typed (`settings.RunSettings`, validated field by field); its copies, the
       hand-built "config view" and `selection`, are gone. `config` (the EvalConfig as given) and
       `selection` are kept only by runs recorded before settings were (v1), to rebuild their
       settings from.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    model_validator,
)

from agenteval.errors import RecordError
from agenteval.models.client import Usage
from agenteval.record.migrations import MIGRATIONS
from agenteval.scoring.scorecard import Scorecard

SCHEMA_VERSION: Final = 3

Status = Literal["running", "complete", "incomplete", "failed"]
Interval = tuple[float, float]
T = TypeVar("T")


def _owned(cls: type[T], from_dict: Callable[[Mapping[str, Any]], T]) -> Callable[[object], T]:
    """The validator of a field whose format its own module defines (``from_dict``)."""

    def validate(value: object) -> T:
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"expected an object, got {type(value).__name__}")
        try:
            return from_dict(value)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a valid {cls.__name__} ({type(exc).__name__}: {exc})") from exc

    return validate


def _to_dict(value: Any) -> dict[str, Any]:
    data: dict[str, Any] = value.to_dict()
    return data


ScorecardField = Annotated[
    Scorecard, PlainValidator(_owned(Scorecard, Scorecard.from_dict)), PlainSerializer(_to_dict)
]


def _owned_later(module: str, name: str) -> Callable[[object], Any]:
    """`_owned` for a class imported on the first value it validates: a record without that
    part (most runs grade no outputs and compare to no baseline) never loads its module."""

    def validate(value: object) -> Any:
        cls = getattr(importlib.import_module(module), name)
        return _owned(cls, cls.from_dict)(value)

    return validate


def _none_or(validate: Callable[[object], Any]) -> Callable[[object], Any]:
    """A validator that lets None through without calling ``validate`` (nor importing)."""
    return lambda value: None if value is None else validate(value)


if TYPE_CHECKING:
    from agenteval.outputs.scorecard import OutputScorecard
    from agenteval.scoring.compare import Comparison
    from agenteval.settings import RunSettings

    ComparisonField = Comparison
    OutputScorecardField = OutputScorecard
    SettingsField = RunSettings | None
else:  # the annotations pydantic reads: each validator imports its class when a value comes
    ComparisonField = Annotated[
        Any,
        PlainValidator(_owned_later("agenteval.scoring.compare", "Comparison")),
        PlainSerializer(_to_dict),
    ]
    OutputScorecardField = Annotated[
        Any,
        PlainValidator(_owned_later("agenteval.outputs.scorecard", "OutputScorecard")),
        PlainSerializer(_to_dict),
    ]
    SettingsField = Annotated[  # re-rendering a run needs no settings: their module waits
        Any,
        PlainValidator(_none_or(_owned_later("agenteval.settings", "RunSettings"))),
        PlainSerializer(lambda value: None if value is None else _to_dict(value)),
    ]


class Part(BaseModel):
    """A frozen part of the record. Keys it does not name are kept as they are (the modules that
    fill a part may add one before the schema names it); the keys it names are validated."""

    model_config = ConfigDict(frozen=True, extra="allow")

    def __getitem__(self, key: str) -> Any:
        # v1 readers indexed these parts as mappings (`record.headline["errors"]`); kept so that
        # code not yet converted reads the same values. New code reads attributes.
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None


# Records written before routers declared their capabilities name their backend only; of the
# routers of that time, these two were the offline ones.
OFFLINE_BEFORE_CAPABILITIES = ("lexical", "mock")


class RouterInfo(Part):
    """`Router.describe()`: backend and model, plus whatever else the router reports, and what
    its `Capabilities` declare: ``pricing`` ("none", "per-token", "unknown") and ``offline``."""

    backend: str | None = None  # None only in records built by hand (tests, tools)
    model: str | None = None
    prompt: str | None = None
    price_known: bool | None = None
    pricing: str | None = None  # None: a record built by hand, or an unknown older backend
    offline: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _declared_before_capabilities(cls, data: Any) -> Any:
        old = isinstance(data, Mapping) and "pricing" not in data
        if old and data.get("backend") in OFFLINE_BEFORE_CAPABILITIES:
            return {**data, "pricing": "none", "offline": True}
        return data


class UsageInfo(Part):
    """Tokens summed over the requests that were not answered from the cache."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0


def _usage_fields(value: object) -> object:
    return asdict(value) if isinstance(value, Usage) else value


UsageField = Annotated[UsageInfo, BeforeValidator(_usage_fields)]


class AgentInfo(Part):
    name: str
    description: str | None = None  # shown beside a confusion (written since v2)
    path: str
    line: int | None = None
    model: str | None = None
    examples: int = 0
    flags: tuple[str, ...] = ()
    listed: bool = True  # whether Claude Code lists it (False: its cases are scored `unlisted`)
    kind: Literal["agent", "skill"] = "agent"  # a skill is named by its label, `skill:NAME`


class ReadingFile(Part):
    """A file Claude Code skips or whose description it cuts, and the agent its author meant."""

    path: str
    agent: str
    reason: str | None = None  # the diagnostic code (skipped files)
    detail: str = ""
    message: str = ""  # what is cut (cut descriptions)


class DiagnosticInfo(Part):
    path: str
    line: int | None = None
    severity: str
    code: str
    message: str
    hint: str | None = None


class CatalogInfo(Part):
    fingerprint: str | None = None
    roots: tuple[str, ...] = ()
    agents: tuple[AgentInfo, ...] = ()
    diagnostics: tuple[DiagnosticInfo, ...] = ()
    # which reading routers were shown (`pipeline.reading`); None: recorded before it was said
    reading: str | None = None  # claude-code | recovered
    claude_code_version: str | None = None  # the CLI version whose reading was built
    skipped: tuple[ReadingFile, ...] = ()
    cut: tuple[ReadingFile, ...] = ()
    unlisted: tuple[str, ...] = ()  # agents Claude Code never lists
    unlisted_cases: int = 0  # selected cases that can never route under the routed reading
    catalog_errors: int | None = None  # lint errors: files the two readings disagree on

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.agents]

    @property
    def problems(self) -> tuple[DiagnosticInfo, ...]:
        """Diagnostics worth a reader's attention (warnings and errors)."""
        return tuple(d for d in self.diagnostics if d.severity != "info")


class CaseInfo(Part):
    total: int = 0
    selected: int = 0
    examples: int = 0
    dataset: int = 0
    generated: int = 0
    examples_without_user: int = 0
    with_checks: int = 0
    datasets: tuple[str, ...] = ()


class Headline(Part):
    """The numbers a reader looks at first (`scoring.gates.headline` + `output_headline`)."""

    accuracy: float | None = None
    accuracy_ci: Interval | None = None
    macro_precision: float | None = None
    macro_precision_ci: Interval | None = None
    macro_recall: float | None = None
    macro_recall_ci: Interval | None = None
    macro_f1: float | None = None
    macro_f1_ci: Interval | None = None
    micro_f1: float | None = None
    micro_f1_ci: Interval | None = None
    weighted_recall: float | None = None
    weighted_f1: float | None = None
    weighted_f1_ci: Interval | None = None
    trials_per_case: int = 1
    design_effect: float | None = None
    consistency: float | None = None
    pass_k: float | None = None
    pass_k_ci: Interval | None = None
    flaky: int = 0
    min_agent_recall: float | None = None
    min_agent_recall_agent: str | None = None
    error_rate: float | None = None
    error_rate_ci: Interval | None = None
    trials: int = 0
    cases: int = 0
    scored: int = 0
    errors: int = 0
    correct: int = 0
    output_pass_rate: float | None = None
    output_pass_rate_ci: Interval | None = None
    outputs_graded: int | None = None
    output_errors: int | None = None
    min_agent_output_pass_rate: float | None = None
    min_agent_output_pass_rate_agent: str | None = None
    judge_mean: float | None = None


class GateResult(Part):
    """One gate's verdict (`scoring.gates`; the regression gate adds its p-value)."""

    name: str
    metric: str
    threshold: float | None = None
    value: float | None = None
    p_value: float | None = None
    passed: bool
    message: str


class BaselineRef(Part):
    """The run this one was compared against."""

    run_id: str
    path: str


class Selection(Part):
    """`--only/--limit/--sample/--seed/--shard` of a v1 run (later runs keep them in their
    settings), kept so that `--resume` runs the same cases."""

    only: tuple[str, ...] = ()
    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    shard: tuple[int, int] | None = None  # (I, N) of `--shard I/N`


class OutputsInfo(Part):
    scorecard: OutputScorecardField
    recorded: str | None = None
    sample_data: bool = False
    oracle_routing: bool = False
    judge_models: tuple[str, ...] = ()
    agent_models: tuple[str, ...] = ()
    agent_inputs: dict[str, int] = {}  # outputs given the main model's `task` vs the `request`
    usage: UsageField = UsageInfo()
    cost_usd: float | None = None


class RunRecord(Part):
    """Everything about a run except its per-trial lines (those are `results.jsonl`).

    Unlike its parts, the record refuses keys it does not name: a new top-level field is a
    schema change (and a version bump), not something to slip in.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[3] = SCHEMA_VERSION
    run_id: str
    name: str
    status: Status
    created_at: str
    finished_at: str | None = None
    duration_s: float | None = None
    stopped_reason: str | None = None
    stop: str | None = None  # StopReason value: budget | fatal | interrupted
    settings: SettingsField = None  # None: recorded before settings were (v1)
    config: dict[str, Any] | None = None  # those runs' EvalConfig as given (+ base_dir)
    router: RouterInfo = RouterInfo()
    holdout: str = "none"
    catalog: CatalogInfo = CatalogInfo()
    cases: CaseInfo = CaseInfo()
    versions: dict[str, str] = {}
    usage: UsageField = UsageInfo()
    cost_usd: float | None = None
    headline: Headline = Headline()
    # the headline numbers of each origin's cases (examples, dataset, generated) when a run has
    # more than one, so cases of one origin never hide inside another's numbers
    by_origin: dict[str, Headline] = {}
    gates: tuple[GateResult, ...] = ()
    scorecard: ScorecardField | None = None
    baseline: BaselineRef | None = None
    selection: Selection | None = None  # v1 runs only
    comparison: ComparisonField | None = None
    outputs: OutputsInfo | None = None
    notes: tuple[str, ...] = ()

    def with_(self, **changes: Any) -> RunRecord:
        """A copy with some fields changed, validated like a record read from disk."""
        return RunRecord.model_validate({**dict(self), **changes})

    @property
    def trials(self) -> int:
        """Trials per case the run was asked for."""
        if self.settings is not None:
            return self.settings.trials
        return int((self.config or {}).get("trials") or 1)

    @property
    def failed_gates(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if not g.passed)


def parse_record(data: object, *, path: Any) -> RunRecord:
    """Validate a summary.json document, migrating it from an older schema first.

    Args:
        data: The parsed JSON.
        path: The file it came from, for error messages.

    Raises:
        RecordError: naming the file and the first bad field, or a version this cannot read.
    """
    if not isinstance(data, dict):
        raise RecordError("summary.json does not hold a JSON object", path=path)
    version = data.get("schema_version")
    if version not in MIGRATIONS and version != SCHEMA_VERSION:
        raise RecordError(
            f"summary.json has schema version {version}, this agenteval reads 1 to "
            f"{SCHEMA_VERSION}",
            path=path,
            hint="use the agenteval that wrote it (or a newer one)",
        )
    while data.get("schema_version") in MIGRATIONS:
        try:
            data = MIGRATIONS[data["schema_version"]](data)
        except (TypeError, ValueError, AttributeError) as exc:
            raise RecordError(
                f"summary.json (schema version {version}) cannot be migrated: {exc}",
                path=path,
                hint="restore the file, or re-run the eval",
            ) from exc
    try:
        return RunRecord.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise RecordError(
            f"summary.json field `{field}`: {first['msg']}{more}",
            path=path,
            hint="restore the file, or re-run the eval",
        ) from exc


def dump_record(record: RunRecord) -> dict[str, Any]:
    """The JSON document of a record (what `parse_record` reads back to an equal record)."""
    return record.model_dump(mode="json")
