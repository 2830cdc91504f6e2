"""Running the user's installed Claude Code CLI headless, isolated, and reading what it did.

Everything here is about the `claude` process, none of it about scoring: where the binary is,
which version it is, a scratch HOME and project (the case's catalog view written as agent files
under `.claude/agents/`), an environment with telemetry, error reports, nonessential traffic and
the autoupdater off, and a project hook that holds delegations. Running it and reading its events
is `cli_stream`.

The API key travels only in the child's environment: it is never written to a file, an argument
or a log line.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from agenteval.errors import RouterError
from agenteval.views import AgentView

CLAUDE_ENV = "AGENTEVAL_CLAUDE"
DELEGATION_TOOLS = ("Agent", "Task")
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


def pinned_version() -> str:
    """The Claude Code version CI installs and tests against (data/claude-code-version)."""
    text = resources.files("agenteval").joinpath("data/claude-code-version").read_text("utf-8")
    return text.strip()


def install_hint() -> str:
    """The command that installs the pinned CLI where agenteval looks for it."""
    return (
        "npm install --prefix .tools --no-audit --no-fund "
        f"@anthropic-ai/claude-code@{pinned_version()}"
        f" (or point {CLAUDE_ENV} or router.claude at an installed `claude`)"
    )


def locate_claude(explicit: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Path:
    """Find the `claude` binary: the option, `$AGENTEVAL_CLAUDE`, `./.tools`, then PATH.

    Raises:
        RouterError: when none of them holds an executable `claude`.
    """
    base = cwd or Path.cwd()
    candidates: list[tuple[str, Path | None]] = []
    if explicit:
        candidates.append(("router.claude", Path(explicit).expanduser()))
    if os.environ.get(CLAUDE_ENV):
        candidates.append((f"${CLAUDE_ENV}", Path(os.environ[CLAUDE_ENV]).expanduser()))
    for origin, path in candidates:  # a path the user named must work: no silent fallback
        if path is None or not (path.is_file() and os.access(path, os.X_OK)):
            raise RouterError(f"{origin} = {path} is not an executable file", hint=install_hint())
        return path
    local = base / ".tools" / "node_modules" / ".bin" / "claude"
    if local.is_file() and os.access(local, os.X_OK):
        return local
    found = shutil.which("claude")
    if found:
        return Path(found)
    raise RouterError("the Claude Code CLI (`claude`) is not installed", hint=install_hint())


def cli_version(path: Path) -> str:
    """`claude --version`, cached per binary (path, size and modification time).

    Raises:
        RouterError: when the binary does not answer with a version.
    """
    st = path.stat()
    return _cli_version(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=16)
def _cli_version(path: str, size: int, mtime_ns: int) -> str:
    try:
        proc = subprocess.run(  # noqa: S603 - the user's own binary, no shell
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=60,
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


@dataclass(frozen=True, kw_only=True)
class Scratch:
    """A throwaway HOME, temp folder and project folder for one CLI run."""

    root: Path
    home: Path
    tmp: Path
    project: Path

    @property
    def agents_dir(self) -> Path:
        return self.project / ".claude" / "agents"


@contextlib.contextmanager
def scratch(
    parent: Path | None = None, *, name: str | None = None, keep: bool = False
) -> Iterator[Scratch]:
    """A fresh scratch layout under ``parent`` (the system temp folder by default), removed after
    use unless ``keep``.

    Args:
        parent: The folder to make it in.
        name: A fixed folder name (made afresh) instead of a random one: the project path is part
            of what the CLI sends, so runs that must send the same text share one.
        keep: Leave the files behind (for inspection).
    """
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    if name is None:
        root = Path(tempfile.mkdtemp(prefix="agenteval-claude-", dir=parent))
    else:
        root = (parent or Path(tempfile.gettempdir())) / name
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
    s = Scratch(root=root, home=root / "home", tmp=root / "tmp", project=root / "project")
    reset(s)
    try:
        yield s
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def reset(s: Scratch) -> None:
    """Empty HOME, the temp folder and the agents folder, so a run starts as the first one did."""
    for d in (s.home, s.tmp, s.agents_dir):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)


def isolated_env(
    s: Scratch, *, base_url: str | None, api_key: str | None, marker: str = ""
) -> dict[str, str]:
    """The child's whole environment: nothing of the user's but PATH and alias overrides.

    Args:
        s: The scratch layout (HOME and TMPDIR point into it, so no real `~/.claude` is read).
        base_url: ANTHROPIC_BASE_URL for the child, if any.
        api_key: ANTHROPIC_API_KEY for the child, if any (the environment is its only carrier).
        marker: A value for AGENTEVAL_RUN_MARKER, so a test can find any process left behind.
    """
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(s.home),
        "TMPDIR": str(s.tmp),
        "LANG": "C.UTF-8",
        **QUIET_ENV,
    }
    env.update({k: v for k, v in os.environ.items() if PASSED_ENV.match(k)})
    if base_url:
        env["ANTHROPIC_BASE_URL"] = base_url
    if api_key:
        env["ANTHROPIC_API_KEY"] = api_key
    if marker:
        env["AGENTEVAL_RUN_MARKER"] = marker
    return env


def agent_file_text(agent: AgentView) -> str:
    """An agent file that Claude Code reads back as exactly this name, description and tools.

    Values are YAML 1.2 double-quoted scalars (JSON is one), so no character needs the CLI's
    lenient retry; runs of `---` are broken with `\\x2d` escapes because the CLI's frontmatter
    match ends at the first `---`, even mid-line.
    """
    lines = ["---", f"name: {_quoted(agent.name)}", f"description: {_quoted(agent.description)}"]
    tools = agent.tools_text
    if tools.startswith("All tools except "):
        lines.append(f"disallowedTools: {_quoted(tools.removeprefix('All tools except '))}")
    elif tools == "None":  # tools minus disallowed left nothing: say it the same way
        lines += ["tools: Read", "disallowedTools: Read"]
    elif tools != "All tools":
        lines.append(f"tools: {_quoted(tools)}")
    return "\n".join([*lines, "---", ""])


def _quoted(text: str) -> str:
    return re.sub(r"-(?=--)", r"\\x2d", json.dumps(text, ensure_ascii=False))


def write_agent_files(agents: Iterable[AgentView], agents_dir: Path) -> None:
    """Write one file per agent; numbered names, as agent names need not be valid file names."""
    agents_dir.mkdir(parents=True, exist_ok=True)
    for i, agent in enumerate(agents):
        (agents_dir / f"agent-{i:04d}.md").write_text(agent_file_text(agent), encoding="utf-8")


# A PreToolUse hook that holds every delegation until the process group is killed: the CLI starts
# a subagent (and the main model's next turn) as soon as the Agent call is complete, which on the
# real API would bill requests nobody reads. The hook leaves the routing request byte for byte as
# it was (checked by tests/test_claude_cli.py) and is not shown to the model.
HOLD_SECONDS = 3600
HOLD_HOOK = {
    "hooks": {
        "PreToolUse": [
            {
                "matcher": "|".join(DELEGATION_TOOLS),
                "hooks": [
                    {"type": "command", "command": f"sleep {HOLD_SECONDS}", "timeout": HOLD_SECONDS}
                ],
            }
        ]
    }
}


def write_hold_hook(project: Path) -> None:
    """Make the project's `.claude/settings.json` hold delegations (see HOLD_HOOK)."""
    path = project / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(HOLD_HOOK, indent=1), encoding="utf-8")
