"""Hand-written dataset files (YAML or JSONL), validated row by row with the file and line."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agenteval.cases import NONE_LABEL, Case
from agenteval.cases.checks import CheckSpecError, parse_checks
from agenteval.errors import DatasetError, parse_user_yaml, read_user_file

_Problem = tuple[int, str, str]  # (line, message, fix) of a row that cannot be a case


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """A hand-written dataset file, validated but not yet checked against a catalog."""

    name: str
    path: Path
    cases: tuple[Case, ...]
    lines: tuple[int, ...]
    rejected: int = 0  # generated cases a reviewer rejected: left out of runs, and counted


class _CaseRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    prompt: str = Field(min_length=1)
    expected: str | list[str]
    context: str | None = None
    tags: list[str] = []
    checks: list[dict[str, Any]] = []
    provenance: dict[str, Any] | None = None  # set by `agenteval generate`
    review: Literal["pending", "accepted", "rejected"] | None = None

    @field_validator("expected")
    @classmethod
    def _non_empty(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and not v:
            raise ValueError("give at least one agent name, or `none`")
        return v


def load_dataset(path: Path) -> Dataset:
    """Read a YAML (``cases: [...]`` or a bare list) or JSONL dataset file.

    Raises:
        DatasetError: naming the file, the line and the fix for the first problem found.
    """
    path = Path(path)
    text = read_user_file(
        path,
        what="dataset",
        error=DatasetError,
        hint="check the path given with --dataset or in the config",
    )
    rows, lines = (read_jsonl if path.suffix == ".jsonl" else _read_yaml)(path, text)
    cases: list[Case] = []
    seen: dict[str, int] = {}
    problems: list[_Problem] = []
    rejected = 0
    for row, line in zip(rows, lines, strict=True):
        r = _case_row(row, line)
        if not isinstance(r, _CaseRow):
            problems.append(r)
            continue
        case_id = r.id or hashlib.sha256(r.prompt.encode()).hexdigest()[:10]
        if case_id in seen:
            problems.append(
                (
                    line,
                    f"duplicate case id {case_id!r} (first on line {seen[case_id]})",
                    "give every case a unique `id`",
                )
            )
            continue
        seen[case_id] = line
        if r.review == "rejected":
            rejected += 1
            continue
        if r.checks:
            try:
                parse_checks(r.checks, where=f"case {case_id!r}")
            except CheckSpecError as exc:
                problems.append((line, exc.message, exc.hint))
                continue
        cases.append(_case_of(r, case_id, path, line))
    if problems:
        line, message, hint = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise DatasetError(message + more, path=path, line=line, hint=hint)
    return Dataset(
        name=path.stem, path=path, cases=tuple(cases), lines=tuple(lines), rejected=rejected
    )


def _case_row(row: Any, line: int) -> _CaseRow | _Problem:
    """One row of the file, validated (`expected: null` read as `none`), or its problem."""
    if not isinstance(row, dict):
        return (line, "a case must be a mapping", "write `- id: ..., prompt: ...`")
    if row.get("expected", "") is None:
        row = {**row, "expected": NONE_LABEL}
    try:
        return _CaseRow.model_validate(row)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(x) for x in err["loc"]) or "row"
        return (
            line,
            f"`{key}`: {err['msg']}",
            "each case needs `prompt` and `expected` (a name, a list, or none); "
            "allowed keys: id, prompt, expected, context, tags, checks, provenance, "
            "review (pending, accepted or rejected)",
        )


def _case_of(r: _CaseRow, case_id: str, path: Path, line: int) -> Case:
    """The case a valid row holds; its id is the file's stem and the row's id."""
    expected = [r.expected] if isinstance(r.expected, str) else r.expected
    return Case(
        id=f"{path.stem}/{case_id}",
        prompt=r.prompt.strip(),
        expected=tuple(dict.fromkeys(e.strip() for e in expected)),
        origin="generated" if r.provenance is not None else "dataset",
        source=f"{path}:{line}",
        context=r.context,
        tags=tuple(r.tags),
        checks=tuple(r.checks),
    )


def _read_yaml(path: Path, text: str) -> tuple[list[Any], list[int]]:
    data, node = parse_user_yaml(
        text,
        path=path,
        error=DatasetError,
        hint="fix the YAML syntax (quote prompts that contain `: `)",
    )
    seq = node
    if isinstance(data, dict):
        if "cases" not in data or not isinstance(data["cases"], list):
            raise DatasetError(
                "dataset has no `cases:` list",
                path=path,
                line=1,
                hint="write `cases:` followed by `- id: ...` items",
            )
        seq = next(v for k, v in node.value if k.value == "cases")
        data = data["cases"]
    if not isinstance(data, list) or seq is None:
        raise DatasetError(
            "dataset must be a list of cases",
            path=path,
            line=1,
            hint="write `cases:` followed by `- id: ...` items",
        )
    return data, [item.start_mark.line + 1 for item in seq.value]


def read_jsonl(path: Path, text: str) -> tuple[list[Any], list[int]]:
    """JSON objects, one a line (blank lines skipped), with their 1-based line numbers.

    Raises:
        DatasetError: naming the file and line that is not JSON.
    """
    rows, lines = [], []
    for n, ln in enumerate(text.splitlines(), start=1):
        if not ln.strip():
            continue
        try:
            rows.append(json.loads(ln))
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"not valid JSON: {exc.msg}",
                path=path,
                line=n,
                hint="write one JSON object per line",
            ) from exc
        lines.append(n)
    return rows, lines
