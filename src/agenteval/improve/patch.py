"""Writing a proposed description into its file, the way `lint --fix` writes, and proving that
Claude Code then lists it exactly as proposed with no new lint error."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agenteval.catalog import Agent, parse_agent_file
from agenteval.catalog.claude_code import decode
from agenteval.improve.verify import claude_code_reads
from agenteval.pipeline.lint import ChangedError, FixOutcome, replace_file, rewrite_description


@dataclass(frozen=True, kw_only=True)
class FileChange:
    """One agent file before and after a proposed description (or why it cannot be written)."""

    path: Path
    agent: str
    before: str
    after: str
    sha256: str  # of the file's bytes when the change was made: --apply refuses another
    problem: str | None = None

    @property
    def diff(self) -> str:
        """A unified diff whose paths are relative to the working folder where the file lies
        below it (so `git apply` and `patch -p1` take it from there)."""
        where = self.path.resolve()
        try:
            shown = str(where.relative_to(Path.cwd().resolve()))
        except ValueError:
            shown = str(where).lstrip("/")
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=f"a/{shown}",
                tofile=f"b/{shown}",
            )
        )


def rewrite_file(agent: Agent, description: str, *, version: str) -> FileChange:
    """The agent's file with `description` written in, checked by both readings."""
    data = agent.path.read_bytes()
    before = decode(data)
    digest = hashlib.sha256(data).hexdigest()

    def change(after: str, problem: str | None = None) -> FileChange:
        return FileChange(
            path=agent.path,
            agent=agent.name,
            before=before,
            after=after,
            sha256=digest,
            problem=problem,
        )

    after = rewrite_description(before, description)
    if after is None:
        return change(before, "its file has no single `description:` key to rewrite")
    problem = claude_code_reads(str(agent.path), after, agent.name, description, version=version)
    if problem:
        return change(after, problem)
    _, old = parse_agent_file(agent.path, data)
    _, new = parse_agent_file(agent.path, after.encode("utf-8"))
    added = {d.code for d in new if d.severity == "error"} - {
        d.code for d in old if d.severity == "error"
    }
    if added:
        return change(after, f"the new file has a lint error it did not have ({sorted(added)[0]})")
    return change(after)


def patch_text(changes: Sequence[FileChange]) -> str:
    """Every change as one unified diff (`git apply` / `patch -p1` take it)."""
    return "".join(c.diff for c in changes)


def apply_changes(changes: Sequence[FileChange]) -> tuple[FixOutcome, ...]:
    """Write each change whose file still holds what it held when the change was made.

    Returns:
        What became of each file: written, or not and why (the others are still written).
    """
    outcomes = []
    for c in changes:
        try:
            data = c.path.read_bytes()
            if hashlib.sha256(data).hexdigest() != c.sha256:
                raise ChangedError(c.path)
            replace_file(c.path, c.after.encode("utf-8"), data)
        except ChangedError:
            reason = "changed on disk since the proposal: not written"
            outcomes.append(FixOutcome(path=c.path, written=False, reason=reason))
        except OSError as exc:
            reason = f"not written ({exc.strerror or exc})"
            outcomes.append(FixOutcome(path=c.path, written=False, reason=reason))
        else:
            outcomes.append(FixOutcome(path=c.path, written=True))
    return tuple(outcomes)
