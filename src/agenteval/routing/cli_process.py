"""Running the user's installed Claude Code CLI headless, isolated, and reading what it did.

Everything here is about the `claude` process, none of it about scoring (where the binary is,
which version it is and the environment it runs in come from `claude_code_install`): a scratch
HOME and project (the case's catalog view written as agent files
under `.claude/agents/`), an environment with telemetry, error reports, nonessential traffic and
the autoupdater off, and a project hook that holds delegations. Running it and reading its events
is `cli_stream`.

The API key travels only in the child's environment: it is never written to a file, an argument
or a log line.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from agenteval.claude_code_install import child_env
from agenteval.views import AgentView

DELEGATION_TOOLS = ("Agent", "Task")


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
    env = child_env(home=s.home, tmp=s.tmp)
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
