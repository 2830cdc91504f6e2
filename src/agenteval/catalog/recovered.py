"""The catalog as its author meant it: the lenient reading agenteval did before it knew better.

Real catalogs are messy (see FORMATS.md in the design notes): many files are not strict YAML, use
CRLF, write line breaks as a literal backslash-n, or continue the description on lines that look
like keys. This reading parses strictly first, recovers leniently second, and attaches a
`Diagnostic` to every file it had to recover or could not use. It is what `lint --fix` aims for
and what `catalog.reading: recovered` routes; Claude Code's own reading is in `claude_code.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from agenteval.catalog.claude_code import tools_text
from agenteval.catalog.diagnostics import Diagnostic, Severity
from agenteval.catalog.yaml12 import MAX_DEPTH, MAX_NODES, expanded_size, too_deep

# Frontmatter keys Claude Code knows; a column-0 `key:` line with one of these starts a new key.
KNOWN_KEYS = frozenset(
    {
        "name",
        "description",
        "tools",
        "disallowedTools",
        "model",
        "permissionMode",
        "maxTurns",
        "skills",
        "mcpServers",
        "hooks",
        "memory",
        "background",
        "effort",
        "isolation",
        "color",
        "initialPrompt",
        "category",
        "version",
        "author",
        "tags",
    }
)
# Words that start conversation turns inside descriptions; at column 0 they look like YAML keys
# but are continuation lines of the description.
TURN_WORDS = frozenset(
    {
        "context",
        "user",
        "assistant",
        "agent",
        "human",
        "claude",
        "commentary",
        "example",
        "examples",
        "<example>",
        "</example>",
    }
)
_KEY_LINE = re.compile(r"^([A-Za-z_][\w.-]*)\s*:(?:\s|$)")
_FENCE = re.compile(r"^---\s*$")


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader where PyYAML has it


def _safe_load(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader


@dataclass(frozen=True, kw_only=True)
class Agent:
    """One subagent as its file defines it, normalised."""

    name: str
    description: str
    tools: tuple[str, ...] = ()
    disallowed_tools: tuple[str, ...] = ()
    model: str | None = None
    body: str = ""
    path: Path
    line: int = 1
    description_line: int = 1
    raw_frontmatter: str = field(default="", repr=False, compare=False)
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)
    diagnostics: tuple[Diagnostic, ...] = ()
    shown_tools: str | None = None  # set in Claude Code's reading: its exact `(Tools: ...)` text
    plugin: str | None = None  # the plugin it comes from (`name` is then `plugin:...:short`)

    kind: ClassVar[str] = "agent"

    @property
    def label(self) -> str:
        """The scorecard label: the agent's name (skills are `skill:NAME`)."""
        return self.name

    @property
    def short_name(self) -> str:
        """The name without a plugin's `plugin:subfolders:` prefix."""
        return self.name.rsplit(":", 1)[-1] if self.plugin else self.name

    @property
    def tools_text(self) -> str:
        """The tools as Claude Code shows them to the routing model."""
        if self.shown_tools is not None:
            return self.shown_tools
        return tools_text(self.tools, self.disallowed_tools)


@dataclass
class _Diagnostics:
    """The diagnostics of one file, as they are found."""

    path: Path
    found: list[Diagnostic] = field(default_factory=list)

    def add(
        self, line: int | None, severity: Severity, code: str, message: str, hint: str = ""
    ) -> None:
        self.found.append(
            Diagnostic(
                path=self.path,
                line=line,
                severity=severity,
                code=code,
                message=message,
                hint=hint,
            )
        )


@dataclass(frozen=True, kw_only=True)
class _Frontmatter:
    """Where a file's frontmatter stands, and the body after it."""

    lines: list[str]
    start: int  # 0-based line of the opening fence
    body: str
    crlf: bool

    @property
    def first_line(self) -> int:
        """The 1-based file line of the first frontmatter line."""
        return self.start + 2


def parse_agent_file(
    path: Path, data: bytes | None = None
) -> tuple[Agent | None, list[Diagnostic]]:
    """Parse one file (its bytes `data`, read from `path` when not given).

    Returns:
        The agent (None when the file is not usable) and the file's diagnostics.
    """
    diags = _Diagnostics(path)
    fm = _frontmatter_of(path.read_bytes() if data is None else data, diags)
    meta = _meta_of(fm, diags) if fm is not None else None
    if fm is None or meta is None:
        return None, diags.found
    key_lines = _key_lines(fm.lines, fm.first_line)
    named = _name_and_description(path, meta, key_lines, fm.first_line, diags)
    if named is None:
        return None, diags.found
    name, description = named
    model = meta.get("model")
    agent = Agent(
        name=name,
        description=description,
        tools=_tool_list(meta.get("tools")),
        disallowed_tools=_tool_list(meta.get("disallowedTools")),
        model=str(model).strip() if model not in (None, "") else None,
        body=fm.body,
        path=path,
        line=fm.start + 1,
        description_line=key_lines.get("description", fm.first_line),
        raw_frontmatter="\n".join(fm.lines),
        extra={k: v for k, v in meta.items() if k not in _SHOWN_KEYS},
        diagnostics=tuple(diags.found),
    )
    return agent, diags.found


