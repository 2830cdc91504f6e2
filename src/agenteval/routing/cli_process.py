"""Running the user's installed Claude Code CLI headless, isolated, and reading what it did.

Everything here is about the `claude` process, none of it about scoring (where the binary is,
which version it is and the environment it runs in come from `claude_code_install`): a scratch
HOME and project (what goes into `.claude/agents/` is `cli_files`), an environment with
telemetry, error reports, nonessential traffic and the autoupdater off, a project hook that holds
delegations until the case ends, and the cleanup of scratch folders after SIGTERM or at the next
run after SIGKILL. Running it and reading its events is `cli_stream`.

The API key or login token travels only in the child's environment: it is never written to a
file, an argument or a log line.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import re
import shlex
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from agenteval.claude_code_install import child_env
from agenteval.errors import RouterError
from agenteval.routing.picks import PICKING_TOOLS
from agenteval.views import AgentView


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

    @property
    def hold(self) -> Path:
        """The FIFO the hold hook waits on (see `hold_hook`)."""
        return self.root / "hold"


@contextlib.contextmanager
def scratch(
    parent: Path | None = None, *, name: str | None = None, keep: bool = False, depth: int = 0
) -> Iterator[Scratch]:
    """A fresh scratch layout under ``parent`` (the system temp folder by default), removed after
    use unless ``keep``.

    Args:
        parent: The folder to make it in.
        name: A fixed folder name (made afresh) instead of a random one: the project path is part
            of what the CLI sends, so runs that must send the same text share one.
        keep: Leave the files behind (for inspection).
        depth: Folders above the project that must lie inside the scratch folder (for the
            project context's files above the project: `ProjectContext.depth`).
    """
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    if name is None:
        prefix = f"{SCRATCH_PREFIX}{os.getpid()}-"
        root = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    else:
        root = (parent or Path(tempfile.gettempdir())) / name
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
    # the project sits `depth` folders below the root, for the instruction files above it
    project = root.joinpath(*["up"] * max(depth - 1, 0), "project")
    s = Scratch(root=root, home=root / "home", tmp=root / "tmp", project=project)
    reset(s)
    os.mkfifo(s.hold, 0o600)
    writer = os.open(s.hold, os.O_RDWR | os.O_NONBLOCK)  # the FIFO's only writer
    _LIVE.add(root)
    try:
        yield s
    finally:
        # Unlinked first: a hook that opens it later finds no FIFO (an open of a FIFO with no
        # writer would wait forever); a hook that opened it reads end-of-file at the close.
        s.hold.unlink(missing_ok=True)
        os.close(writer)
        _LIVE.discard(root)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


SCRATCH_PREFIX = "agenteval-claude-"
_LIVE: set[Path] = set()  # scratch folders in use, removed at exit even after SIGTERM


@atexit.register
def _remove_live() -> None:
    for root in list(_LIVE):
        shutil.rmtree(root, ignore_errors=True)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit (when nothing else handles it), so the cases in flight kill
    their process groups and remove their scratch folders on the way out."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm)


def _sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def remove_stale(parent: Path | None) -> list[Path]:
    """Remove the scratch folders that a killed agenteval left behind (its pid is gone).

    A SIGKILL leaves no chance to clean up: the CLI processes die with their parent (see
    `cli_stream`), their folders stay until the next run calls this.
    """
    removed = []
    for root in (parent or Path(tempfile.gettempdir())).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = root.name.removeprefix(SCRATCH_PREFIX).partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)) and root.is_dir():
            shutil.rmtree(root, ignore_errors=True)
            removed.append(root)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reset(s: Scratch) -> None:
    """Empty HOME, the temp folder and the agents folder, so a run starts as the first one did."""
    for d in (s.home, s.tmp, s.agents_dir):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)


def isolated_env(
    s: Scratch,
    *,
    base_url: str | None,
    api_key: str | None,
    oauth_token: str | None = None,
    marker: str = "",
) -> dict[str, str]:
    """The child's whole environment: nothing of the user's but PATH and alias overrides.

    Args:
        s: The scratch layout (HOME and TMPDIR point into it, so no real `~/.claude` is read).
        base_url: ANTHROPIC_BASE_URL for the child, if any.
        api_key: ANTHROPIC_API_KEY for the child, if any (the environment is its only carrier).
        oauth_token: The user's Claude Code login (`login_token`), used when there is no key.
        marker: A value for AGENTEVAL_RUN_MARKER, so a test can find any process left behind.
    """
    env = child_env(home=s.home, tmp=s.tmp)
    if base_url:
        env["ANTHROPIC_BASE_URL"] = base_url
    if api_key:
        env["ANTHROPIC_API_KEY"] = api_key
    elif oauth_token:
        env[OAUTH_ENV] = oauth_token
    if marker:
        env["AGENTEVAL_RUN_MARKER"] = marker
    return env


OAUTH_ENV = "CLAUDE_CODE_OAUTH_TOKEN"  # what `claude setup-token` prints, for headless use
CREDENTIALS = Path(".claude") / ".credentials.json"  # under HOME: where the CLI keeps a login


def login_token(environ: Mapping[str, str] | None = None) -> str:
    """The user's Claude Code login: $CLAUDE_CODE_OAUTH_TOKEN, else the access token the CLI
    keeps in ~/.claude/.credentials.json; "" when there is neither. The CLI child gets it in
    its environment only (its HOME is a scratch folder with no credentials in it).

    Raises:
        RouterError: when the kept login has expired or the file cannot be read.
    """
    environ = os.environ if environ is None else environ
    if token := environ.get(OAUTH_ENV, "").strip():
        return token
    path = Path(environ.get("HOME") or Path.home()) / CREDENTIALS
    if not path.is_file():
        return ""
    renew = f"run `claude` to log in again, or `claude setup-token` and export {OAUTH_ENV}"
    try:
        oauth = json.loads(path.read_text(encoding="utf-8")).get("claudeAiOauth") or {}
        token, expires = str(oauth.get("accessToken") or "").strip(), oauth.get("expiresAt")
    except (OSError, ValueError, AttributeError) as exc:
        raise RouterError(f"{path}: cannot read the Claude Code login ({exc})", hint=renew) from exc
    if isinstance(expires, (int, float)) and expires / 1000 < time.time():
        raise RouterError(f"the Claude Code login kept in {path} has expired", hint=renew)
    return token


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


def skill_file_text(skill: AgentView) -> str:
    """A SKILL.md that the Skill tool's list shows as this skill's description (which holds
    `<` and `>` as the list escapes them)."""
    description = skill.description.replace("&lt;", "<").replace("&gt;", ">")
    return "\n".join(["---", f"description: {_quoted(description)}", "---", ""])


def write_skill_files(skills: Iterable[AgentView], skills_dir: Path) -> None:
    """Write each skill as `NAME/SKILL.md` (a skill is named by its folder)."""
    for skill in skills:
        folder = skills_dir / skill.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "SKILL.md").write_text(skill_file_text(skill), encoding="utf-8")


# A PreToolUse hook that holds every delegation until the case ends: the CLI starts a subagent
# (and the main model's next turn) as soon as the Agent call is complete, which on the real API
# would bill requests nobody reads. The hook reads the scratch folder's FIFO, whose only writer is
# this process (`Scratch.hold`): it gets end-of-file when the case closes the FIFO, or when this
# process dies, so the hook never outlives the case (the CLI starts hooks in a session of their
# own, where killing its process group does not reach them). The hook leaves the routing request
# byte for byte as it was (checked by tests/test_claude_cli.py) and is not shown to the model.
HOOK_TIMEOUT_S = 3600  # the CLI's own limit; the hook ends with the case long before


def hold_hook(fifo: Path, seconds: float = HOOK_TIMEOUT_S) -> dict[str, object]:
    """The project settings whose PreToolUse hook waits on ``fifo`` for every delegation, and
    never longer than ``seconds`` (the case's deadline: a bound should agenteval die while a
    hook is starting)."""
    wait = f"timeout {math.ceil(seconds)} cat {shlex.quote(str(fifo))}"
    command = f"{wait} >/dev/null; exit 2"
    hook = {"type": "command", "command": command, "timeout": HOOK_TIMEOUT_S}
    return {"hooks": {"PreToolUse": [{"matcher": "|".join(PICKING_TOOLS), "hooks": [hook]}]}}


def write_hold_hook(s: Scratch, seconds: float = HOOK_TIMEOUT_S) -> None:
    """Make the project's `.claude/settings.json` hold delegations on the scratch's FIFO (for at
    most ``seconds``)."""
    path = s.project / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(hold_hook(s.hold, seconds), indent=1), encoding="utf-8")
