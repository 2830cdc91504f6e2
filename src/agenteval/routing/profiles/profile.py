"""The prompt profile: the installed Claude Code's routing request, as a replayable template.

A `Profile` holds the request body the CLI sent for a sentinel case (system blocks, tools,
messages, max_tokens, thinking, ...), the behaviour-relevant headers (betas), and two slots: where
the agent listing sits and where the request sits. `render` replays the body byte for byte with
only those two slots changed. Placement `exact` keeps the CLI's layout; `cacheable` moves the
block holding the listing to the start of the user turn with a cache breakpoint, so every case
of one catalog view shares a prompt-cache prefix (a deviation the reports must state).

Profiles are JSON files cached under the cache dir (`AGENTEVAL_CACHE_DIR`, else `./.agenteval`),
keyed by CLI version + model + view shape. They hold Anthropic's prompt text, read from the
user's install: they live on the user's disk only, never in this repository.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agenteval.views import AgentView

PROFILE_SCHEMA = 2  # 2: the skill list's slot
PLACEMENTS: tuple[Literal["exact", "cacheable"], ...] = ("exact", "cacheable")
Placement = Literal["exact", "cacheable"]
PathPart = str | int
CACHE = {"type": "ephemeral"}
MAX_BREAKPOINTS = 4  # the API's limit on cache_control blocks


@dataclass(frozen=True, kw_only=True)
class Slot:
    """A span ``[start, end)`` of the text at ``path`` in the request body."""

    path: tuple[PathPart, ...]
    start: int
    end: int

    def order(self) -> tuple[int, ...]:
        """Where the slot sits in what the model reads: tools, then system, then messages."""
        head, nums = self.path[0], [p for p in self.path[1:] if isinstance(p, int)]
        rank = {"tools": 0, "system": 1, "messages": 2}.get(str(head), 3)
        return (rank, *nums, self.start)


@dataclass(frozen=True, kw_only=True)
class Profile:
    """One captured request layout of one CLI version, model and view shape."""

    cli_version: str
    alias: str | None  # the model the user asked for (`sonnet`, an id, or None: the default)
    model: str  # the id the CLI sent for it
    shape: str
    body: Mapping[str, Any]  # the request body, without `metadata` (a device and session id)
    headers: Mapping[str, str]  # behaviour-relevant headers only (anthropic-beta, -version)
    listing: Slot
    request: Slot
    skills: Slot | None = None  # the probe skill's line in the Skill tool's list (None: no list)
    builtins: tuple[AgentView, ...] = ()
    volatile: tuple[tuple[PathPart, ...], ...] = ()  # text that changes with every request
    context: str = "none"  # the project context it was captured in (`ProjectContext.describe`)
    context_digest: str = ""  # `ProjectContext.digest`: part of the store key
    schema: int = PROFILE_SCHEMA

    @property
    def tools(self) -> tuple[str, ...]:
        return tuple(str(t.get("name")) for t in self.body.get("tools") or ())

    @property
    def betas(self) -> tuple[str, ...]:
        raw = self.headers.get("anthropic-beta", "")
        return tuple(b.strip() for b in raw.split(",") if b.strip())

    @property
    def list_position(self) -> str:
        """`before` or `after` the request, as the model reads the request."""
        return "before" if self.listing.order() < self.request.order() else "after"

    def to_json(self) -> str:
        data = {
            "schema": self.schema,
            "cli_version": self.cli_version,
            "alias": self.alias,
            "model": self.model,
            "shape": self.shape,
            "headers": dict(self.headers),
            "listing": _slot_json(self.listing),
            "request": _slot_json(self.request),
            "skills": _slot_json(self.skills) if self.skills else None,
            "builtins": [b.__dict__ for b in self.builtins],
            "volatile": [list(p) for p in self.volatile],
            "context": self.context,
            "context_digest": self.context_digest,
            "body": self.body,
        }
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Profile:
        data = json.loads(text)
        return cls(
            schema=int(data["schema"]),
            cli_version=data["cli_version"],
            alias=data["alias"],
            model=data["model"],
            shape=data["shape"],
            headers=data["headers"],
            listing=Slot(path=tuple(data["listing"]["path"]), **_span(data["listing"])),
            request=Slot(path=tuple(data["request"]["path"]), **_span(data["request"])),
            skills=_slot(data["skills"]) if data.get("skills") else None,
            builtins=tuple(AgentView(**b) for b in data["builtins"]),
            volatile=tuple(tuple(p) for p in data["volatile"]),
            context=data.get("context", "none"),
            context_digest=data.get("context_digest", ""),
            body=data["body"],
        )


def _slot_json(slot: Slot) -> dict[str, Any]:
    return {"path": list(slot.path), "start": slot.start, "end": slot.end}


def _slot(data: Mapping[str, Any]) -> Slot:
    return Slot(path=tuple(data["path"]), **_span(data))


def _span(data: Mapping[str, Any]) -> dict[str, int]:
    return {"start": int(data["start"]), "end": int(data["end"])}


def text_at(body: Any, path: Sequence[PathPart]) -> str:
    """The text at ``path`` (keys and list indices) in a request body."""
    node = body
    for part in path:
        node = node[part]
    return str(node)


def _set_text(body: Any, path: Sequence[PathPart], text: str) -> None:
    node = body
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = text


def render(
    profile: Profile,
    listing_text: str,
    request_text: str,
    *,
    skills_text: str = "",
    placement: Placement = "exact",
) -> dict[str, Any]:
    """The request body for one case: the profile's, with only the listing, the catalog's skills
    and the request changed.

    Args:
        profile: The captured layout.
        listing_text: The agent listing for the case's view (`listing.render_listing`).
        request_text: The case's request.
        skills_text: The catalog's skill entries (`listing.render_skills`), "" for none: the
            probe skill's line goes then, with its line break.
        placement: `exact` (the CLI's layout) or `cacheable` (the listing's block moved to the
            start of the user turn, with a cache breakpoint).
    """
    body: dict[str, Any] = copy.deepcopy(dict(profile.body))
    edits = [(profile.listing, listing_text), (profile.request, request_text)]
    if profile.skills is not None:
        edits.append(_skills_edit(body, profile.skills, skills_text))
    # Later spans first, so an earlier edit in the same text does not shift a later one.
    for slot, new in sorted(edits, key=lambda e: (json.dumps(e[0].path), e[0].start), reverse=True):
        old = text_at(body, slot.path)
        _set_text(body, slot.path, old[: slot.start] + new + old[slot.end :])
    if placement == "cacheable":
        _move_listing_first(body, profile.listing.path)
    return body


def _skills_edit(body: Any, slot: Slot, text: str) -> tuple[Slot, str]:
    """The edit of the skill slot: its line replaced, or, with no skill, removed with the line
    break after it (before it, when it is the last line)."""
    if text:
        return slot, text
    whole = text_at(body, slot.path)
    if whole.startswith("\n", slot.end):
        return Slot(path=slot.path, start=slot.start, end=slot.end + 1), ""
    return Slot(path=slot.path, start=max(slot.start - 1, 0), end=slot.end), ""


def _move_listing_first(body: dict[str, Any], path: Sequence[PathPart]) -> None:
    if path[0] != "messages" or len(path) < 5:  # in the tools or system: already a prefix
        return
    messages: list[dict[str, Any]] = body["messages"]
    i, j = int(path[1]), int(path[3])
    block = messages[i]["content"].pop(j)
    if not messages[i]["content"]:
        messages.pop(i)
    first_user = next(m for m in messages if m.get("role") == "user")
    if isinstance(first_user["content"], str):
        first_user["content"] = [{"type": "text", "text": first_user["content"]}]
    first_user["content"].insert(0, {"type": "text", "text": block["text"], "cache_control": CACHE})
    _limit_breakpoints(body)


def _limit_breakpoints(body: dict[str, Any]) -> None:
    """Drop breakpoints after the first message block until the API's limit holds."""
    marked = [b for b in _blocks(body) if isinstance(b, dict) and "cache_control" in b]
    first = body["messages"][0]["content"][0]
    for block in reversed(marked):
        if len(marked) <= MAX_BREAKPOINTS:
            break
        if block is not first:
            del block["cache_control"]
            marked.remove(block)


