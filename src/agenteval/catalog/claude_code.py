"""The catalog as Claude Code reads it: exactly what the model is shown, or that it is not.

The rules are facts measured by running the real CLI (see CLAUDE_CODE.md in the design notes and
tests/test_claude_code_conformance.py, which checks them against the installed CLI); nothing here
is Claude Code's code. Per file:

1. The text must start with `---` (a UTF-8 BOM is stripped from 2.1.332 on, fatal before); the
   frontmatter is the shortest text up to the next `---`, even one in the middle of a line.
2. It is parsed as YAML 1.2. On failure, one retry: leading tabs become spaces and every
   `key: value` line whose value holds a special character or `": "` is double-quoted, unless
   the value is wrapped in quotes or `[...]` (`{...}` is quoted); lines ending in CR are not
   touched. If that fails too the file is skipped.
3. `name` and `description` must be non-empty strings; a name starting with `-` (or holding `:`
   from 2.1.332 on) is dropped. Each two-character `\\n` of the description becomes a newline;
   nothing else changes.
4. Repeated keys keep their last value. Of two files with one name, the one whose path sorts
   last wins from 2.1.332 on; before, the first one read.

The listing is ordered by a JavaScript-`localeCompare`-like collation (`listing_key`: non-ASCII
after ASCII from 2.1.332 on, accents folded before).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from agenteval.catalog.collation import Key as CollationKey
from agenteval.catalog.collation import accent_folding_key, collation_key
from agenteval.catalog.diagnostics import Diagnostic
from agenteval.catalog.files import AgentFile, find_agent_files
from agenteval.catalog.yaml12 import RefusedYamlError, load_yaml12, retry_text
from agenteval.claude_code_install import installed, pinned_version

Status = Literal["listed", "skipped", "overridden"]
# Rules that changed between the two measured CLI versions (2.1.197 and 2.1.332): the newer rule
# applies from the newer measured version on.
BOM_STRIPPED_SINCE = (2, 1, 332)
COLON_NAME_DROPPED_SINCE = (2, 1, 332)
LAST_PATH_WINS_SINCE = (2, 1, 332)  # of two files with one name; the first file read before
ASCII_FIRST_COLLATION_SINCE = (2, 1, 332)  # non-ASCII after ASCII; accents folded before

FRONTMATTER = re.compile(r"---\s*\n([\s\S]*?)---\s*\n?")


@dataclass(frozen=True, kw_only=True)
class FileReading:
    """What Claude Code makes of one agent file.

    `status` is `listed`, `skipped` (with the `reason` code and `detail`) or `overridden` (a
    later file with the same name wins). `retried` says the YAML needed the CLI's one retry;
    `fence_mid_line` that the frontmatter ended at a `---` inside a line.
    """

    path: Path
    relative: str
    status: Status
    name: str | None = None
    description: str | None = None
    tools_text: str | None = None
    reason: str | None = None
    detail: str = ""
    retried: bool = False
    fence_mid_line: bool = False
    keys: tuple[str, ...] = ()
    generic: bool = False  # a plugin agent listed with the CLI's generic description


@dataclass(frozen=True, kw_only=True)
class ListedAgent:
    """One agent in Claude Code's listing: the exact text the model is shown."""

    name: str
    description: str
    tools_text: str
    path: Path

    @property
    def line(self) -> str:
        """The listing entry, as Claude Code writes it."""
        return f"- {self.name}: {self.description} (Tools: {self.tools_text})"


@dataclass(frozen=True, kw_only=True)
class ClaudeCodeReading:
    """The catalog as one Claude Code version reads it."""

    version: str
    agents: tuple[ListedAgent, ...]  # in Claude Code's listing order
    files: tuple[FileReading, ...]  # in discovery order (by path)
    diagnostics: tuple[Diagnostic, ...] = ()  # file-system problems (links)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.agents)

    def get(self, name: str) -> ListedAgent | None:
        return next((a for a in self.agents if a.name == name), None)

    def file(self, path: Path) -> FileReading | None:
        return next((f for f in self.files if f.path == path), None)

    @property
    def not_listed(self) -> tuple[FileReading, ...]:
        """Files Claude Code never shows the model (skipped or overridden)."""
        return tuple(f for f in self.files if f.status != "listed")


