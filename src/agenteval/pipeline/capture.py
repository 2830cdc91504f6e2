"""`agenteval capture`: record the installed Claude Code's routing request as prompt profiles.

One capture per (model, catalog view shape): the CLI runs twice against agenteval's loopback
capture server (`routing/profiles/locate.py`), the profile is stored where the API router looks
for it, and what changed since the previous profile of that model and shape is described.
Capturing always runs the CLI again, even when a profile of this version is stored: a user runs
this command to see what their CLI sends now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agenteval.claude_code_install import ClaudeCode, find_binary, identify
from agenteval.errors import RouterError
from agenteval.models.pricing import model_table
from agenteval.routing.profiles.locate import capture_profile
from agenteval.routing.profiles.profile import Profile, ProfileStore, describe_change
from agenteval.routing.profiles.project import NO_CONTEXT, ProjectContext
from agenteval.routing.profiles.selfcheck import line, self_check
from agenteval.routing.profiles.source import PROBE

SHAPES = ("agents", "empty")


@dataclass(frozen=True, kw_only=True)
class Captured:
    """One stored profile and how it differs from the one before it."""

    profile: Profile
    path: Path
    change: str | None  # `describe_change` against the previous profile; None: the first one

    def summary(self) -> str:
        """One line: what the CLI sends for this model and shape."""
        p = self.profile
        return (
            f"Claude Code {p.cli_version}, model {p.alias or 'default'} = {p.model}, "
            f"{p.shape} view: {len(p.tools)} tools, agent list {p.list_position} the request "
            f"(in the {p.listing.path[0]}), max_tokens {p.body.get('max_tokens')}, "
            f"{len(p.builtins)} built-in agents ({', '.join(b.name for b in p.builtins)}), "
            f"project context: {p.context}"
        )


def capture_profiles(
    models: Sequence[str | None] = (),
    *,
    claude: str | None = None,
    shapes: Sequence[str] = ("agents",),
    store: ProfileStore | None = None,
    say: Callable[[str], object] | None = None,
    context: ProjectContext = NO_CONTEXT,
    agent_dirs: Sequence[Path] = (),
) -> list[Captured]:
    """Capture and store a profile per model and view shape, in the project ``context``; then
    self-check the CLI's own listing of ``agent_dirs`` (each difference told to ``say``).

    Args:
        models: Aliases or ids as `claude --model` takes them (default: the price table's
            default alias, as the API router uses).
        claude: The CLI binary (else `$AGENTEVAL_CLAUDE`, `./.tools`, PATH).
        shapes: `agents` (a view with agents) and/or `empty` (a view with none).
        store: Where profiles live (default: the cache dir's `profiles/`).
        say: Told each time the CLI is run (its version asked, a layout captured).

    Raises:
        RouterError: when the CLI is not installed (with the install command).
        CaptureError: when its request cannot be captured or understood (saying what changed).
    """
    store = store or ProfileStore()
    installed = identify(find_binary(claude), say)
    found: list[Captured] = []
    for model in models or (model_table().default_alias,):
        for shape in shapes:
            before = store.load(installed.version, model, shape, context.digest)
            agents = PROBE if shape == "agents" else ()
            profile, previous = asyncio.run(
                capture_profile(
                    installed,
                    agents,
                    alias=model,
                    store=store,
                    refresh=True,
                    say=say,
                    context=context,
                )
            )
            earlier = previous or before
            change = describe_change(earlier, profile) if earlier is not None else None
            path = store.path(profile.cli_version, profile.alias, profile.shape, context.digest)
            found.append(Captured(profile=profile, path=path, change=change))
    folders = [d for d in agent_dirs if d.is_dir()]
    if folders and found and say is not None:
        _self_check(installed, folders, found[0].profile, context, say)
    return found


def _self_check(
    installed: ClaudeCode,
    folders: Sequence[Path],
    profile: Profile,
    context: ProjectContext,
    say: Callable[[str], object],
) -> None:
    """Tell ``say`` every difference between the CLI's listing of ``folders`` and agenteval's
    reading; a check that cannot run is a warning, never a failed capture."""
    builtins = [b.name for b in profile.builtins]
    try:
        found = self_check(installed, folders, builtins=builtins, context=context)
    except RouterError as exc:
        say(f"warning: self-check: Claude Code's own listing could not be compared: {exc.message}")
        return
    for d in found:
        say(line(d))
    if not found:
        say(
            f"self-check: Claude Code {installed.version} lists {', '.join(map(str, folders))} "
            "as agenteval reads it"
        )
