"""Test cases: `<example>` blocks pulled out of agent descriptions, plus hand-written datasets.

A case sends the router the user's message only. The assistant turn and the commentary of an
example name the answer ("I'll use the X agent"), so they never reach the router.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import hashlib
import html
import json
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agenteval.cases.checks import CheckSpecError, parse_checks
from agenteval.catalog import Agent, Catalog, Diagnostic
from agenteval.errors import DatasetError, read_user_file

NONE_LABEL = "none"
INVALID_LABEL = "invalid"
# the expected agent is one Claude Code never lists: the case can never route right
UNLISTED_LABEL = "unlisted"

_EXAMPLE = re.compile(r"<example>(.*?)(</example>|(?=<example>)|\Z)", re.S | re.I)
_COMMENTARY = re.compile(r"<commentary>(.*?)(?:</commentary>|(?=<commentary>)|\Z)", re.S | re.I)
_TURN = re.compile(r"(?<![A-Za-z])(context|user|human|assistant|agent|claude)\s*:", re.I)
_SPEAKER = {
    "context": "context",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "agent": "assistant",
    "claude": "assistant",
}
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "`": "`"}


class WrittenOrder(frozenset[str]):
    """A set of agent names that iterates in the order they were written.

    It compares, hashes and combines like a frozenset, so `expected` keeps its set semantics,
    while ``tuple(case.expected)`` lists the names as the file wrote them: the first one owns
    the case when several agents are acceptable (see DESIGN's scoring rules).
    """

    __slots__ = ("_order",)
    _order: tuple[str, ...]

    def __new__(cls, names: Iterable[str] = ()) -> WrittenOrder:
        order = tuple(dict.fromkeys(names))
        self = super().__new__(cls, order)
        self._order = order
        return self

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __repr__(self) -> str:
        return f"WrittenOrder({list(self._order)!r})"

    def __reduce__(self) -> tuple[type[WrittenOrder], tuple[tuple[str, ...]]]:
        return (type(self), (self._order,))


@dataclass(frozen=True, kw_only=True)
class Example:
    """One `<example>` block of an agent's description."""

    index: int
    context: str | None
    user: str | None
    assistant: str | None
    commentary: str | None
    line: int
    span: tuple[int, int]
    closed: bool = True
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Case:
    """One routing test: a request and the agents that may rightly receive it."""

    id: str
    prompt: str
    expected: frozenset[str]
    origin: Literal["example", "dataset"]
    source: str
    context: str | None = None
    tags: tuple[str, ...] = ()
    agent: str | None = None  # the agent whose example this is
    example_index: int | None = None
    checks: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def expects_none(self) -> bool:
        return self.expected == frozenset({NONE_LABEL})


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """A hand-written dataset file, validated but not yet checked against a catalog."""

    name: str
    path: Path
    cases: tuple[Case, ...]
    lines: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class CaseSet:
    """The cases of a run and what was noticed while building them."""

    cases: tuple[Case, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    examples_total: int = 0
    examples_without_user: int = 0


def extract_examples(agent: Agent, names: Collection[str] = ()) -> tuple[Example, ...]:
    """Every `<example>` block of the agent's description, in order.

    Args:
        agent: The agent whose description to read.
        names: Other agent names of the catalog, to tag examples whose assistant turn delegates
            to a different agent.
    """
    examples = []
    name_set = set(names)
    raw = agent.raw_frontmatter
    raw_positions = [m.start() for m in re.finditer(r"<example>", raw, re.I)]
    for i, (start, end, block, closed) in enumerate(_example_blocks(agent.description)):
        turns, commentary = _split_turns(block)
        users = turns.get("user", [])
        assistants = turns.get("assistant", [])
        assistant = "\n".join(assistants) or None
        tags = []
        lowered = f"{' '.join(commentary)} {assistant or ''}".lower()
        # proactive: the commentary says so, or the assistant did the work before delegating
        acted_first = (
            len(assistants) > 1
            and "agent" not in assistants[0].lower()
            and not (assistants[0].rstrip("\"' ").endswith("?"))
        )
        if "proactive" in lowered or acted_first:
            tags.append("proactive")
        if len(users) > 1:
            tags.append("multi-turn")
        mentioned = {w.rstrip(".") for w in re.findall(r"[\w.-]+", assistant or "")} & name_set
        if mentioned - {agent.name} and agent.name not in mentioned:
            tags.append("names-other-agent")
        line = agent.description_line
        if i < len(raw_positions):
            line = agent.line + 1 + raw[: raw_positions[i]].count("\n")
        examples.append(
            Example(
                index=i + 1,
                context=_clean(" ".join(turns.get("context", []))) or None,
                user=users[0] if users else None,
                assistant=assistant,
                commentary=_clean("\n".join(commentary)) or None,
                line=line,
                span=(start, end),
                closed=closed,
                tags=tuple(tags),
            )
        )
    return tuple(examples)


def _example_blocks(text: str) -> Iterable[tuple[int, int, str, bool]]:
    """(start, end, body, closed) of each `<example>` block: it ends at `</example>`, at the
    next `<example>` or at the end of the text, whichever comes first (found with `str.find`,
    several times faster than the equivalent lazy regex on long catalogs)."""
    low = text.lower()
    if len(low) != len(text):  # lower-casing moved characters: keep the regex
        for m in _EXAMPLE.finditer(text):
            yield m.start(), m.end(), m.group(1), bool(m.group(2))
        return
    at = low.find("<example>")
    while at >= 0:
        body = at + len("<example>")
        close = low.find("</example>", body)
        following = low.find("<example>", body)
        if close >= 0 and (following < 0 or close < following):
            yield at, close + len("</example>"), text[body:close], True
            at = low.find("<example>", close + len("</example>"))
        elif following >= 0:
            yield at, following, text[body:following], False
            at = following
        else:
            yield at, len(text), text[body:], False
            at = -1


def _split_turns(block: str) -> tuple[dict[str, list[str]], list[str]]:
    commentary = [c.group(1) for c in _COMMENTARY.finditer(block)]
    text = _COMMENTARY.sub("\n", block)
    turns: dict[str, list[str]] = {}
    markers = _turn_markers(text)
    for j, mk in enumerate(markers):
        end = markers[j + 1].start() if j + 1 < len(markers) else len(text)
        speaker = _SPEAKER[mk.group(1).lower()]
        value = _clean(text[mk.end() : end])
        if value:
            turns.setdefault(speaker, []).append(value)
    return turns, commentary


def _turn_markers(text: str) -> list[re.Match[str]]:
    """Turn markers, ignoring words like `user:` inside a quoted turn (`"set the user: field"`).

    A quoted turn ends at its quote character followed by a line break, a tag, the next marker
    or the end, so an apostrophe inside single quotes (`'I've added it'`) does not end it early.
    Linear in the text: the places where each kind of quote can end a turn are found in one
    scan, then looked up by position (an unclosed quote no longer rescans the rest per marker).
    """
    kept: list[re.Match[str]] = []
    closes: dict[str, list[int]] = {}
    skip_until = -1
    for mk in _TURN.finditer(text):
        if mk.start() < skip_until:
            continue
        kept.append(mk)
        spaces = _SPACES.match(text, mk.end())  # `\s*` always matches
        at = spaces.end() if spaces else mk.end()
        close = _QUOTES.get(text[at : at + 1])
        if close:
            if close not in closes:
                closes[close] = [m.start() for m in _quote_end(close).finditer(text)]
            ends = closes[close]
            k = bisect.bisect_left(ends, at + 1)
            skip_until = ends[k] if k < len(ends) else -1
    return kept


_SPACES = re.compile(r"\s*")


@functools.cache
def _quote_end(close: str) -> re.Pattern[str]:
    return re.compile(re.escape(close) + r"[ \t]*(?:\n|(?=<)|(?=" + _TURN.pattern + r")|$)", re.I)


_TAGS = re.compile(r"</?commentary>|</?example>", re.I)


def _clean(text: str) -> str:
    if "&" in text:
        text = html.unescape(text)
    text = _TAGS.sub("", text.strip()).strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


class _CaseRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    prompt: str = Field(min_length=1)
    expected: str | list[str]
    context: str | None = None
    tags: list[str] = []
    checks: list[dict[str, Any]] = []

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
    problems: list[tuple[int, str, str]] = []
    for row, line in zip(rows, lines, strict=True):
        if not isinstance(row, dict):
            problems.append((line, "a case must be a mapping", "write `- id: ..., prompt: ...`"))
            continue
        if row.get("expected", "") is None:
            row = {**row, "expected": NONE_LABEL}
        try:
            r = _CaseRow.model_validate(row)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(x) for x in err["loc"]) or "row"
            problems.append(
                (
                    line,
                    f"`{key}`: {err['msg']}",
                    "each case needs `prompt` and `expected` (a name, a list, or none); "
                    "allowed keys: id, prompt, expected, context, tags, checks",
                )
            )
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
        if r.checks:
            try:
                parse_checks(r.checks, where=f"case {case_id!r}")
            except CheckSpecError as exc:
                problems.append((line, exc.message, exc.hint))
                continue
        expected = [r.expected] if isinstance(r.expected, str) else r.expected
        cases.append(
            Case(
                id=f"{path.stem}/{case_id}",
                prompt=r.prompt.strip(),
                expected=WrittenOrder(e.strip() for e in expected),
                origin="dataset",
                source=f"{path}:{line}",
                context=r.context,
                tags=tuple(r.tags),
                checks=tuple(r.checks),
            )
        )
    if problems:
        line, message, hint = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise DatasetError(message + more, path=path, line=line, hint=hint)
    return Dataset(name=path.stem, path=path, cases=tuple(cases), lines=tuple(lines))


def _read_yaml(path: Path, text: str) -> tuple[list[Any], list[int]]:
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DatasetError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            path=path,
            line=mark.line + 1 if mark else None,
            hint="fix the YAML syntax (quote prompts that contain `: `)",
        ) from exc
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


