"""Prompt profiles captured from the real Claude Code CLI (at test time: no captured text is
committed), replayed, moved for caching, compared, and stored."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_support import claude_path

from agenteval.claude_code_install import locate
from agenteval.routing.profiles.capture import CAPTURE_KEY, CaptureError, capture_requests
from agenteval.routing.profiles.listing import cli_order, locale_key, render_listing
from agenteval.routing.profiles.locate import (
    build_profile,
    capture_profile,
    differing_paths,
    view_shape,
)
from agenteval.routing.profiles.profile import (
    Profile,
    ProfileStore,
    Slot,
    describe_change,
    render,
    text_at,
)
from agenteval.views import AgentView

AGENTS = (
    AgentView(name="frontend-dev", description="CSS and React.\nTwo lines", tools_text="Read"),
    AgentView(name="zz-last", description='Quotes " and colons: fine', tools_text="All tools"),
)
# Another view of another size: a built-in overridden, held-out text, a name that sorts first.
OTHER = (
    AgentView(
        name="Alpha",
        description="first --- second\n<example>user: deploy it</example>",
        tools_text="All tools except Bash, Write",
    ),
    AgentView(name="claude", description="Our own catch-all.", tools_text="Read, Grep"),
    AgentView(name="zz-last", description="Shorter now", tools_text="All tools"),
)
CASE = "please fix the flaky integration test in CI"


def body_of(capture: Any) -> dict[str, Any]:
    return {k: v for k, v in capture.request.body.items() if k != "metadata"}


@pytest.fixture(scope="module", params=[None, "haiku"])
def captured(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Profile, dict[str, Any]]:
    """A profile captured for AGENTS, and what the CLI itself sent for CASE with OTHER, both in
    one scratch project path (the path is part of the request); default model and an alias."""
    alias = request.param
    root = tmp_path_factory.mktemp("capture")
    store = ProfileStore(root=root / "profiles")
    cli = claude_path()
    profile, previous = asyncio.run(
        capture_profile(
            locate(cli), AGENTS, alias=alias, store=store, scratch_root=root, scratch_name="project"
        )
    )
    assert previous is None
    (actual,) = asyncio.run(
        capture_requests(cli, OTHER, [CASE], model=alias, scratch_root=root, scratch_name="project")
    )
    return profile, body_of(actual)


def test_the_replayed_profile_equals_what_the_cli_sent_for_the_case(
    captured: tuple[Profile, dict[str, Any]],
) -> None:
    profile, actual = captured
    replay = render(profile, render_listing(OTHER, profile.builtins), CASE)
    differ = set(differing_paths(replay, actual))
    # only the text the CLI derives from each request (its billing line) may differ
    assert differ <= set(profile.volatile), differ
    assert len(json.dumps(replay)) > 20_000  # the real prompt, not a paraphrase
    assert profile.model == actual["model"] and profile.cli_version in str(
        claude_version(claude_path())
    )


def claude_version(cli: Path) -> str:
    return subprocess.run([cli, "--version"], capture_output=True, text=True).stdout


def test_the_profile_knows_the_layout_and_the_builtins(
    captured: tuple[Profile, dict[str, Any]],
) -> None:
    profile, _ = captured
    assert "Agent" in profile.tools and profile.list_position in ("before", "after")
    assert profile.body["max_tokens"] > 0 and profile.betas
    assert profile.builtins, "the CLI lists built-ins beside the catalog"
    assert not {b.name for b in profile.builtins} & {a.name for a in AGENTS}
    listing = text_at(profile.body, profile.listing.path)[
        profile.listing.start : profile.listing.end
    ]
    assert listing == render_listing(AGENTS, profile.builtins)
    assert "metadata" not in profile.body  # a device and session id
    assert profile.shape == view_shape(AGENTS)


def test_render_with_the_captured_texts_gives_back_the_captured_body(
    captured: tuple[Profile, dict[str, Any]],
) -> None:
    profile, _ = captured
    listing = render_listing(AGENTS, profile.builtins)
    sentinel = text_at(profile.body, profile.request.path)[
        profile.request.start : profile.request.end
    ]
    assert render(profile, listing, sentinel) == profile.body


def test_cacheable_placement_moves_the_listing_block_first(
    captured: tuple[Profile, dict[str, Any]],
) -> None:
    profile, _ = captured
    exact = render(profile, render_listing(OTHER, profile.builtins), CASE)
    moved = render(profile, render_listing(OTHER, profile.builtins), CASE, placement="cacheable")
    first = moved["messages"][0]["content"][0]
    assert first["cache_control"] == {"type": "ephemeral"}
    assert render_listing(OTHER, profile.builtins) in first["text"]
    assert moved["system"] == exact["system"] and moved["tools"] == exact["tools"]
    marks = json.dumps(moved).count('"cache_control"')
    assert marks <= 4
    user_texts = [b["text"] for b in moved["messages"][0]["content"]]
    assert user_texts[-1] == CASE  # the request stays last


def test_capture_names_what_changed_when_the_listing_is_not_found(
    tmp_path: Path, captured: tuple[Profile, dict[str, Any]]
) -> None:
    profile, _ = captured
    first, second = asyncio.run(
        capture_requests(
            claude_path(), AGENTS, ["sentinel-one-9d2a", "two s"], scratch_root=tmp_path
        )
    )
    # agenteval's rendering no longer matches what the CLI shows (as if its format changed)
    wrong = (dataclasses.replace(AGENTS[0], tools_text="Read, Write"), AGENTS[1])
    with pytest.raises(CaptureError, match="did not list agent 'frontend-dev'.*format changed"):
        build_profile(first, second, ("sentinel-one-9d2a", "two s"), wrong, alias=None, version="x")
    with pytest.raises(CaptureError, match="request was found 0 times"):
        build_profile(
            first, second, ("sentinel-nowhere-4f1c", "two s"), AGENTS, alias=None, version="x"
        )
    assert CAPTURE_KEY not in json.dumps(first.request.headers)
    assert set(first.request.headers) <= {"anthropic-beta", "anthropic-version"}


def test_cli_order_is_the_clis_own_order(tmp_path: Path) -> None:
    names = ["beta", "Beta", "beta_x", "beta-x", "beta.x", "beta1", "Alpha", "alpha2", "ALPHA"]
    agents = [AgentView(name=n, description=f"agent {n}", tools_text="Read") for n in names]
    (capture,) = asyncio.run(capture_requests(claude_path(), agents, ["hi"], scratch_root=tmp_path))
    listed = [n for n in capture.listed if n in names]
    assert listed == [a.name for a in cli_order(agents)]
    assert listed != sorted(names)  # Python's own order differs: the key is what matches
    assert sorted(names, key=locale_key) == listed


def slot(*path: Any) -> Slot:
    return Slot(path=tuple(path), start=0, end=1)


def synthetic(version: str, tools: int, listing_after: bool, model: str) -> Profile:
    """A profile with made-up text: enough structure to compare two versions."""
    return Profile(
        cli_version=version,
        alias="sonnet",
        model=model,
        shape="agents",
        body={
            "tools": [{"name": f"T{i}"} for i in range(tools)],
            "system": [{"type": "text", "text": "x" * tools}],
            "max_tokens": 128000,
        },
        headers={"anthropic-beta": "a,b"},
        listing=slot("messages", 1 if listing_after else 0, "content", 0, "text"),
        request=slot("messages", 0, "content", 1, "text"),
        builtins=(AgentView(name="Explore", description="d", tools_text="t"),),
    )


def test_describe_change_says_what_moved() -> None:
    old = synthetic("2.1.197", 24, False, "claude-sonnet-5")
    new = synthetic("2.1.332", 12, True, "claude-sonnet-5-5")
    assert describe_change(old, new) == (
        "2.1.197 → 2.1.332: 24 → 12 tools, list moved after the request, "
        "sonnet is now claude-sonnet-5-5, system prompt 24 → 12 characters"
    )
    assert describe_change(new, new) == "2.1.332 → 2.1.332: no change"


def test_store_round_trips_and_finds_the_previous_version(tmp_path: Path) -> None:
    store = ProfileStore(root=tmp_path)
    old = synthetic("2.1.197", 24, False, "claude-sonnet-5")
    new = synthetic("2.1.332", 12, True, "claude-sonnet-5-5")
    store.save(old)
    path = store.save(new)
    assert store.load("2.1.332", "sonnet", "agents") == new
    assert store.load("2.1.332", "opus", "agents") is None
    assert store.latest_other(new) == old
    path.write_text("{not json", encoding="utf-8")
    assert store.load("2.1.332", "sonnet", "agents") is None  # broken cache: capture again


def test_a_cached_profile_is_used_without_running_the_cli(tmp_path: Path) -> None:
    store = ProfileStore(root=tmp_path / "profiles")
    fake_cli = tmp_path / "claude"
    fake_cli.write_text("#!/bin/sh\necho '9.9.9 (Claude Code)'\n", encoding="utf-8")
    fake_cli.chmod(0o755)
    profile = dataclasses.replace(synthetic("9.9.9", 1, True, "m"), alias=None)
    store.save(profile)
    got, previous = asyncio.run(capture_profile(locate(fake_cli), AGENTS, store=store))
    assert got == profile and previous is None
