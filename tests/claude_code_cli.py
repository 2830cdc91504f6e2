"""Run the real Claude Code CLI headless against the loopback stub (a test helper).

The CLI is the oracle for agenteval's Claude Code reading: it is given a folder of agent files as
a scratch project's `.claude/agents/`, asked one sentinel request, and what it sent to the stub is
returned (the agent listing the model is shown, and the init event's agent names).

The listing is found by its structure, never by the CLI's wording (which is not ours to copy): it
starts at the first line `- NAME: ` of an agent the init event names, in the request text that
holds the most such lines, and the agent entries end at the `(Tools: ...)` that closes the last.

Where the CLI comes from: where agenteval itself looks (`claude_code_install.find_binary`):
``$AGENTEVAL_CLAUDE``, else ``<repo>/.tools/node_modules/.bin/claude``, else ``claude`` on PATH,
as the session started with them (conftest takes `claude` off each test's PATH so that no other
test meets the real CLI unasked, and some tests point AGENTEVAL_CLAUDE elsewhere). When none
exists the calling test fails with the install command: it is never skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from agenteval.claude_code_install import ask_version, child_env, find_binary
from agenteval.errors import RouterError

ROOT = Path(__file__).resolve().parents[1]
USER_ENV = dict(os.environ)  # at collection, before a test changes PATH or AGENTEVAL_CLAUDE
TEST_KEY = "sk-ant-test-conformance-0000"


def find_claude() -> Path:
    """The CLI binary to run; fails the test (with the install command) when there is none."""
    try:
        return find_binary(cwd=ROOT, environ=USER_ENV).path
    except RouterError as exc:
        pytest.fail(f"{exc.message}; run in {ROOT}: {exc.hint}")


@cache
def cli_version() -> str:
    """The found CLI's version (`claude --version`), e.g. `2.1.332`."""
    return ask_version(find_claude())


@dataclass(frozen=True, kw_only=True)
class CliListing:
    """What one CLI process showed the model."""

    listing: str  # from the first agent entry to the end of its text block
    init_agents: tuple[str, ...]  # the init event's `agents` (built-ins included)
    entries: tuple[tuple[str, str], ...]  # (name, "DESCRIPTION (Tools: TOOLS)") in order


def start_claude(folder: Path | None, sentinel: str, base_url: str) -> tuple[Any, Path]:
    """Start the CLI on a scratch project holding ``folder`` as `.claude/agents/`.

    Returns:
        The running process (stdout is stream-json) and its scratch directory (delete it after).
    """
    scratch = Path(tempfile.mkdtemp(prefix="cc-conformance-"))
    home, tmp, project = scratch / "home", scratch / "tmp", scratch / "project"
    home.mkdir()
    tmp.mkdir()
    agents = project / ".claude" / "agents"
    agents.parent.mkdir(parents=True)
    if folder is None:
        agents.mkdir()
    else:
        shutil.copytree(folder, agents, symlinks=True)
    env = {
        **child_env(home=home, tmp=tmp),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": TEST_KEY,
    }
    proc = subprocess.Popen(
        [str(find_claude()), "-p", sentinel, "--output-format", "stream-json", "--verbose"],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, scratch


def init_agents(stdout: str) -> tuple[str, ...]:
    """The `agents` of the stream-json init event."""
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("type") == "system" and event.get("subtype") == "init":
            return tuple(str(a) for a in event.get("agents", ()))
    raise AssertionError(f"no init event in the CLI output:\n{stdout[-2000:]}")


def request_texts(body: dict[str, Any]) -> list[str]:
    """Every text of one request body: message blocks, system blocks, tool descriptions."""
    texts: list[str] = []
    for msg in body.get("messages", ()):
        content = msg.get("content")
        blocks = [content] if isinstance(content, str) else content or ()
        texts.extend(b if isinstance(b, str) else str(b.get("text", "")) for b in blocks)
    system = body.get("system")
    texts.extend([system] if isinstance(system, str) else [str(b.get("text", "")) for b in system])
    texts.extend(str(t.get("description", "")) for t in body.get("tools", ()))
    return texts


def listing_text(body: dict[str, Any], names: Sequence[str]) -> str:
    """The agent listing in one request body (wherever this CLI version puts it), found by
    structure: from the first line `- NAME: ` of a known agent (the init event's ``names``) to the
    end of the text that holds the most such lines."""
    found = []  # (how many entry lines, where the first one starts, the text) per request text
    for text in request_texts(body):
        starts = [at for name in names for at in _line_starts(text, f"- {name}: ")]
        if starts:
            found.append((len(starts), -min(starts), text))
    if not found:
        raise AssertionError("the request holds no agent listing")
    _, first, text = max(found, key=lambda f: f[:2])
    return text[-first:]


def split_after_agents(listing: str, names: Sequence[str]) -> tuple[str, str]:
    """A listing cut where its agent entries end: (the entries, what follows them, such as the
    skills list). Each entry ends at the first line ending in `(Tools: ...)` from its start; the
    entries go on while the next line starts another `- NAME: ` of a known agent."""
    closing = re.compile(r"\(Tools: [^\n]*\)$", re.M)
    heads = tuple(f"- {name}: " for name in names)
    at = 0
    while True:
        close = closing.search(listing, at)
        if close is None:
            raise AssertionError(f"an agent entry has no tools text: {listing[at:][:300]!r}")
        end = close.end()
        if not listing.startswith(heads, end + 1):
            return listing[:end], listing[end:]
        at = end + 1


def split_listing(listing: str, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Split a listing into (name, rest) entries at lines ``- NAME: `` for the known names.

    The last entry runs to the end of `listing` (what follows the list is not cut off here,
    since a description may hold blank lines too).
    """
    starts = sorted({at for name in names for at in _line_starts(listing, f"- {name}: ")})
    entries: list[tuple[str, str]] = []
    for i, at in enumerate(starts):
        end = starts[i + 1] - 1 if i + 1 < len(starts) else len(listing)
        chunk = listing[at:end]
        name = max((n for n in names if chunk.startswith(f"- {n}: ")), key=len)
        entries.append((name, chunk[len(name) + 4 :]))
    return tuple(entries)


def _line_starts(text: str, prefix: str) -> list[int]:
    found = [0] if text.startswith(prefix) else []
    at = text.find("\n" + prefix)
    while at >= 0:
        found.append(at + 1)
        at = text.find("\n" + prefix, at + 1)
    return found
