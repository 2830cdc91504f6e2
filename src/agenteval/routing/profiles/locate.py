"""Turning captured requests into a profile: find the listing and the request, check the replay.

The listing is found by matching agenteval's own rendering of the catalog (`listing.entry`) in
the CLI's order (its init event names every listed agent); entries between them are built-ins,
read back as the CLI wrote them. The request is the sentinel. Capture runs the CLI twice with two
sentinels: the profile built from the first must replay the second exactly, and whatever else
differs (a per-request billing line, say) is recorded as volatile. If the listing or the sentinel
cannot be found, the capture fails saying what changed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from agenteval.claude_code_install import ClaudeCode
from agenteval.routing.profiles.capture import Capture, CaptureError, capture_requests
from agenteval.routing.profiles.listing import (
    entry,
    parse_entry,
    render_listing,
    render_skills,
    skill_entry,
)
from agenteval.routing.profiles.profile import (
    PathPart,
    Profile,
    ProfileStore,
    Slot,
    render,
    text_at,
)
from agenteval.routing.profiles.project import NO_CONTEXT, ProjectContext
from agenteval.views import AgentView

_ENTRY_END = re.compile(r"\(Tools: [^\n]*\)(?=\n|$)")
FORMAT = "one line per agent, `- NAME: DESCRIPTION (Tools: TOOLS)`"


def view_shape(agents: Sequence[AgentView]) -> str:
    """The part of a view that may change the CLI's layout (the listing itself is re-rendered)."""
    return "agents" if agents else "empty"


def texts(body: Any, path: tuple[PathPart, ...] = ()) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    """Every string in a request body that the model reads, with its path."""
    if isinstance(body, str):
        if path and path[-1] in ("text", "description", "content"):
            yield path, body
    elif isinstance(body, Mapping):
        for key, value in body.items():
            if key not in ("metadata", "model", "input_schema"):
                yield from texts(value, (*path, key))
    elif isinstance(body, list):
        for i, value in enumerate(body):
            yield from texts(value, (*path, i))


def locate_listing(
    body: Mapping[str, Any], listed: Sequence[str], agents: Sequence[AgentView], version: str
) -> tuple[Slot, tuple[AgentView, ...]]:
    """The listing's slot and the built-ins in it.

    Raises:
        CaptureError: when the listing is not where and how agenteval renders it.
    """
    if not listed:
        raise CaptureError(
            f"Claude Code {version} named no agents in its init event",
            hint="the stream-json init format changed; update agenteval",
        )
    catalog = {a.name: a for a in agents}
    all_text = "\n".join(t for _, t in texts(body))
    for a in agents:
        if entry(a) not in all_text:
            raise CaptureError(
                f"Claude Code {version} did not list agent {a.name!r} as agenteval renders it "
                f"({FORMAT}): its listing format changed",
                hint="update agenteval, or route with `prompt: approximate` until then",
            )
    first = f"- {listed[0]}: "
    for path, text in texts(body):
        for m in re.finditer(r"(?m)^" + re.escape(first), text):
            found = _parse_entries(text, m.start(), listed, catalog)
            if found is not None:
                end, builtins = found
                if render_listing(agents, builtins) == text[m.start() : end]:
                    return Slot(path=path, start=m.start(), end=end), builtins
    raise CaptureError(
        f"the agents Claude Code {version} listed are not in one block in the order it reported "
        f"({', '.join(listed)}): its listing order or layout changed",
        hint="update agenteval, or route with `prompt: approximate` until then",
    )


def _parse_entries(
    text: str, pos: int, listed: Sequence[str], catalog: Mapping[str, AgentView]
) -> tuple[int, tuple[AgentView, ...]] | None:
    builtins: list[AgentView] = []
    for k, name in enumerate(listed):
        if k:
            if not text.startswith("\n", pos):
                return None
            pos += 1
        if not text.startswith(f"- {name}: ", pos):
            return None
        if name in catalog:
            line = entry(catalog[name])
            if not text.startswith(line, pos):
                return None
        elif k + 1 < len(listed):
            nxt = text.find(f"\n- {listed[k + 1]}: ", pos)
            if nxt < 0:
                return None
            line = text[pos:nxt]
            builtins.append(parse_entry(line))
        else:
            m = _ENTRY_END.search(text, pos)
            if m is None:
                return None
            line = text[pos : m.end()]
            builtins.append(parse_entry(line))
        pos += len(line)
    return pos, tuple(builtins)


def locate_skills(body: Mapping[str, Any], skills: Sequence[AgentView]) -> Slot | None:
    """The slot of the catalog's skills in the Skill tool's list: where the probe skills' lines
    stand, one after the other (None when the CLI lists no such line: a build without skills).
    """
    if not skills:
        return None
    wanted = render_skills(skills)
    for path, text in texts(body):
        for m in re.finditer(r"(?m)^" + re.escape(skill_entry(skills[0])), text):
            end = m.start() + len(wanted)
            whole_lines = end == len(text) or text.startswith("\n", end)
            if text.startswith(wanted, m.start()) and whole_lines:
                return Slot(path=path, start=m.start(), end=end)
    return None