def build_cases(catalog: Catalog, datasets: Iterable[Dataset] = ()) -> CaseSet:
    """Turn every example with a user turn, and every dataset row, into a case.

    Raises:
        DatasetError: when a dataset expects an agent the catalog does not have.
    """
    cases: list[Case] = []
    diags: list[Diagnostic] = []
    total = no_user = 0
    agent_names = catalog.names
    for agent in catalog.agents:
        for ex in extract_examples(agent, agent_names):
            total += 1
            if not ex.closed:
                diags.append(
                    Diagnostic(
                        path=agent.path,
                        line=ex.line,
                        severity="warning",
                        code="example-unclosed",
                        message=f"example {ex.index} of {agent.name} is not closed",
                        hint="add </example>",
                    )
                )
            if ex.user is None:
                no_user += 1
                empty = not (ex.context or ex.assistant or ex.commentary)
                diags.append(
                    Diagnostic(
                        path=agent.path,
                        line=ex.line,
                        severity="warning",
                        code="example-empty" if empty else "example-no-user",
                        message=f"example {ex.index} of {agent.name} "
                        + ("is empty" if empty else "has no user turn: not a routing case"),
                        hint="add a `user:` turn with the request that should reach this agent",
                    )
                )
                continue
            cases.append(
                Case(
                    id=f"{agent.name}/ex{ex.index}",
                    prompt=ex.user,
                    expected=WrittenOrder([agent.name]),
                    origin="example",
                    source=f"{agent.path}:{ex.line}",
                    context=ex.context,
                    tags=ex.tags,
                    agent=agent.name,
                    example_index=ex.index,
                )
            )
    names = set(catalog.names)
    for ds in datasets:
        for case, line in zip(ds.cases, ds.lines, strict=True):
            unknown = sorted(case.expected - names - {NONE_LABEL})
            if unknown:
                close = difflib.get_close_matches(unknown[0], sorted(names), n=1)
                hint = (
                    f"did you mean {close[0]!r}?"
                    if close
                    else "use an agent name from the catalog or `none`"
                )
                raise DatasetError(
                    f"case {case.id!r} expects agent {unknown[0]!r}, which is not in the catalog",
                    path=ds.path,
                    line=line,
                    hint=hint,
                )
            if NONE_LABEL in case.expected and len(case.expected) > 1:
                raise DatasetError(
                    f"case {case.id!r} mixes `none` with agent names",
                    path=ds.path,
                    line=line,
                    hint="expect either `none` or a list of agents",
                )
            cases.append(case)
    _refuse_duplicate_ids(cases)
    return CaseSet(
        cases=tuple(cases),
        diagnostics=tuple(diags),
        examples_total=total,
        examples_without_user=no_user,
    )


def _refuse_duplicate_ids(cases: Sequence[Case]) -> None:
    """Two sources making one case id would let one case silently replace the other."""
    first: dict[str, Case] = {}
    for case in cases:
        seen = first.setdefault(case.id, case)
        if seen is not case:
            path, _, line = case.source.rpartition(":")
            raise DatasetError(
                f"case id {case.id!r} comes from two sources: {seen.source} and {case.source}",
                path=path or case.source,
                line=int(line) if line.isdigit() else None,
                hint="give the cases different ids, or rename one of the dataset files",
            )


def select_cases(
    cases: Sequence[Case],
    *,
    only: Collection[str] = (),
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> tuple[Case, ...]:
    """Narrow a run to some agents, a random sample and/or the first N cases."""
    chosen = [c for c in cases if not only or (c.expected & set(only)) or c.agent in only]
    if sample is not None and sample < len(chosen):
        keyed = sorted(chosen, key=lambda c: hashlib.sha256(f"{seed}:{c.id}".encode()).digest())
        keep = {c.id for c in keyed[:sample]}
        chosen = [c for c in chosen if c.id in keep]
    if limit is not None:
        chosen = chosen[:limit]
    return tuple(chosen)
