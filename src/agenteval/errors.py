"""Errors a user can act on, and the exit codes the CLI returns.

Every error names where the problem is (file and line when known) and how to fix it, so that the
CLI can print it as one line without a traceback.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import Any


class ExitCode(IntEnum):
    """Process exit codes of the ``agenteval`` command."""

    OK = 0
    GATE_FAILED = 1
    USAGE_ERROR = 2
    TOO_MANY_ERRORS = 3
    INTERRUPTED = 130


class AgentEvalError(Exception):
    """A problem with the user's input or environment, reported as one line.

    Args:
        message: What is wrong.
        path: The file at fault, if any.
        line: The 1-based line in that file, if known.
        hint: How to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        fix = f" (fix: {self.hint})" if self.hint else ""
        return f"{where}{self.message}{fix}"


class CatalogError(AgentEvalError):
    """The agent catalog cannot be loaded at all (missing folder, no agents)."""


class DatasetError(AgentEvalError):
    """A dataset file is malformed or names an agent that does not exist."""


class ConfigError(AgentEvalError):
    """An eval config or a command-line option is invalid."""


class RouterError(AgentEvalError):
    """A router cannot be built (unknown backend, missing API key, bad option)."""


class RecordError(AgentEvalError):
    """A run folder cannot be read (missing, or written by an incompatible version)."""


def read_user_file(path: Path | str, *, what: str, error: type[AgentEvalError], hint: str) -> str:
    """A file the user gave (a BOM dropped), or ``error`` naming it, why, and ``hint``.

    Raises:
        AgentEvalError: the ``error`` class given, when the file cannot be read.
    """
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror}", path=path, hint=hint) from exc


def parse_user_yaml(
    text: str, *, path: Path | str, error: type[AgentEvalError], hint: str
) -> tuple[Any, Any]:
    """The data and the node tree of a YAML file the user gave (the nodes hold line numbers),
    or ``error`` naming the file, the line and ``hint``.

    Raises:
        AgentEvalError: the ``error`` class given, when the text is not valid YAML.
    """
    import yaml

    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise error(
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            path=path,
            line=mark.line + 1 if mark else None,
            hint=hint,
        ) from exc