def locate_request(body: Mapping[str, Any], sentinel: str, version: str) -> Slot:
    """The request's slot: the one place the sentinel appears.

    Raises:
        CaptureError: when the sentinel is missing or appears more than once.
    """
    hits = [(p, t.find(sentinel)) for p, t in texts(body) if sentinel in t]
    if len(hits) != 1 or text_at(body, hits[0][0]).count(sentinel) != 1:
        raise CaptureError(
            f"the request was found {len(hits)} times in what Claude Code {version} sent "
            "(expected once, as a user-turn text block): its request layout changed",
            hint="update agenteval, or route with `prompt: approximate` until then",
        )
    path, start = hits[0]
    return Slot(path=path, start=start, end=start + len(sentinel))


def build_profile(
    first: Capture,
    second: Capture,
    sentinels: tuple[str, str],
    agents: Sequence[AgentView],
    *,
    alias: str | None,
    version: str,
    skills: Sequence[AgentView] = (),
) -> Profile:
    """A profile from two captures of one layout that differ only in the request.

    Raises:
        CaptureError: when the listing or request cannot be found, or the replay of the second
            capture differs from it in more than per-request text.
    """
    body = first.request.body
    other = second.request.body
    if not isinstance(body, dict) or not isinstance(other, dict):
        raise CaptureError("Claude Code sent a Messages request without a JSON body")
    listing, builtins = locate_listing(body, first.listed, agents, version)
    request = locate_request(body, sentinels[0], version)
    kept = {k: v for k, v in body.items() if k != "metadata"}
    profile = Profile(
        cli_version=version,
        alias=alias,
        model=str(body.get("model") or ""),
        shape=view_shape(agents),
        body=kept,
        headers=dict(first.request.headers),
        listing=listing,
        request=request,
        skills=locate_skills(body, skills),
        builtins=builtins,
    )
    replay = render(
        profile,
        text_at(body, listing.path)[listing.start : listing.end],
        sentinels[1],
        skills_text=render_skills(skills) if profile.skills else "",
    )
    volatile = tuple(differing_paths(replay, {k: v for k, v in other.items() if k != "metadata"}))
    for path in volatile:
        if not isinstance(text_at(replay, path), str) or path in (listing.path, request.path):
            raise CaptureError(
                f"Claude Code {version} changed its request beyond the request text at "
                f"{'.'.join(map(str, path))}: agenteval cannot replay it",
                hint="update agenteval, or route with `prompt: approximate` until then",
            )
    return Profile(**{**profile.__dict__, "volatile": volatile})


def differing_paths(
    a: Any, b: Any, path: tuple[PathPart, ...] = ()
) -> Iterator[tuple[PathPart, ...]]:
    """Paths of the leaves (or shapes) where two JSON values differ."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                yield (*path, key)
            else:
                yield from differing_paths(a[key], b[key], (*path, key))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from differing_paths(x, y, (*path, i))
    elif a != b:
        yield path


async def capture_profile(
    claude: ClaudeCode,
    agents: Sequence[AgentView],
    *,
    alias: str | None = None,
    store: ProfileStore | None = None,
    refresh: bool = False,
    scratch_root: Path | None = None,
    scratch_name: str | None = None,
    say: Callable[[str], object] | None = None,
    context: ProjectContext = NO_CONTEXT,
    skills: Sequence[AgentView] = (),
) -> tuple[Profile, Profile | None]:
    """The profile for this CLI (`claude_code_install.locate`), model, view shape and project
    context: from the cache, or captured now in a scratch project holding ``context``.

    Args:
        say: Told when the CLI is run to capture (not when the profile is stored already).

    Returns:
        The profile, and the previous one of another CLI version when one was just replaced
        (for `describe_change`), else None.

    Raises:
        CaptureError: when the capture fails or its request cannot be understood.
    """
    store = store or ProfileStore()
    version = claude.version
    shape = view_shape(agents)
    if not refresh and (cached := store.load(version, alias, shape, context.digest)) is not None:
        return cached, None
    if say is not None:
        say(
            f"capturing the request layout from Claude Code {version} "
            f"(model {alias or 'default'}, {shape} view, project context: {context.describe()})"
        )
    # Two unrelated texts, so whatever the CLI derives from the request shows up as volatile.
    sentinels = (
        f"agenteval-sentinel-{uuid.uuid4().hex[:12]}",
        f"{uuid.uuid4().hex[:8]} second agenteval sentinel, a longer request",
    )
    first, second = await capture_requests(
        claude.binary,
        agents,
        sentinels,
        model=alias,
        scratch_root=scratch_root,
        scratch_name=scratch_name,
        context=context,
        skills=skills,
    )
    built = build_profile(
        first, second, sentinels, agents, alias=alias, version=version, skills=skills
    )
    profile = replace(built, context=context.describe(), context_digest=context.digest)
    previous = store.latest_other(profile)
    store.save(profile)
    return profile, previous
