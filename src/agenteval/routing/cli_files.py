"""The user's installation in the claude-cli scratch folder, so Claude Code reads it itself.

What the CLI reads for a routing decision is laid out as the user has it, each file byte for
byte: agent files below the project's `.claude/agents/` (at their path under the catalog
folder), skills and commands below `.claude/skills/` and `.claude/commands/`, and each plugin
(its manifest, agents, skills and commands) in a folder of its own, passed with `--plugin-dir`.
Nothing else of a plugin is copied: its hooks and servers play no part in the choice and must
not run. For a holdout fold only the held-out `<example>` spans are cut from the raw text. The
spans are known in agenteval's (recovered) reading of the description; each is located in the
raw file as it stands, allowing for the indentation of a YAML block and for `\\n` escapes of a
quoted string. When a span cannot be located exactly once, or the file cannot be read, that
agent is written as agenteval reads it (`agent_file_text`) and a note says so: the note goes
into the case's record. A view built by hand (no source files) is written the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agenteval.catalog.plugins import MANIFEST
from agenteval.routing.cli_process import agent_file_text, skill_file_text
from agenteval.views import AgentSource, AgentView, CatalogView

PROJECT = PurePosixPath("project")  # `Scratch.project`, below the scratch root
PLUGINS = PurePosixPath("plugins")


@dataclass(frozen=True, kw_only=True)
class ProjectFile:
    """One file of the scratch folder: where it goes (below the scratch root) and its bytes."""

    rel: PurePosixPath
    data: bytes


@dataclass(frozen=True, kw_only=True)
class Install:
    """A view's files as Claude Code finds them, the plugin folders to load, and a note for each
    file written as agenteval's reading instead of the user's bytes."""

    files: tuple[ProjectFile, ...]
    plugin_dirs: tuple[PurePosixPath, ...] = ()  # below the scratch root, for `--plugin-dir`
    notes: tuple[str, ...] = ()

    def plugin_args(self, root: Path) -> tuple[str, ...]:
        """`--plugin-dir DIR` for each plugin, with the scratch folder at ``root``."""
        return tuple(
            arg for d in self.plugin_dirs for arg in ("--plugin-dir", str(root.joinpath(*d.parts)))
        )


def install_files(view: CatalogView) -> Install:
    """Every file of the view's agents, skills and plugins, where the CLI finds them."""
    files: list[ProjectFile] = []
    notes: list[str] = []
    plugins: dict[Path, PurePosixPath] = {}
    taken: set[PurePosixPath] = set()
    for i, target in enumerate(view.targets):
        source = view.source_of(target.label)
        data, note = _user_bytes(target, source)
        if data is None:
            data = _reading_text(target).encode("utf-8")
        if note:
            notes.append(note)
        if source is not None and source.plugin is not None:
            folder = plugins.get(source.plugin)
            if folder is None:
                folder = plugins[source.plugin] = _plugin_folder(len(plugins), source.plugin)
                files += folder_files(source.plugin, folder, (MANIFEST.as_posix(),))
            files.append(ProjectFile(rel=folder / source.rel, data=data))
            continue
        rel = PurePosixPath(source.rel if source else _made_up(target, i))
        if rel in taken:  # one name in two catalog folders: both kept, in a subfolder
            rel = rel.parent / f"folder-{i:04d}" / rel.name
        taken.add(rel)
        files.append(ProjectFile(rel=PROJECT / ".claude" / rel, data=data))
    return Install(files=tuple(files), plugin_dirs=tuple(plugins.values()), notes=tuple(notes))


def files_digest(view: CatalogView) -> str:
    """What the written files hold, for a cache key: the user's bytes and the cuts."""
    h = hashlib.sha256()
    for f in install_files(view).files:
        h.update(f"{f.rel}\0{len(f.data)}\0".encode())
        h.update(f.data)
    return h.hexdigest()


def write_files(files: Iterable[ProjectFile], root: Path) -> None:
    for f in files:
        path = root.joinpath(*f.rel.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.data)


def write_install(view: CatalogView, root: Path) -> Install:
    """Write the view's installation below the scratch folder ``root`` (`install_files`)."""
    install = install_files(view)
    (root / PROJECT / ".claude" / "agents").mkdir(parents=True, exist_ok=True)
    write_files(install.files, root)
    return install


def folder_files(root: Path, dest: PurePosixPath, parts: Iterable[str]) -> list[ProjectFile]:
    """Every `.md` file below ``root``'s ``parts`` folders (and the plugin manifest, when one of
    the parts is it), byte for byte, at the same place below ``dest``: what the CLI may read
    there, whether agenteval's reading lists it or not."""
    files = []
    for part in parts:
        top = root / part
        found = [top] if top.is_file() else sorted(top.rglob("*.md")) if top.is_dir() else []
        for path in found:
            data = _read(path) if path.is_file() else None
            if data is not None:
                rel = PurePosixPath(path.relative_to(root).as_posix())
                files.append(ProjectFile(rel=dest / rel, data=data))
    return files


def plugin_files(i: int, plugin: Path) -> tuple[PurePosixPath, list[ProjectFile]]:
    """The ``i``-th plugin's folder and every file the CLI reads of it for a listing."""
    folder = _plugin_folder(i, plugin)
    return folder, folder_files(
        plugin, folder, (MANIFEST.as_posix(), "agents", "skills", "commands")
    )


def _plugin_folder(i: int, plugin: Path) -> PurePosixPath:
    """A plugin's folder keeps its own name (which names a plugin without a manifest name)."""
    return PLUGINS / f"{i:02d}" / plugin.name


def _made_up(target: AgentView, i: int) -> str:
    if target.kind == "skill":
        return f"skills/{target.name}/SKILL.md"
    return f"agents/agent-{i:04d}.md"


def _reading_text(target: AgentView) -> str:
    """A file that reads as ``target`` does in agenteval's reading."""
    return agent_file_text(target) if target.kind == "agent" else skill_file_text(target)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _user_bytes(target: AgentView, source: AgentSource | None) -> tuple[bytes | None, str]:
    """The user's file with the held-out spans cut, or None and why not."""
    if source is None:
        return None, ""
    fallback = f"{source.path}: written as agenteval's reading of {target.label!r}"
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
