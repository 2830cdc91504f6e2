"""Eval configs (`evals/*.yaml`): what to run, with which router, under which gates.

Validated with pydantic at the file boundary; every error names the file, the line of the key and
the fix. Relative paths in a config are relative to the config file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from agenteval.cases.checks import CheckTrust
from agenteval.errors import ConfigError, parse_user_yaml, read_user_file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, kw_only=True)
class Gate:
    """One release gate: a headline metric, the side on which it fails, and what its threshold
    is: a `rate` (a fraction from 0 to 1) or a `count` (a whole number from 0)."""

    name: str
    metric: str
    direction: Literal["min", "max"]  # "min" gates fail below the threshold, "max" above it
    help: str
    kind: Literal["rate", "count"] = "rate"


# The one table of gates: the config's `gates:` keys, `--fail-under`, the CLI help and the README
# all come from (or are checked against) it.
GATES: dict[str, Gate] = {
    g.name: g
    for g in (
        Gate(
            name="accuracy", metric="accuracy", direction="min", help="share of trials routed right"
        ),
        Gate(
            name="macro_recall",
            metric="macro_recall",
            direction="min",
            help="mean recall over agents",
        ),
        Gate(name="macro_f1", metric="macro_f1", direction="min", help="mean F1 over agents"),
        Gate(
            name="min_agent_recall",
            metric="min_agent_recall",
            direction="min",
            help="the worst agent's recall",
        ),
        Gate(
            name="max_error_rate",
            metric="error_rate",
            direction="max",
            help="share of trials whose request failed",
        ),
        Gate(
            name="min_output_pass_rate",
            metric="output_pass_rate",
            direction="min",
            help="share of graded outputs passing every check",
        ),
        Gate(
            name="min_agent_output_pass_rate",
            metric="min_agent_output_pass_rate",
            direction="min",
            help="the worst agent's output pass rate",
        ),
        Gate(
            name="max_catalog_errors",
            metric="catalog_errors",
            direction="max",
            kind="count",
            help="agent files Claude Code reads other than their author meant (lint errors)",
        ),
    )
}

# which reading of the agent files routers see (see `CatalogConfig`)
CatalogReading = Literal["claude-code", "recovered"]


class RouterConfig(BaseModel):
    """Which backend routes; every other key is an option of that backend, checked against
    its typed options when the run is resolved (an unknown key is an error naming the line)."""

    model_config = ConfigDict(extra="allow")

    backend: str | None = None

    def options(self) -> dict[str, Any]:
        """The backend's options as written (everything but `backend`)."""
        return dict(self.model_extra or {})


class OutputsConfig(_Strict):
    """Grading what agents write: which outputs, and who judges rubrics."""

    enabled: bool = True  # grade the outputs of cases that carry `checks:`
    recorded: str | None = None  # JSONL of outputs recorded elsewhere: grade these, call no agent
    sample_data: bool = False  # label the recorded outputs as sample data in reports
    oracle_routing: bool = False  # run the expected agent, whatever routing chose
    judge_model: str | None = None  # default: the run's model
    max_tokens: int | None = None
    # modules whose functions `python:` checks may run; a dataset can only name one ("*": any)
    trusted_check_modules: list[str] = []

    @field_validator("trusted_check_modules")
    @classmethod
    def _trusted(cls, v: list[str]) -> list[str]:
        CheckTrust.parse(v)  # its ValueError says what a valid entry looks like
        return v


class _GatesBase(_Strict):
    baseline: str | None = None
    max_regression: float | None = Field(default=None, ge=0, le=1)
    significance: float = Field(default=0.05, gt=0, lt=1)

    def thresholds(self) -> dict[str, float]:
        """The threshold gates that are set, by gate name."""
        return {name: v for name in GATES if (v := getattr(self, name)) is not None}


# Release gates; a run whose scores miss any of these exits with code 1. Built from GATES.
if TYPE_CHECKING:
    GatesConfig = _GatesBase
else:
    GatesConfig = create_model(
        "GatesConfig",
        __base__=_GatesBase,
        **{
            name: (
                (int | None, Field(default=None, ge=0, strict=True))
                if gate.kind == "count"
                else (float | None, Field(default=None, ge=0, le=1))
            )
            for name, gate in GATES.items()
        },
    )


class CatalogConfig(_Strict):
    """Which reading of the agent files routers see."""

    # claude-code: what the CLI shows the model (files it skips are absent, cut descriptions
    # cut); recovered: what the author meant, every agent whole
    reading: CatalogReading = "claude-code"


class EvalConfig(_Strict):
    """One eval: the catalog, the datasets, the router and the gates."""

    name: str | None = None  # default: the config file's name, else the catalog folder's
    agents: list[str] = []
    plugins: list[str] = []  # plugin or marketplace folders, read as Claude Code reads plugins
    datasets: list[str] | None = None
    examples: bool = True
    router: RouterConfig = RouterConfig()
    catalog: CatalogConfig = CatalogConfig()
    holdout: str | None = None
    trials: int = Field(default=1, ge=1, le=100)
    concurrency: int = Field(default=16, ge=1, le=512)
    max_cost_usd: float | None = Field(default=None, gt=0)
    cache: bool = True
    batch: bool = False
    batch_poll_s: float = Field(default=30.0, gt=0)
    cache_path: str | None = None
    out: str = "reports"
    gates: GatesConfig = Field(default_factory=GatesConfig)
    outputs: OutputsConfig = OutputsConfig()
    base_dir: str = Field(default=".", exclude=True)
    source: str | None = Field(default=None, exclude=True)  # the config file, when there is one
    lines: dict[str, int] = Field(default_factory=dict, exclude=True)  # "router.model" -> line

    @field_validator("holdout")
    @classmethod
    def _holdout(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from agenteval.views import Holdout  # views import the catalog: `--help` should not

        return str(Holdout.parse(v))

    def resolve(self, path: str) -> Path:
        """A path from the config, made relative to the config file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(os.path.normpath(Path(self.base_dir) / p))


def load_config(path: Path) -> EvalConfig:
    """Read and validate an eval config.

    Raises:
        ConfigError: naming the file, the line of the offending key and the fix.
    """

    path = Path(path)
    text = read_user_file(
        path,
        what="config",
        error=ConfigError,
        hint="give the path of an eval YAML file, e.g. evals/quickstart.yaml",
    )
    data, node = parse_user_yaml(text, path=path, error=ConfigError, hint="fix the YAML syntax")
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(
            "config must be a mapping of keys",
            path=path,
            line=1,
            hint="start with `name:`, `agents:`, `router:` ...",
        )
    try:
        parent = path.parent
        return EvalConfig.model_validate(
            {**data, "base_dir": str(parent), "source": str(path), "lines": _key_lines(node)}
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(x) for x in err["loc"]]
        key = ".".join(loc)
        hint = (
            "remove the key or fix its spelling"
            if err["type"] == "extra_forbidden"
            else ("see the `Files you write` section of the README for the allowed values")
        )
        raise ConfigError(
            f"`{key}`: {err['msg']}", path=path, line=_line_of(node, loc), hint=hint
        ) from exc


def _line_of(node: Any, loc: list[str]) -> int | None:
    import yaml

    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _key_lines(node: Any, prefix: str = "") -> dict[str, int]:
    """The 1-based line of every mapping key, as dotted paths (for errors found after loading)."""
    import yaml

    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                path = f"{prefix}{key.value}"
                lines[path] = key.start_mark.line + 1
                lines.update(_key_lines(value, path + "."))
    return lines