def _blocks(body: Mapping[str, Any]) -> list[Any]:
    out: list[Any] = list(body.get("tools") or [])
    system = body.get("system")
    out += system if isinstance(system, list) else []
    for m in body.get("messages") or []:
        if isinstance(m.get("content"), list):
            out += m["content"]
    return out


def describe_change(old: Profile, new: Profile) -> str:
    """A short human diff: "2.1.197 → 2.1.332: 24 → 12 tools, list moved after the request"."""
    parts: list[str] = []
    if len(old.tools) != len(new.tools):
        parts.append(f"{len(old.tools)} → {len(new.tools)} tools")
    elif old.tools != new.tools:
        parts.append("tools changed")
    if old.list_position != new.list_position:
        parts.append(f"list moved {new.list_position} the request")
    if old.listing.path[0] != new.listing.path[0]:
        parts.append(f"list now in the {new.listing.path[0]}")
    if old.alias == new.alias and old.model != new.model:
        parts.append(f"{new.alias or 'the default model'} is now {new.model}")
    for key in ("max_tokens", "thinking"):
        if old.body.get(key) != new.body.get(key):
            parts.append(f"{key} {_short(old.body.get(key))} → {_short(new.body.get(key))}")
    added = [b for b in new.betas if b not in old.betas]
    dropped = [b for b in old.betas if b not in new.betas]
    if added or dropped:
        parts.append("betas " + ", ".join([f"+{b}" for b in added] + [f"-{b}" for b in dropped]))
    old_sys, new_sys = _system_chars(old), _system_chars(new)
    if old_sys != new_sys:
        parts.append(f"system prompt {old_sys:,} → {new_sys:,} characters")
    old_b, new_b = {b.name for b in old.builtins}, {b.name for b in new.builtins}
    if old_b != new_b:
        changes = [f"+{n}" for n in sorted(new_b - old_b)] + [
            f"-{n}" for n in sorted(old_b - new_b)
        ]
        parts.append("built-ins " + ", ".join(changes))
    elif {b for b in old.builtins} != {b for b in new.builtins}:
        parts.append("built-in texts changed")
    return f"{old.cli_version} → {new.cli_version}: " + (", ".join(parts) or "no change")