# -- version ---------------------------------------------------------------------------------


def default_version() -> str:
    """The installed CLI's version (found as every other use finds it), else the pinned one."""
    found = installed()
    return found.version if found is not None else pinned_version()


def version_tuple(version: str) -> tuple[int, ...]:
    """`"2.1.332"` -> `(2, 1, 332)` (non-numeric parts end the tuple)."""
    parts: list[int] = []
    for part in version.split("."):
        digits = re.match(r"\d+", part)
        if not digits:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


# -- one file --------------------------------------------------------------------------------


def read_file(file: AgentFile, text: str, *, version: str) -> FileReading:
    """Claude Code's reading of one file whose decoded text is `text`."""
    v = version_tuple(version)
    if text.startswith("\ufeff"):
        if v < BOM_STRIPPED_SINCE:
            return _skipped(
                file, "cc-bom", f"Claude Code {version} does not strip a byte-order mark"
            )
        text = text[1:]
    m = FRONTMATTER.match(text)
    if m is None:
        if text.lstrip().startswith("---"):
            return _skipped(
                file, "cc-no-frontmatter", "text before the opening `---` (a blank line?)"
            )
        return _skipped(file, "cc-no-frontmatter", "the file does not start with a `---` block")
    frontmatter = m.group(1)
    mid_line = bool(frontmatter) and not frontmatter.endswith("\n")
    retried = False
    try:
        meta = load_yaml12(frontmatter)
    except RefusedYamlError as exc:
        return _skipped(file, exc.code, str(exc), fence_mid_line=mid_line)
    except ValueError:
        retried = True
        try:
            meta = load_yaml12(retry_text(frontmatter))
        except RefusedYamlError as exc:
            return _skipped(file, exc.code, str(exc), fence_mid_line=mid_line)
        except ValueError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "parse error"
            return _skipped(
                file,
                "cc-yaml-skipped",
                f"YAML fails even after Claude Code's retry ({first})",
                retried=True,
                fence_mid_line=mid_line,
            )
    if not isinstance(meta, Mapping):
        return _skipped(
            file, "cc-name-not-text", "the frontmatter is not a mapping", retried=retried
        )
    return _read_fields(file, meta, v, retried=retried, fence_mid_line=mid_line)


def _read_fields(
    file: AgentFile,
    meta: Mapping[Any, Any],
    v: tuple[int, ...],
    *,
    retried: bool,
    fence_mid_line: bool,
) -> FileReading:
    """Rule 3 on the parsed frontmatter ``meta``, read by version ``v``: the agent listed, or
    why the file is skipped."""
    keys = tuple(str(k) for k in meta)
    common: dict[str, Any] = {"retried": retried, "fence_mid_line": fence_mid_line, "keys": keys}
    name, description = meta.get("name"), meta.get("description")
    if not isinstance(name, str) or not name.strip():
        what = "missing" if name is None else f"a YAML {type(name).__name__}, not text"
        return _skipped(file, "cc-name-not-text", f"name is {what}", **common)
    if not isinstance(description, str) or not description.strip():
        what = "missing" if description is None else f"a YAML {type(description).__name__}"
        return _skipped(
            file, "cc-description-not-text", f"description is {what}", name=name, **common
        )
    if name.startswith("-"):
        return _skipped(file, "cc-name-dash", f"name {name!r} starts with '-'", name=name, **common)
    if ":" in name and v >= COLON_NAME_DROPPED_SINCE:
        return _skipped(file, "cc-name-colon", f"name {name!r} holds ':'", name=name, **common)
    return FileReading(
        path=file.path,
        relative=file.relative,
        status="listed",
        name=name,
        description=description.replace("\\n", "\n"),
        tools_text=tools_text(meta.get("tools"), meta.get("disallowedTools")),
        **common,
    )