_SHOWN_KEYS = frozenset({"name", "description", "tools", "disallowedTools", "model"})


def _frontmatter_of(data: bytes, diags: _Diagnostics) -> _Frontmatter | None:
    """The frontmatter's lines and the body, or None (said) when there is none to read."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        diags.add(
            None,
            "error",
            "unparseable",
            f"file is not UTF-8 ({exc.reason} at byte {exc.start})",
            "save the file as UTF-8",
        )
        return None
    text = text.removeprefix("\ufeff")
    crlf = "\r\n" in text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if start is None or not _FENCE.match(lines[start]):
        diags.add(
            1,
            "warning",
            "no-frontmatter",
            "no YAML frontmatter: not an agent, skipped",
            "start the file with a `---` block holding `name:` and `description:`",
        )
        return None
    end = next((i for i in range(start + 1, len(lines)) if _FENCE.match(lines[i])), None)
    if end is None:
        diags.add(
            start + 1,
            "error",
            "unparseable",
            "frontmatter opened with `---` is never closed",
            "add a closing `---` line after the frontmatter",
        )
        return None
    return _Frontmatter(
        lines=lines[start + 1 : end],
        start=start,
        body="\n".join(lines[end + 1 :]).strip("\n"),
        crlf=crlf,
    )


def _meta_of(fm: _Frontmatter, diags: _Diagnostics) -> dict[str, Any] | None:
    """The frontmatter's keys, strictly or leniently read, or None (said) when refused."""
    raw, first = "\n".join(fm.lines), fm.first_line
    if too_deep(raw):
        diags.add(
            first,
            "error",
            "yaml-too-deep",
            f"frontmatter's YAML collections are nested more than {MAX_DEPTH:,} deep: refused",
            "write the value flat: no agent file needs collections inside collections this deep",
        )
        return None
    if expanded_size(raw) > MAX_NODES:
        diags.add(
            first,
            "error",
            "alias-bomb",
            f"frontmatter's YAML aliases expand to more than {MAX_NODES:,} values: refused",
            "write the values out instead of using anchors and aliases",
        )
        return None
    meta, recovered, continuation_line = _parse_frontmatter(fm.lines)
    if meta is None:
        diags.add(
            first,
            "error",
            "unparseable",
            "frontmatter is neither YAML nor recoverable",
            "write the frontmatter as `key: value` lines",
        )
        return None
    if recovered:
        diags.add(
            first,
            "warning",
            "yaml-recovered",
            "frontmatter is not strict YAML; recovered leniently",
            'quote the description (e.g. `description: "..."`) or use a `|` block scalar',
        )
    if continuation_line is not None:
        diags.add(
            first + continuation_line,
            "warning",
            "continuation-lines",
            "description continues on unindented lines that look like new keys; "
            "Claude Code will likely misread this file",
            "indent the continuation lines or use `description: |`",
        )
    if fm.crlf and recovered:
        diags.add(
            first,
            "warning",
            "crlf-unquoted",
            "CRLF line endings with an unquoted `: ` value; "
            "Claude Code reportedly skips such files",
            "convert the file to LF line endings, or quote the value",
        )
    return meta


def _name_and_description(
    path: Path,
    meta: Mapping[str, Any],
    key_lines: Mapping[str, int],
    first_line: int,
    diags: _Diagnostics,
) -> tuple[str, str] | None:
    """The agent's name and normalised description, or None (said) when one is missing."""
    name, description = meta.get("name"), meta.get("description")
    if name is None or str(name).strip() == "":
        diags.add(
            first_line,
            "error",
            "missing-name",
            "frontmatter has no `name`: skipped",
            "add `name: your-agent-name`",
        )
        return None
    if description is None or str(description).strip() == "":
        diags.add(
            key_lines.get("name", first_line),
            "error",
            "missing-description",
            "frontmatter has no `description`: skipped",
            "add a `description:` saying when to use it",
        )
        return None
    name = str(name).strip()
    if name.startswith("-") or ":" in name:
        diags.add(
            key_lines.get("name"),
            "warning",
            "invalid-name",
            f"name {name!r} starts with '-' or contains ':'; Claude Code will not load it",
            "use letters, digits, '-', '_' and '.' only",
        )
    if name != path.stem:
        diags.add(
            key_lines.get("name"),
            "info",
            "name-mismatch",
            f"name {name!r} differs from the file name {path.name!r}",
            "rename the file to match (optional)",
        )
    return name, _description_text(description, key_lines.get("description"), diags)