def _short(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def _system_chars(p: Profile) -> int:
    system = p.body.get("system")
    if isinstance(system, str):
        return len(system)
    return sum(len(str(b.get("text", ""))) for b in system or [] if isinstance(b, dict))


def cache_dir() -> Path:
    """Where agenteval caches: `AGENTEVAL_CACHE_DIR`, else `./.agenteval`."""
    return Path(os.environ.get("AGENTEVAL_CACHE_DIR") or ".agenteval")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text) or "_"


def _context(digest: str) -> str:
    return f"--context-{_safe(digest)}" if digest else ""


@dataclass(frozen=True, kw_only=True)
class ProfileStore:
    """Profiles on disk: one JSON file per CLI version + model + view shape + project context."""

    root: Path = field(default_factory=lambda: cache_dir() / "profiles")

    def path(self, cli_version: str, alias: str | None, shape: str, context: str = "") -> Path:
        return self.root / (
            f"{_safe(cli_version)}--{_safe(alias or 'default')}--{_safe(shape)}{_context(context)}"
            ".json"
        )

    def load(
        self, cli_version: str, alias: str | None, shape: str, context: str = ""
    ) -> Profile | None:
        path = self.path(cli_version, alias, shape, context)
        try:
            profile = Profile.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or from an older schema: capture again
        return profile if profile.schema == PROFILE_SCHEMA else None

    def save(self, profile: Profile) -> Path:
        path = self.path(profile.cli_version, profile.alias, profile.shape, profile.context_digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(profile.to_json(), encoding="utf-8")
        tmp.replace(path)
        return path

    def latest_other(self, profile: Profile) -> Profile | None:
        """The newest stored profile of the same model, shape and context from another CLI
        version."""
        found: list[tuple[float, Profile]] = []
        pattern = (
            f"*--{_safe(profile.alias or 'default')}--{_safe(profile.shape)}"
            f"{_context(profile.context_digest)}.json"
        )
        for path in self.root.glob(pattern):
            try:
                other = Profile.from_json(path.read_text(encoding="utf-8"))
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if other.cli_version != profile.cli_version:
                found.append((path.stat().st_mtime, other))
        return max(found, key=lambda f: f[0])[1] if found else None
