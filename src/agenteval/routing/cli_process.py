"""Running the user's installed Claude Code CLI headless, isolated, and reading what it did.

Everything here is about the `claude` process, none of it about scoring: where the binary is,
which version it is, a scratch HOME and project (the case's catalog view written as agent files
under `.claude/agents/`), an environment with telemetry, error reports, nonessential traffic and
the autoupdater off, and one run of `claude -p REQUEST --output-format stream-json --verbose` in
its own process group, read event by event until the first delegation or the final result, with
a deadline that kills the whole group.

The API key travels only in the child's environment: it is never written to a file, an argument
or a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from agenteval.errors import RouterError
from agenteval.models.client import Usage
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
_STREAM_LIMIT = 64 << 20  # the init event lists every tool, skill and agent on one line
_STDERR_KEEP = 4000
_VERSION = re.compile(r"\d+\.\d+\.\d+")
FATAL_STATUSES = (401, 403)  # a refused or unauthorised key: no retry will help
OVERLOAD_STATUSES = (429, 529)


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


@dataclass(frozen=True, kw_only=True)
class Delegation:
    """The first `Agent`/`Task` call the main model made."""

    agent: str
    prompt: str = ""
    description: str = ""
    tool: str = "Agent"


@dataclass(frozen=True, kw_only=True)
class CliOutcome:
    """What one `claude -p` run did, up to its first delegation or its result."""

    delegation: Delegation | None = None
    result: str = ""
    model: str | None = None
    version: str | None = None
    listed: tuple[str, ...] = ()
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None  # the CLI's own figure, only when it reached its result
    error: str | None = None
    fatal: bool = False  # every later run would fail the same way (the key was refused)
    retries: int = 0  # API calls the CLI retried on its own
    seconds: float = 0.0
    pid: int = 0


def usage_of(data: Mapping[str, Any] | None) -> Usage:
    """A Usage from the CLI's (the API's) usage object."""
    data = data or {}

    def num(key: str) -> int:
        value = data.get(key)
        return int(value) if isinstance(value, (int, float)) else 0

    return Usage(
        input_tokens=num("input_tokens"),
        output_tokens=num("output_tokens"),
        cache_write_tokens=num("cache_creation_input_tokens"),
        cache_read_tokens=num("cache_read_input_tokens"),
    )


@dataclass(kw_only=True)
class StreamReader:
    """Folds stream-json events into a CliOutcome; ``feed`` returns True once it has the answer."""

    model: str | None = None
    version: str | None = None
    listed: tuple[str, ...] = ()
    usage: Usage = field(default_factory=Usage)
    delegation: Delegation | None = None
    result: str = ""
    cost_usd: float | None = None
    error: str | None = None
    fatal: bool = False
    retries: int = 0
    done: bool = False
    on_overload: Callable[[], None] | None = None
    _by_message: dict[str, Usage] = field(default_factory=dict)

    def feed(self, event: Mapping[str, Any]) -> bool:
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "api_retry":
            return self._retry(event)
        if kind == "system" and event.get("subtype") == "init":
            self.model = _str_or_none(event.get("model"))
            self.version = _str_or_none(event.get("claude_code_version"))
            agents = event.get("agents")
            self.listed = tuple(str(a) for a in agents) if isinstance(agents, list) else ()
        elif kind == "assistant" and event.get("parent_tool_use_id") is None:
            message = event.get("message") or {}
            # One API message may arrive as several events (one per block) with one usage.
            self._by_message[str(message.get("id"))] = usage_of(message.get("usage"))
            self.usage = sum(self._by_message.values(), Usage())
            for block in message.get("content") or ():
                if (
                    isinstance(block, dict)
                    and block.get("type") == "tool_use"
                    and block.get("name") in DELEGATION_TOOLS
                ):
                    raw = block.get("input")
                    data: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
                    self.delegation = Delegation(
                        agent=str(data.get("subagent_type") or "general-purpose").strip(),
                        prompt=str(data.get("prompt") or ""),
                        description=str(data.get("description") or ""),
                        tool=str(block["name"]),
                    )
                    self.done = True
                    return True
        elif kind == "result":
            self.result = str(event.get("result") or "")
            cost = event.get("total_cost_usd")
            self.cost_usd = float(cost) if isinstance(cost, (int, float)) else None
            if isinstance(event.get("usage"), dict):
                self.usage = usage_of(event["usage"])
            if event.get("is_error") or event.get("subtype") != "success":
                reason = event.get("terminal_reason") or event.get("subtype") or "error"
                status = event.get("api_error_status")
                self.error = f"claude ended with {reason}" + (f" (HTTP {status})" if status else "")
                if self.result:
                    self.error += f": {self.result[:300]}"
            self.done = True
            return True
        return False

    def _retry(self, event: Mapping[str, Any]) -> bool:
        self.retries += 1
        status = event.get("error_status")
        if status in FATAL_STATUSES:
            # The CLI retries even a refused key ten times over minutes: stop it now.
            self.error = f"the API refused the request (HTTP {status} {event.get('error') or ''})"
            self.error = self.error.replace(" )", ")")
            self.fatal = self.done = True
            return True
        if status in OVERLOAD_STATUSES and self.on_overload is not None:
            self.on_overload()
        return False


def _str_or_none(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def claude_args(cli: Path, request: str, model: str | None, extra: Sequence[str] = ()) -> list[str]:
    """The command line of one headless routing run."""
    args = [str(cli), "-p", request, "--output-format", "stream-json", "--verbose"]
    if model:
        args += ["--model", model]
    return [*args, *extra]


async def run_claude(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    deadline_s: float,
    on_overload: Callable[[], None] | None = None,
) -> CliOutcome:
    """Run one `claude -p` in its own process group until its first delegation or its result.

    The group is killed when the answer is in (the CLI would go on to run the subagent), at the
    deadline, on cancellation, and on any failure, so no process outlives the call.

    Args:
        args: The command line (`claude_args`).
        cwd: The scratch project.
        env: The child's whole environment (`isolated_env`).
        deadline_s: Seconds before the process group is killed.
        on_overload: Called each time the CLI retries a 429 or 529 on its own.
    """
    start = time.perf_counter()
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=str(cwd),
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, killed as one
            limit=_STREAM_LIMIT,
        )
    except OSError as exc:
        return CliOutcome(error=f"could not start {args[0]}: {exc}")
    reader = StreamReader(on_overload=on_overload)
    stderr = bytearray()
    drain = asyncio.ensure_future(_drain(proc.stderr, stderr))
    error: str | None = None
    try:
        await asyncio.wait_for(_read(proc.stdout, reader), timeout=deadline_s)
    except asyncio.TimeoutError:
        error = f"no answer within the {deadline_s:g} s deadline; the claude process was killed"
    finally:
        _kill_group(proc.pid)
        await proc.wait()
        drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drain
    if error is None and not reader.done:
        tail = stderr.decode("utf-8", "replace").strip()[-_STDERR_KEEP:]
        error = f"claude exited ({proc.returncode}) before a result" + (f": {tail}" if tail else "")
    return CliOutcome(
        delegation=reader.delegation,
        result=reader.result,
        model=reader.model,
        version=reader.version,
        listed=reader.listed,
        usage=reader.usage,
        cost_usd=reader.cost_usd,
        error=error or reader.error,
        fatal=reader.fatal,
        retries=reader.retries,
        seconds=time.perf_counter() - start,
        pid=proc.pid,
    )


async def _read(stream: asyncio.StreamReader | None, reader: StreamReader) -> None:
    assert stream is not None
    while line := await stream.readline():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a stray non-JSON line (a warning) is not an event
        if isinstance(event, dict) and reader.feed(event):
            return


async def _drain(stream: asyncio.StreamReader | None, into: bytearray) -> None:
    assert stream is not None
    while chunk := await stream.read(65536):
        into.extend(chunk)
        del into[: max(0, len(into) - _STDERR_KEEP)]


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
