"""Captured profiles in use: find the installed CLI, get its profile per view shape, lay out cases.

`ProfileSource.find` locates the user's `claude` without running it; with none (or a path that
does not work) the API router falls back to the built-in paraphrase under the name `approximate`
and says why. `identify` asks its version and `profile` loads or captures a layout: both run only
when called (the router's `prepare` step), never when a source is made.
Profiles come from the `ProfileStore` (keyed by CLI version + model + view shape), else are
captured once, with a placeholder agent: the listing is re-rendered for every case's view, so a
profile does not depend on which agents were listed when it was captured.

`chat_request` replays the captured body with only the listing (for the case's holdout view)
and the request changed, as a `ChatRequest` whose non-standard fields travel in ``body`` and
whose betas (mid-conversation system messages among them) travel in ``headers``. The CLI's
``"stream": true`` is dropped: the SDK client reads one whole message, the same answer.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from agenteval.catalog.diagnostics import Diagnostic
from agenteval.claude_code_install import ClaudeBinary, ClaudeCode, find_binary, identify
from agenteval.errors import RouterError
from agenteval.models.client import ChatRequest
from agenteval.routing.profiles.listing import render_listing, render_skills
from agenteval.routing.profiles.locate import capture_profile, view_shape
from agenteval.routing.profiles.profile import (
    Placement,
    Profile,
    ProfileStore,
    describe_change,
    render,
    text_at,
)
from agenteval.routing.profiles.project import NO_CONTEXT, ProjectContext
from agenteval.routing.profiles.selfcheck import line, self_check
from agenteval.views import AgentView, CatalogView

T = TypeVar("T")
# Listed only while a profile is captured, to find where the CLI puts its agent list.
PROBE = (
    AgentView(
        name="agenteval-probe",
        description="Placeholder agent that agenteval lists to see where the list goes.",
        tools_text="Read",
    ),
)
# Listed likewise, to find where the CLI puts the skills of the Skill tool's list.
PROBE_SKILLS = (
    AgentView(
        name="agenteval-probe-skill",
        description="Placeholder skill that agenteval lists to see where the skills go.",
        tools_text="",
        kind="skill",
    ),
)
_STANDARD = ("model", "max_tokens", "messages", "system", "tools", "tool_choice")
_DROPPED = ("stream", "metadata")  # a whole message is read back; metadata identifies a session


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from sync code, inside a running event loop or not."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class ProfileSource:
    """The installed CLI's profiles for one model, loaded (or captured) once per view shape."""

    def __init__(
        self,
        binary: ClaudeBinary,
        *,
        alias: str | None,
        placement: Placement = "exact",
        store: ProfileStore | None = None,
        installed: ClaudeCode | None = None,
        context: ProjectContext = NO_CONTEXT,
    ) -> None:
        self.binary = binary
        self.context = context  # the user's project context, laid out in the capture's project
        self.installed = installed  # the binary with its version, once `identify` asked it
        self.alias = alias
        self.placement: Placement = placement
        self.store = store or ProfileStore()
        self.notes: list[str] = []  # what changed since the previous CLI version, when captured
        self._profiles: dict[str, Profile] = {}
        self._digests: dict[str, str] = {}  # per shape: computed once, asked for every case
        self._lock = threading.Lock()
        self._say: Callable[[str], object] = lambda message: None

    @classmethod
    def find(
        cls,
        claude: str | None,
        *,
        alias: str | None,
        placement: Placement = "exact",
        store: ProfileStore | None = None,
        context: ProjectContext = NO_CONTEXT,
    ) -> tuple[ProfileSource | None, str]:
        """The source for the installed CLI (found, not run), or None and why there is none."""
        try:
            binary = find_binary(claude)
            return cls(binary, alias=alias, placement=placement, store=store, context=context), ""
        except RouterError as exc:
            return None, reason(exc)

    @property
    def cli(self) -> Path:
        return self.binary.path

    def identify(self, say: Callable[[str], object]) -> ClaudeCode:
        """The CLI with its version (asked now, once), telling ``say`` so.

        Raises:
            RouterError: when the binary does not answer with a version.
        """
        if self.installed is None:
            self.installed = identify(self.binary, say)
        self._say = say
        return self.installed

    @property
    def version(self) -> str:
        """The CLI's version (after `identify`)."""
        return self._identified().version

    def _identified(self) -> ClaudeCode:
        if self.installed is None:
            raise RouterError(
                "the Claude Code profile was used before its CLI was identified",
                hint="call the router's prepare() before routing (agenteval run does)",
            )
        return self.installed

    def profile(self, shape: str = "agents") -> Profile:
        """The profile of one view shape (`agents` or `empty`), loaded or captured on first need.

        Raises:
            RouterError: when `identify` has not run.
            CaptureError: when the CLI's request cannot be captured or understood.
        """
        with self._lock:
            found = self._profiles.get(shape)
            if found is None:
                agents = PROBE if shape == "agents" else ()
                found, previous = run_sync(
                    capture_profile(
                        self._identified(),
                        agents,
                        alias=self.alias,
                        store=self.store,
                        say=self._say,
                        context=self.context,
                        skills=PROBE_SKILLS,
                    )
                )
                if previous is not None:
                    self.notes.append(describe_change(previous, found))
                self._profiles[shape] = found
        return found

    def with_placement(self, placement: Placement) -> ProfileSource:
        """The same profiles, with the listing placed another way."""
        twin = copy.copy(self)
        twin.placement = placement
        return twin

    def for_view(self, view: CatalogView) -> Profile:
        """The profile a view's requests are laid out with."""
        return self.profile(view_shape(view.agents))

    def digest_for(self, view: CatalogView) -> str:
        """The digest of the profile a view's requests are laid out with."""
        return self._digest(view_shape(view.agents))

    def _digest(self, shape: str) -> str:
        if shape not in self._digests:
            self._digests[shape] = digest(self.profile(shape))
        return self._digests[shape]

    def identity(self) -> dict[str, Any]:
        """What names the profile in use (for the fingerprint and the record)."""
        p = self.profile()
        return {
            "cli_version": self.version,
            "alias": self.alias,
            "model": p.model,
            "placement": self.placement,
            "digest": self._digest("agents"),
            # only when there is one: runs without a project context keep their fingerprints
            **({"context": self.context.digest} if self.context.digest else {}),
        }

    def chat_request(
        self, view: CatalogView, prompt: str, *, max_tokens: int | None = None
    ) -> ChatRequest:
        """The request the CLI would send for ``prompt`` with ``view``'s agents and skills listed.

        Raises:
            RouterError: when the view has skills and the installed CLI lists none.
        """
        profile = self.for_view(view)
        if view.skills and profile.skills is None:
            raise RouterError(
                f"Claude Code {profile.cli_version} lists no skills for its Skill tool, and the "
                f"catalog has {len(view.skills)}",
                hint="route with a newer Claude Code, or leave the skills out of the catalog",
            )
        body = render(
            profile,
            render_listing(view.agents, profile.builtins),
            prompt,
            skills_text=render_skills(view.skills),
            placement=self.placement,
        )
        return to_chat_request(body, profile.headers, max_tokens=max_tokens)

    def self_check(self, agent_dirs: Sequence[Path]) -> tuple[Diagnostic, ...]:
        """Every difference between the CLI's own listing of ``agent_dirs`` and agenteval's
        emulated reading (`selfcheck`), the CLI run in this source's project context.

        Raises:
            RouterError: when `identify` has not run.
            CaptureError: when the CLI's request cannot be captured.
        """
        return self_check(
            self._identified(),
            agent_dirs,
            builtins=self.builtin_names(),
            context=self.context,
            cache=self.store.root,
        )

    def builtin_names(self) -> frozenset[str]:
        """The built-in agents the installed CLI lists beside a catalog."""
        return frozenset(b.name for b in self.profile().builtins)


