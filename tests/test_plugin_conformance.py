"""agenteval's reading of plugins and skills against the real CLI (`--plugin-dir`, loopback stub).

One CLI run on a scratch project holding the skills fixture as its `.claude/`, with the tinyplug
fixture loaded by `--plugin-dir`: the init event's agents and the request's agent and skill
lists must match the emulated reading, line for line. The one agent the CLI shows with its own
generic description (never copied here) is compared by name only.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from claude_code_cli import (
    TEST_KEY,
    find_claude,
    listing_text,
    split_after_agents,
    split_listing,
)
from conftest import FIXTURES
from stub_anthropic import StubAnthropic, never_delegate

from agenteval.catalog import load_catalog
from agenteval.claude_code_install import child_env

PROJECT = FIXTURES / "skills" / "project" / ".claude"
TINY = FIXTURES / "plugins" / "tinyplug"
SENTINEL = "SENTINEL-plugins"


@pytest.fixture(scope="module")
def cli_run() -> tuple[dict, str]:
    """The init event and the listing text of one CLI run with the project and the plugin."""
    scratch = Path(tempfile.mkdtemp(prefix="cc-plugins-"))
    try:
        (scratch / "home").mkdir()
        shutil.copytree(PROJECT, scratch / "project" / ".claude")
        with StubAnthropic(responder=never_delegate) as stub:
            env = {  # the environment agenteval runs the CLI in, pointed at the stub
                **child_env(home=scratch / "home", tmp=scratch),
                "ANTHROPIC_BASE_URL": stub.base_url,
                "ANTHROPIC_API_KEY": TEST_KEY,
            }
            args = [str(find_claude()), "-p", SENTINEL, "--output-format", "stream-json"]
            done = subprocess.run(
                [*args, "--verbose", "--plugin-dir", str(TINY)],
                cwd=scratch / "project",
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            call = next(c for c in stub.calls if c.prompt == SENTINEL)
            events = [json.loads(ln) for ln in done.stdout.splitlines() if ln.startswith("{")]
            init = next(e for e in events if e.get("subtype") == "init")
            return init, listing_text(call.body, init["agents"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="module")
def ours():
    return load_catalog([PROJECT / "agents"], plugins=[TINY])


def test_the_cli_lists_the_plugin_agents_we_list_with_the_same_lines(cli_run, ours):
    init, listing = cli_run
    agents_text, _ = split_after_agents(listing, init["agents"])
    entries = dict(split_listing(agents_text, tuple(init["agents"])))
    generic = {f.name for f in ours.claude_code.files if f.generic}
    assert set(ours.claude_code.names) <= set(init["agents"])
    for agent in ours.claude_code.agents:
        if agent.name in generic:
            continue
        want = f"{agent.description} (Tools: {agent.tools_text})"
        assert entries[agent.name].startswith(want), agent.name


def test_the_cli_lists_the_skills_we_list_with_the_same_lines(cli_run, ours):
    init, listing = cli_run
    _, after = split_after_agents(listing, init["agents"])  # the skills follow the agents
    lines = after.splitlines()
    ours_lines = [s.line for s in ours.skills]
    assert [ln for ln in lines if ln in ours_lines] == ours_lines
    plugin_lines = [ln for ln in lines if ln.startswith("- tinyplug:")]
    assert plugin_lines == [s.line for s in ours.skills if s.plugin]
