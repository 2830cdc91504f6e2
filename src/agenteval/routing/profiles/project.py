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

A router that runs the CLI per case calls `write_project(read_project(root), scratch.project)`
once after making its scratch project (`cli_process.scratch`); `reset` leaves it in place.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

# The CLAUDE.md files of the project folder itself that the CLI reads.
CLAUDE_MD_FILES = ("CLAUDE.md", ".claude/CLAUDE.md")
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

    files: tuple[tuple[str, bytes], ...] = ()  # (path relative to the project, content)
    git: bool = False

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
    """The context the CLI would read in the project folder ``root``."""
    files = tuple(
        (name, (root / name).read_bytes()) for name in CLAUDE_MD_FILES if (root / name).is_file()
    )
    return ProjectContext(files=files, git=is_git_repository(root))


def write_project(context: ProjectContext, project: Path) -> None:
    """Lay ``context`` out in the scratch project folder ``project`` (see the module docstring).

    Raises:
        OSError: when a file cannot be written or git cannot run.
        subprocess.CalledProcessError: when a git command fails.
    """
    for name, data in context.files:
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    if not context.git:
        return
    _git(project, "init", "--quiet", f"--initial-branch={BRANCH}")
    (project / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (project / ".git" / "info" / "exclude").write_text("/*\n", encoding="utf-8")
    for name, _ in context.files:
        _git(project, "add", "--force", "--", name)
    _git(project, "commit", "--quiet", "--allow-empty", "--no-gpg-sign", "-m", COMMIT_MESSAGE)


def _git(project: Path, *args: str) -> None:
    env = {**os.environ, **_FIXED_GIT_ENV}
    subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)