def self_check_notes(
    router: object, agent_dirs: Sequence[Path], say: Callable[[str], object]
) -> list[str]:
    """The self-check of a router replaying a captured profile, as record notes; each
    difference (and a check that could not run) is also said as a warning line. A check never
    stops the run."""
    source = getattr(router, "profiles", None)
    folders = [d for d in agent_dirs if d.is_dir()]
    if not isinstance(source, ProfileSource) or source.installed is None or not folders:
        return []
    try:
        found = source.self_check(folders)
    except RouterError as exc:
        note = f"self-check: Claude Code's own listing could not be compared: {reason(exc)}"
        say(f"warning: {note}")
        return [note]
    for d in found:
        say(line(d))
    if not found:
        return [f"self-check: Claude Code {source.version} lists the catalog as agenteval reads it"]
    return [f"self-check: {line(d)}" for d in found]


def reason(exc: RouterError) -> str:
    """Why there is no profile, as one line (the error and its fix)."""
    return f"{exc.message} ({exc.hint})" if exc.hint else exc.message


def to_chat_request(
    body: Mapping[str, Any], headers: Mapping[str, str], *, max_tokens: int | None = None
) -> ChatRequest:
    """A request body as the API takes it, as a `ChatRequest` (stream and metadata dropped)."""
    system = body.get("system") or ""
    return ChatRequest(
        model=str(body["model"]),
        max_tokens=int(max_tokens or body["max_tokens"]),
        messages=tuple(body.get("messages") or ()),
        system=system if isinstance(system, str) else tuple(system),
        tools=tuple(body.get("tools") or ()),
        tool_choice=body.get("tool_choice"),
        body={k: v for k, v in body.items() if k not in _STANDARD and k not in _DROPPED},
        headers=dict(headers),
    )


def digest(profile: Profile) -> str:
    """A short digest of everything a profile sends (two captures of one layout agree)."""
    body = profile.body
    if profile.skills is not None:  # what a view without skills is sent: no probe in it
        listing, request = (
            text_at(profile.body, slot.path)[slot.start : slot.end]
            for slot in (profile.listing, profile.request)
        )
        body = render(profile, listing, request)
    data = json.dumps([body, dict(profile.headers)], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()[:12]


def prompt_note(described: Mapping[str, Any]) -> str | None:
    """What a reader must know about the routing prompt, from a router's `describe()`."""
    if described.get("prompt") == "approximate":
        why = described.get("approximate_reason")
        return (
            "prompt: approximate: agenteval's paraphrase of Claude Code's routing prompt, not "
            "the request your CLI sends, so routing may look better or worse than in real use"
            + (f" ({why})" if why else "")
        )
    if described.get("prompt") == "claude-cli":
        return (
            f"prompt: Claude Code {described.get('cli_version')} itself, one headless run per "
            f"case in a copy of the installed catalog; project context: "
            f"{described.get('project_context') or 'none'}"
        )
    if described.get("prompt") != "claude-code" or not described.get("profile"):
        return None
    note = f"prompt: the request Claude Code {described['profile']} sends, replayed"
    if described.get("placement") == "cacheable":
        note += (
            " with one deviation (placement cacheable): the agent list moved before the request "
            "so it is prompt-cached"
        )
    if described.get("project_context"):
        note += f"; project context: {described['project_context']}"
    changes = described.get("profile_changes") or []
    return note + (f"; since the previous profile: {'; '.join(changes)}" if changes else "")