def _skipped(file: AgentFile, reason: str, detail: str, **kw: Any) -> FileReading:
    """A file Claude Code skips, with the reason code and the detail."""
    return FileReading(
        path=file.path,
        relative=file.relative,
        status="skipped",
        reason=reason,
        detail=detail,
        **kw,
    )


def _tool_names(value: Any) -> list[str] | None:
    """None means "every tool"."""
    if value is None or isinstance(value, Mapping):
        return None
    if isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value]
    else:
        items = [s.strip() for s in str(value).split(",")]
    items = [s for s in items if s]
    return None if not items or items == ["*"] else items


def tools_text(tools: Any, disallowed: Any) -> str:
    """The `(Tools: ...)` text Claude Code shows for a `tools` / `disallowedTools` pair."""
    allowed, denied = _tool_names(tools), _tool_names(disallowed) or []
    if allowed is None:
        return "All tools except " + ", ".join(denied) if denied else "All tools"
    kept = [t for t in allowed if t not in denied]
    return ", ".join(kept) if kept else "None"


# -- listing order -----------------------------------------------------------------------------


def listing_key(version: str) -> Callable[[str], CollationKey]:
    """The sort key that orders names the way CLI `version` lists them (see `collation`)."""
    if version_tuple(version) >= ASCII_FIRST_COLLATION_SINCE:
        return collation_key
    return accent_folding_key


# -- the catalog -------------------------------------------------------------------------------


def read_texts(
    texts: Iterable[tuple[AgentFile, str]],
    *,
    version: str,
    diagnostics: tuple[Diagnostic, ...] = (),
) -> ClaudeCodeReading:
    """Claude Code's reading of files already read from disk (in discovery order)."""
    files = [read_file(f, text, version=version) for f, text in texts]
    return assemble(files, version=version, diagnostics=diagnostics)


def assemble(
    files: Iterable[FileReading], *, version: str, diagnostics: tuple[Diagnostic, ...] = ()
) -> ClaudeCodeReading:
    """The listing of some file readings: of two with one name the version's rule picks one
    (the later path from 2.1.332, the first read before); sorted by the version's collation."""
    files = list(files)
    last_wins = version_tuple(version) >= LAST_PATH_WINS_SINCE
    winner: dict[str, int] = {}
    for i, f in enumerate(files):
        if f.status == "listed" and f.name is not None and (last_wins or f.name not in winner):
            winner[f.name] = i
    final: list[FileReading] = []
    for i, f in enumerate(files):
        if f.status == "listed" and f.name is not None and winner[f.name] != i:
            kept = files[winner[f.name]]
            f = replace(
                f,
                status="overridden",
                reason="cc-overridden",
                detail=f"{kept.path} has the same name and wins ("
                + ("its path sorts later)" if last_wins else "it is read first)"),
            )
        final.append(f)
    order = listing_key(version)
    agents = sorted(
        (
            ListedAgent(
                name=f.name or "",
                description=f.description or "",
                tools_text=f.tools_text or "",
                path=f.path,
            )
            for f in final
            if f.status == "listed"
        ),
        key=lambda a: order(a.name),
    )
    return ClaudeCodeReading(
        version=version, agents=tuple(agents), files=tuple(final), diagnostics=diagnostics
    )


def decode(data: bytes) -> str:
    """Bytes as the CLI decodes them (UTF-8, invalid bytes replaced)."""
    return data.decode("utf-8", errors="replace")


def read_as_claude_code(paths: Iterable[Path], *, version: str | None = None) -> ClaudeCodeReading:
    """Read the agent files under `paths` the way Claude Code `version` does.

    Args:
        paths: folders (read recursively) or files.
        version: the CLI version whose rules apply; default: the installed CLI's, else the
            pinned one.

    Raises:
        CatalogError: when a path does not exist.
    """
    found = find_agent_files(paths)
    texts = [(f, decode(f.path.read_bytes())) for f in found.files]
    return read_texts(texts, version=version or default_version(), diagnostics=found.diagnostics)
