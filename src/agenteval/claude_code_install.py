"""The user's Claude Code install: which `claude`, which version, the environment it runs in.

One place answers for the catalog's reading, profile capture and the claude-cli router, so all
three use one binary by one rule: the explicit option, `$AGENTEVAL_CLAUDE`, `./.tools`, then PATH.
Finding the binary only looks at files; asking its version runs it once per binary (cached by
path, size and modification time), which callers do as a named step, never in a constructor.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from agenteval.errors import RouterError

CLAUDE_ENV = "AGENTEVAL_CLAUDE"
OPTION = "router.claude"
VERSION_FILE = "claude-code-version"
VERSION_TIMEOUT_S = 60.0
LOCAL_BIN = Path(".tools") / "node_modules" / ".bin" / "claude"
# Keeps the CLI from reaching anything but the base URL it is given (CLAUDE_CODE.md).
QUIET_ENV = {
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
}
# What the user set that changes which model an alias means, so the CLI resolves as theirs does.
PASSED_ENV = re.compile(r"^ANTHROPIC_DEFAULT_(SONNET|OPUS|HAIKU)_MODEL$")
_VERSION = re.compile(r"\d+\.\d+\.\d+")


@dataclass(frozen=True, kw_only=True)
class ClaudeBinary:
    """A `claude` found on disk, and where it was found (not yet run)."""

    path: Path
    source: str  # router.claude | $AGENTEVAL_CLAUDE | ./.tools | PATH


@dataclass(frozen=True, kw_only=True)
class ClaudeCode:
    """The installed Claude Code: its binary, where that was found, and its version."""

    binary: Path
    source: str
    version: str

    def describe(self) -> dict[str, str]:
        """What a run records of it."""
        return {"version": self.version, "source": self.source, "binary": str(self.binary)}


def pinned_version() -> str:
    """The Claude Code version CI installs and tests against (data/claude-code-version)."""
    return (resources.files("agenteval") / "data" / VERSION_FILE).read_text("utf-8").strip()


def install_hint() -> str:
    """The command that installs the pinned CLI where agenteval looks for it."""
    return (
        "npm install --prefix .tools --no-audit --no-fund "
        f"@anthropic-ai/claude-code@{pinned_version()}"
        f" (or point {CLAUDE_ENV} or {OPTION} at an installed `claude`)"
    )


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_binary(
    explicit: str | os.PathLike[str] | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClaudeBinary:
    """Find `claude` without running it: the option, `$AGENTEVAL_CLAUDE`, `./.tools`, PATH.

    Args:
        explicit: The `router.claude` option, if given.
        cwd: The folder whose `.tools` is looked in (the working directory by default).
        environ: Where `$AGENTEVAL_CLAUDE` and PATH are read (the process's own by default).

    Raises:
        RouterError: when a path the user named is not executable (no silent fallback), or
            when no `claude` is found at all.
    """
    env = os.environ if environ is None else environ
    named: list[tuple[str, str]] = []
    if explicit:
        named.append((OPTION, os.fspath(explicit)))
    if env.get(CLAUDE_ENV):
        named.append((f"${CLAUDE_ENV}", env[CLAUDE_ENV]))
    for origin, text in named[:1]:
        path = Path(text).expanduser()
        if not _executable(path):
            raise RouterError(f"{origin} = {path} is not an executable file", hint=install_hint())
        return ClaudeBinary(path=path, source=origin)
    local = (cwd or Path.cwd()) / LOCAL_BIN
    if _executable(local):
        return ClaudeBinary(path=local, source="./.tools")
    found = shutil.which("claude", path=env.get("PATH", os.defpath))
    if found:
        return ClaudeBinary(path=Path(found), source="PATH")
    raise RouterError("the Claude Code CLI (`claude`) is not installed", hint=install_hint())


def ask_version(binary: Path) -> str:
    """`claude --version`: one run per binary (path, size, modification time) per process.

    Raises:
        RouterError: when the binary does not answer with a version.
    """
    st = binary.stat()
    return _ask_version(str(binary), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=16)
def _ask_version(path: str, size: int, mtime_ns: int) -> str:
    try:
        proc = subprocess.run(  # noqa: S603 - the user's own binary, no shell
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **QUIET_ENV},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RouterError(f"{path} --version failed: {exc}", hint=install_hint()) from exc
    m = _VERSION.search(proc.stdout)
    if proc.returncode != 0 or m is None:
        raise RouterError(
            f"{path} --version printed no version (exit {proc.returncode}): {proc.stderr[-300:]}",
            hint=install_hint(),
        )
    return m.group(0)


def identify(binary: ClaudeBinary, say: Callable[[str], object] | None = None) -> ClaudeCode:
    """The found binary with its version (runs `claude --version` unless cached), telling
    ``say`` that it asks.

    Raises:
        RouterError: when it does not answer with a version.
    """
    if say is not None:
        say(f"asking {binary.path} for its version")
    return ClaudeCode(binary=binary.path, source=binary.source, version=ask_version(binary.path))


def locate(
    explicit: str | os.PathLike[str] | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClaudeCode:
    """Find `claude` (see `find_binary`) and ask its version.

    Raises:
        RouterError: when none is found, or it does not answer with a version.
    """
    return identify(find_binary(explicit, cwd=cwd, environ=environ))


def installed() -> ClaudeCode | None:
    """The Claude Code the default rules find, None when there is none that answers."""
    try:
        return locate()
    except RouterError:
        return None


def child_env(*, home: Path, tmp: Path) -> dict[str, str]:
    """The whole environment a `claude` child runs in: nothing of the user's but PATH and the
    alias overrides; HOME and TMPDIR are the given scratch folders, so no `~/.claude` is read."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        **QUIET_ENV,
    }
    env.update({k: v for k, v in os.environ.items() if PASSED_ENV.match(k)})
    return env