def _description_text(description: Any, line: int | None, diags: _Diagnostics) -> str:
    """The description as normalised text (a YAML list joined by lines, any other value as
    its text, said), noting a description without <example> blocks."""
    if not isinstance(description, str):
        diags.add(
            line,
            "warning",
            "description-not-text",
            f"description is a YAML {type(description).__name__}, not text; read as text",
            "write the description as one string (quote it, or use `description: |`)",
        )
        if isinstance(description, list):
            description = "\n".join(str(item) for item in description)
    text = normalise_text(str(description))
    if "<example" not in text.lower():
        diags.add(
            line,
            "info",
            "no-examples",
            "description has no <example> blocks: the agent yields no cases but stays a target",
            "add <example> blocks with Context / user / assistant turns",
        )
    return text


def normalise_text(text: str) -> str:
    """Literal ``\\n`` sequences become newlines; CR, BOM and trailing spaces go."""
    text = text.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\\r\\n", "\n").replace("\\n", "\n").replace('\\"', '"')
    return "\n".join(ln.rstrip() for ln in text.split("\n")).strip()


def _tool_list(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, dict):  # `tools: {Read: true, Bash: false}`
        items: list[Any] = [k for k, on in value.items() if on]
    else:
        items = value if isinstance(value, list) else str(value).split(",")
    return tuple(s for s in (str(i).strip() for i in items) if s)


def _key_lines(fm_lines: Sequence[str], first_line: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, ln in enumerate(fm_lines):
        m = _KEY_LINE.match(ln)
        if m and m.group(1) not in found:
            found[m.group(1)] = first_line + i
    return found


def _parse_frontmatter(fm_lines: Sequence[str]) -> tuple[dict[str, Any] | None, bool, int | None]:
    """Return (metadata, recovered_leniently, index of first column-0 continuation line)."""
    text = "\n".join(fm_lines)
    try:
        meta = _safe_load(text) if text.strip() else {}
    except yaml.YAMLError:
        meta = None
    if isinstance(meta, dict) and not any(str(k).lower() in TURN_WORDS for k in meta):
        return {str(k): v for k, v in meta.items()}, False, None
    lenient, continuation = _parse_lenient(fm_lines)
    if not lenient:
        return None, True, continuation
    return lenient, True, continuation


@dataclass(frozen=True, kw_only=True)
class KeySpan:
    """One top-level key of a frontmatter as a forgiving reader splits it.

    `start` is the index of its `key:` line, `stop` the index where the next key starts (or the
    end); `lines` are the indices in between that belong to its value (column-0 comments do not).
    """

    key: str
    start: int
    stop: int
    lines: tuple[int, ...]


def key_spans(fm_lines: Sequence[str]) -> tuple[tuple[KeySpan, ...], int | None]:
    """Split the frontmatter into keys the way a forgiving reader would.

    A column-0 ``word:`` line starts a new key unless the word is a conversation turn
    (``Context:``, ``user:``, ...); such lines continue the previous value. `lint --fix` rewrites
    exactly the description's span, so the lenient reading and the fix share this one rule.

    Returns:
        The keys in order, and the index of the first column-0 continuation line (or None).
    """
    starts: list[tuple[str, int]] = []
    owned: list[list[int]] = []
    continuation: int | None = None
    for i, ln in enumerate(fm_lines):
        m = _KEY_LINE.match(ln)
        if m and (m.group(1) in KNOWN_KEYS or m.group(1).lower() not in TURN_WORDS):
            starts.append((m.group(1), i))
            owned.append([i])
            continue
        if ln.startswith("#"):
            continue  # a column-0 comment (block-scalar content is indented)
        if ln.strip() and not ln[0].isspace() and continuation is None:
            continuation = i
        if owned:
            owned[-1].append(i)
    stops = [start for _, start in starts[1:]] + [len(fm_lines)]
    spans = tuple(
        KeySpan(key=key, start=start, stop=stop, lines=tuple(lines))
        for (key, start), stop, lines in zip(starts, stops, owned, strict=True)
    )
    return spans, continuation


def _parse_lenient(fm_lines: Sequence[str]) -> tuple[dict[str, Any], int | None]:
    """Parse each key's value of `key_spans` on its own."""
    spans, continuation = key_spans(fm_lines)
    meta: dict[str, Any] = {}
    for span in spans:
        meta[span.key] = _parse_value(span.key, [fm_lines[i] for i in span.lines])
    return meta, continuation


def _parse_value(key: str, chunk: list[str]) -> Any:
    try:
        parsed = _safe_load("\n".join(chunk))
        if isinstance(parsed, dict) and list(parsed) == [key]:
            return parsed[key]
    except yaml.YAMLError:
        pass
    first = chunk[0].split(":", 1)[1].strip()
    rest = [ln.strip() for ln in chunk[1:]]
    if first[:1] in ("|", ">"):
        first = ""
    value = "\n".join([first, *rest]).strip() if rest else first
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
        if chunk[0].split(":", 1)[1].strip()[:1] == "'":
            value = value.replace("''", "'")
    return value
