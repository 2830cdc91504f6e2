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

from agenteval.claude_code_install import find_binary, identify
from agenteval.models.pricing import model_table
from agenteval.routing.profiles.locate import capture_profile
from agenteval.routing.profiles.profile import Profile, ProfileStore, describe_change
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
            f"{len(p.builtins)} built-in agents ({', '.join(b.name for b in p.builtins)})"
        )


def capture_profiles(
    models: Sequence[str | None] = (),
    *,
    claude: str | None = None,
    shapes: Sequence[str] = ("agents",),
    store: ProfileStore | None = None,
    say: Callable[[str], object] | None = None,
) -> list[Captured]:
    """Capture and store a profile per model and view shape.

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
            before = store.load(installed.version, model, shape)
            agents = PROBE if shape == "agents" else ()
            profile, previous = asyncio.run(
                capture_profile(installed, agents, alias=model, store=store, refresh=True, say=say)
            )
            earlier = previous or before
            change = describe_change(earlier, profile) if earlier is not None else None
            path = store.path(profile.cli_version, profile.alias, profile.shape)
            found.append(Captured(profile=profile, path=path, change=change))
    return found
