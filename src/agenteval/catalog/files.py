"""Which files make a catalog: the discovery both readings share.

Claude Code scans its agents folder recursively, hidden folders and symbolic links included, and
reads only `.md` files. Here each folder is read once (by its real path), so a link back into a
folder already read is reported instead of followed forever; a link that points nowhere is
reported too. Files come out sorted by their path below the root, by code point (the order in
which the CLI lets a later file with the same name replace an earlier one).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from agenteval.catalog.diagnostics import Diagnostic, diagnostic
from agenteval.errors import CatalogError


@dataclass(frozen=True, kw_only=True)
class AgentFile:
    """One `.md` file found under a root, with its path relative to that root."""

    path: Path
    relative: str


@dataclass(frozen=True, kw_only=True)
class Discovery:
    """The agent files under some roots, and the links that could not be followed."""

    files: tuple[AgentFile, ...]
    diagnostics: tuple[Diagnostic, ...] = ()


def find_agent_files(paths: Iterable[Path]) -> Discovery:
    """Every `.md` file under the given folders (recursively) or the given files themselves.

    Raises:
        CatalogError: when a given path does not exist.
    """
    files: list[AgentFile] = []
    diags: list[Diagnostic] = []
    for root in (Path(p) for p in paths):
        if root.is_dir():
            found: list[AgentFile] = []
            _walk(root, "", {os.path.realpath(root)}, found, diags)
            files.extend(sorted(found, key=lambda f: f.relative))
        elif root.is_file():
            files.append(AgentFile(path=root, relative=root.name))
        else:
            raise CatalogError(
                "agents path does not exist",
                path=root,
                hint="pass --agents with a folder of Claude Code agent .md files",
            )
    return Discovery(files=tuple(files), diagnostics=tuple(diags))


def _walk(
    folder: Path, prefix: str, seen: set[str], out: list[AgentFile], diags: list[Diagnostic]
) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        relative = prefix + entry.name
        is_link = entry.is_symlink()
        if is_link and not path.exists():
            diags.append(
                diagnostic(
                    "dangling-link",
                    path,
                    None,
                    f"symbolic link to {os.readlink(path)} points nowhere",
                )
            )
            continue
        if entry.is_dir():
            real = os.path.realpath(path)
            if real in seen:  # an ancestor: following it would never end
                if is_link:
                    diags.append(
                        diagnostic(
                            "symlink-loop",
                            path,
                            None,
                            f"symbolic link leads back to {real}, a folder already read",
                        )
                    )
                continue
            _walk(path, relative + "/", seen | {real}, out, diags)
        elif entry.name.endswith(".md") and entry.is_file():
            out.append(AgentFile(path=path, relative=relative))
