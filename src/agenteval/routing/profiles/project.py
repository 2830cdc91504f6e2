"""The user's project around the catalog, as the CLI reads it for a routing decision.

In a git repository with a CLAUDE.md, Claude Code adds the CLAUDE.md text and a git-status block
to what the model reads, and says the folder is a git repository (CLAUDE_CODE.md, "The project
around the catalog"). `read_project` collects that context from the user's project folder;
`write_project` lays it out in a scratch project: the CLAUDE.md files byte for byte and, when the
user's project is a git repository, a repository of its own with one commit of those files by a
fixed author at a fixed date. Its status is therefore fixed and stated (branch `main`, clean, one
commit), never the user's live status: a profile must not change with every edit in the project.
Everything else in the scratch project (agent files, settings) is excluded from git, so what a
router writes there never shows in the status.

The working directory and memory path the model reads stay the scratch project's, not the
user's: the CLI really runs there, so the profile is what a real CLI sent byte for byte (the
capture's second run checks the replay), and the claude-cli router runs in a scratch project
too, so both routers show the model one path. What is lost is the user's folder name.

Files of the folders above the project go to the folders above the scratch project, which
`cli_process.scratch(depth=context.depth)` makes deep enough inside the scratch folder. A router
that runs the CLI per case calls `write_project(context, scratch.project)` once after making its
scratch project; `reset` leaves it in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

# What the CLI reads in the project folder and in each folder above it, down from the top
# (measured on 2.1.332, CLAUDE_CODE.md): a folder's CLAUDE.md, its .claude/CLAUDE.md, every
# .md below its .claude/rules/ and its CLAUDE.local.md. Folders below the project are not read
# when a session starts.
CLAUDE_MD_FILES = ("CLAUDE.md", ".claude/CLAUDE.md")
LOCAL_FILE = "CLAUDE.local.md"
RULES = Path(".claude") / "rules"
BRANCH = "main"
COMMIT_MESSAGE = "Project context"
_FIXED_GIT_ENV = {
    "GIT_AUTHOR_NAME": "agenteval",
    "GIT_AUTHOR_EMAIL": "agenteval@localhost",
    "GIT_COMMITTER_NAME": "agenteval",
    "GIT_COMMITTER_EMAIL": "agenteval@localhost",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


@dataclass(frozen=True, kw_only=True)
class ProjectContext:
    """What the CLI reads from a project around its agents: CLAUDE.md files and whether git."""

    # (path relative to the project, content); a folder above it is `../`, one per level
    files: tuple[tuple[str, bytes], ...] = ()
    git: bool = False

    @property
    def depth(self) -> int:
        """How many folders above the project hold a file of the context."""
        return max((rel.count("../") for rel, _ in self.files), default=0)

    @property
    def empty(self) -> bool:
        return not self.files and not self.git

    def describe(self) -> str:
        """One short line: `CLAUDE.md (2 files), git`, `git`, or `none`."""
        parts = []
        if self.files:
            n = len(self.files)
            parts.append(f"CLAUDE.md ({n} file{'s' if n != 1 else ''})")
        if self.git:
            parts.append("git")
        return ", ".join(parts) or "none"

    @property
    def digest(self) -> str:
        """A short digest of the context ("" when there is none): a changed CLAUDE.md changes it."""
        if self.empty:
            return ""
        h = hashlib.sha256(f"git={self.git}".encode())
        for path, data in self.files:
            h.update(b"\0" + path.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()[:12]


NO_CONTEXT = ProjectContext()


def is_git_repository(folder: Path) -> bool:
    """Whether ``folder`` or a folder above it holds a `.git` (a folder or a worktree's file)."""
    folder = folder.resolve()
    return any((d / ".git").exists() for d in (folder, *folder.parents))


def read_project(root: Path) -> ProjectContext:
    """The context the CLI would read in the project folder ``root``: the instruction files of
    every folder from the top of the file system down to ``root``, and whether it is in git."""
    root = root.resolve()
    files: list[tuple[str, bytes]] = []
    levels = [*reversed(root.parents), root]
    for up, folder in zip(range(len(levels) - 1, -1, -1), levels, strict=True):
        for path in instruction_files(folder):
            with contextlib.suppress(OSError):  # unreadable: the CLI cannot read it either
                files.append(("../" * up + path.relative_to(folder).as_posix(), path.read_bytes()))
    return ProjectContext(files=tuple(files), git=is_git_repository(root))


def instruction_files(folder: Path) -> list[Path]:
    """One folder's instruction files, in the order the CLI shows them."""
    rules = folder / RULES
    found = [folder / name for name in CLAUDE_MD_FILES]
    found += sorted(rules.rglob("*.md")) if rules.is_dir() else []
    found.append(folder / LOCAL_FILE)
    return [p for p in found if p.is_file()]


def write_project(context: ProjectContext, project: Path) -> None:
    """Lay ``context`` out in the scratch project folder ``project`` (see the module docstring).

    Raises:
        OSError: when a file cannot be written or git cannot run.
        subprocess.CalledProcessError: when a git command fails.
    """
    for name, data in context.files:
        target = (project / name).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if not context.git:
        return
    _git(project, "init", "--quiet", f"--initial-branch={BRANCH}")
    (project / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (project / ".git" / "info" / "exclude").write_text("/*\n", encoding="utf-8")
    for name, _ in context.files:
        if not name.startswith("../"):  # the repository is the project folder's own
            _git(project, "add", "--force", "--", name)
    _git(project, "commit", "--quiet", "--allow-empty", "--no-gpg-sign", "-m", COMMIT_MESSAGE)


def _git(project: Path, *args: str) -> None:
    env = {**os.environ, **_FIXED_GIT_ENV}
    subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)
