"""The user's own files in the claude-cli scratch project, so Claude Code reads them itself.

Each agent's file is copied byte for byte to its path under the catalog folder, below the
project's `.claude/agents/`. For a holdout fold only the held-out `<example>` spans are cut from
the raw text. The spans are known in agenteval's (recovered) reading of the description; each is
located in the raw file as it stands, allowing for the indentation of a YAML block and for `\\n`
escapes of a quoted string. When a span cannot be located exactly once, or the file cannot be
read, that agent is written as agenteval reads it (`agent_file_text`) and a note says so: the
note goes into the case's record. A view built by hand (no source file) is written the same way.

Files are gathered as `ProjectFile`s first and written after, so other kinds (skills, plugins,
CLAUDE.md) can join the same list.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agenteval.routing.cli_process import agent_file_text
from agenteval.views import AgentSource, AgentView, CatalogView


@dataclass(frozen=True, kw_only=True)
class ProjectFile:
    """One file of the scratch project: where it goes (relative) and its bytes."""

    rel: PurePosixPath
    data: bytes


def agent_files(view: CatalogView) -> tuple[tuple[ProjectFile, ...], tuple[str, ...]]:
    """The view's agent files under the agents folder, and a note for each written as
    agenteval's reading instead of the user's bytes."""
    files: list[ProjectFile] = []
    notes: list[str] = []
    taken: set[PurePosixPath] = set()
    for i, agent in enumerate(view.agents):
        source = view.source_of(agent.name)
        data, note = _user_bytes(agent, source)
        if data is None:
            data = agent_file_text(agent).encode("utf-8")
        if note:
            notes.append(note)
        rel = PurePosixPath(source.rel if source else f"agent-{i:04d}.md")
        if rel in taken:  # one name in two catalog folders: both kept, in a subfolder
            rel = PurePosixPath(f"folder-{i:04d}") / rel
        taken.add(rel)
        files.append(ProjectFile(rel=rel, data=data))
    return tuple(files), tuple(notes)


def files_digest(view: CatalogView) -> str:
    """What the written files hold, for a cache key: the user's bytes and the cuts."""
    h = hashlib.sha256()
    for f in agent_files(view)[0]:
        h.update(f"{f.rel}\0{len(f.data)}\0".encode())
        h.update(f.data)
    return h.hexdigest()


def write_files(files: Iterable[ProjectFile], folder: Path) -> None:
    for f in files:
        path = folder.joinpath(*f.rel.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.data)


def write_user_agents(view: CatalogView, agents_dir: Path) -> tuple[str, ...]:
    """Write the view's agent files under ``agents_dir``; the notes of `agent_files`."""
    files, notes = agent_files(view)
    agents_dir.mkdir(parents=True, exist_ok=True)
    write_files(files, agents_dir)
    return notes


def _user_bytes(agent: AgentView, source: AgentSource | None) -> tuple[bytes | None, str]:
    """The user's file with the held-out spans cut, or None and why not."""
    if source is None:
        return None, ""
    fallback = f"{source.path}: written as agenteval's reading of {agent.name!r}"
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        return None, f"{fallback}, the file cannot be read ({exc.strerror or exc})"
    if not source.held_out:
        return data, ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, f"{fallback}, it is not UTF-8 text, so no example could be cut from it"
    for span in source.held_out:
        found = list(re.finditer(_span_pattern(span), text))
        if len(found) != 1:
            where = "nowhere" if not found else f"{len(found)} times"
            return None, f"{fallback}, a held-out example is found {where} in its raw text"
        text = text[: found[0].start()] + text[found[0].end() :]
    return text.encode("utf-8"), ""


def _span_pattern(span: str) -> str:
    """The span as it may stand in the raw file: each line break followed by any indentation
    (a YAML block), or written as a `\\n` escape (a quoted string)."""
    lines = span.split("\n")
    return r"(?:\r?\n[ \t]*|\\n)".join(re.escape(line.lstrip(" \t")) for line in lines)
