"""The `claude-cli` router: each case routed by the user's real Claude Code.

Per case, a scratch project whose `.claude/agents/` holds the user's own agent files (byte for
byte; a holdout fold cuts only the held-out examples: `cli_files`) and an isolated HOME;
`claude -p REQUEST --output-format stream-json --verbose` runs in its own process group, on the
user's API key or else their Claude Code login, and is stopped at its first `Agent`/`Task` call
(a project hook holds the call until the case ends, so no subagent request is ever sent), whose
`subagent_type` names the agent (its `prompt` argument is kept in the decision's `raw`, for
output grading). Every request the main model made before is counted and priced. A result with
no delegation, or `max_turns` requests with none, is `none`; a built-in pick is `none` with the
built-in's name kept. This is ground truth, including Claude Code's own reading of the agent
files. The process details live in `cli_process`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agenteval.catalog.skills import SKILL_PREFIX
from agenteval.claude_code_install import ClaudeCode, find_binary, identify
from agenteval.errors import RouterError
from agenteval.models.client import FatalModelError
from agenteval.models.pricing import ModelTable, model_table
from agenteval.routing import Capabilities, Decision, RouteRequest, validate_options
from agenteval.routing.cli_files import files_digest, write_install
from agenteval.routing.cli_process import (
    OAUTH_ENV,
    exit_on_sigterm,
    isolated_env,
    login_token,
    remove_stale,
    scratch,
    write_hold_hook,
)
from agenteval.routing.cli_stream import CliOutcome, claude_args, run_claude
from agenteval.routing.profiles.project import (
    NO_CONTEXT,
    ProjectContext,
    read_project,
    write_project,
)
from agenteval.routing.profiles.source import ProfileSource
from agenteval.text import register_secret
from agenteval.views import CatalogView

DEFAULT_DEADLINE_S = 300.0  # the CLI retries an unreachable API for minutes on its own
ROUTER_VERSION = 1
# When the CLI's request cannot be captured: a request as large as the context window.
FALLBACK_INPUT_TOKENS = 200_000
FALLBACK_MAX_TOKENS = 128_000
DEFAULT_MAX_TURNS = 4  # requests the main model may make before it delegates (`--max-turns`)
# What one tool call may add to the next request, for the worst case of a later turn (a large
# tool result; each turn's request is capped at the context window).
TOOL_RESULT_TOKENS = 25_000


class ClaudeCliOptions(BaseModel):
    """The `router:` keys of the claude-cli router."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None  # an alias or id, passed to `claude --model` as given
    claude: str | None = None  # the binary; else $AGENTEVAL_CLAUDE, ./.tools, PATH
    base_url: str | None = None
    api_key_env: str = "ANTHROPIC_API_KEY"
    timeout_s: float = Field(default=DEFAULT_DEADLINE_S, gt=0)  # per case, then the group dies
    max_turns: int = Field(default=DEFAULT_MAX_TURNS, gt=0)  # requests per case, all reserved
    scratch_dir: str | None = None  # where the per-case projects go (the system temp folder)
    keep_scratch: bool = False
    prices: dict[str, dict[str, float]] = {}
    project_context: bool = True  # the project's CLAUDE.md files and git, as the CLI reads them


class ClaudeCliRouter:
    """Routes each case by running the installed `claude` headless, one process per case."""

    name = "claude-cli"
    Options = ClaudeCliOptions
    capabilities = Capabilities(
        pricing="per-token", estimate="worst-case", needs_api_key=True, needs_claude_cli=True
    )
    # On the user's Claude Code login (no API key): a subscription plan, not per-token spend.
    ON_PLAN = Capabilities(pricing="plan", estimate="worst-case", needs_claude_cli=True)

    def __init__(
        self,
        *,
        api_key: str = "",
        oauth_token: str = "",
        model: str | None = None,
        claude: str | os.PathLike[str] | None = None,
        base_url: str | None = None,
        deadline_s: float = DEFAULT_DEADLINE_S,
        max_turns: int = DEFAULT_MAX_TURNS,
        scratch_dir: Path | None = None,
        keep_scratch: bool = False,
        extra_args: Sequence[str] = (),
        table: ModelTable | None = None,
        context: ProjectContext = NO_CONTEXT,
    ) -> None:
        if deadline_s <= 0:
            raise RouterError(
                f"claude-cli deadline {deadline_s} must be positive",
                hint="set router.timeout_s to the seconds one case may take (e.g. 300)",
            )
        self.binary = find_binary(claude)  # only looked for: `prepare` runs it
        self.claude_code: ClaudeCode | None = None
        self.alias = model
        self.table = table or model_table()
        self.model = self.table.resolve(model)  # for prices only: the CLI resolves the alias
        self.base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL")
        self.deadline_s = deadline_s
        self.max_turns = max_turns
        self.scratch_dir = scratch_dir
        self.keep_scratch = keep_scratch  # leave each case's folder behind, for inspection
        self.extra_args = tuple(extra_args)
        self.context = context  # laid out in every case's scratch project (`project`)
        self._api_key = api_key
        self._oauth_token = "" if api_key else oauth_token
        for secret in (api_key, oauth_token):
            register_secret(secret)  # so an error that echoes it is redacted everywhere
        if self._oauth_token:
            self.capabilities = self.ON_PLAN
        self._overload_callbacks: list[Callable[[], None]] = []
        self._profiles: ProfileSource | None = None
        self._profile_failed = False
        self._digests: dict[str, str] = {}  # view fingerprint -> files_digest
        self._most_spent = 0.0  # the dearest case so far, as the CLI reported it

    @property
    def cli(self) -> Path:
        return self.binary.path

    def prepare(self, say: Callable[[str], object]) -> None:
        """Ask the CLI its version (once; its answer is part of the fingerprint), remove the
        scratch folders a killed run left behind, and let SIGTERM end the cases cleanly.

        Raises:
            RouterError: when the binary does not answer with a version.
        """
        if self.claude_code is None:
            self.claude_code = identify(self.binary, say)
            if stale := remove_stale(self.scratch_dir):
                say(f"removed {len(stale)} scratch folder(s) left by a killed claude-cli run")
            exit_on_sigterm()

    @property
    def cli_version(self) -> str:
        """The CLI's version, as `prepare` asked it.

        Raises:
            RouterError: before `prepare`.
        """
        if self.claude_code is None:
            raise RouterError(
                "the claude-cli router was used before it asked the CLI its version",
                hint="call prepare() before routing (agenteval run does)",
            )
        return self.claude_code.version

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, offline: bool = False) -> ClaudeCliRouter:
        """Build from an eval config's `router` section: the API key comes from the environment,
        else the user's Claude Code login (`login_token`) is used.

        Args:
            options: The `router:` keys.
            offline: Build it to price cases only (no key needed; `estimate`).

        Raises:
            RouterError: for an unknown option, when there is neither an API key nor a login
                (or the login has expired), or when `claude` cannot be found.
        """
        opts = validate_options(ClaudeCliOptions, options, "claude-cli")
        key = os.environ.get(opts.api_key_env, "").strip()
        token = "" if key else login_token()
        if not key and not token and not offline:
            raise RouterError(
                f"the claude-cli router needs an API key or a Claude Code login, and "
                f"{opts.api_key_env} is not set",
                hint=f"export {opts.api_key_env}=sk-ant-..., or log in with `claude` (or run "
                f"`claude setup-token` and export {OAUTH_ENV}=...)",
            )
        return cls(
            api_key=key,
            oauth_token=token,
            model=opts.model,
            claude=opts.claude,
            base_url=opts.base_url,
            deadline_s=opts.timeout_s,
            max_turns=opts.max_turns,
            scratch_dir=Path(opts.scratch_dir) if opts.scratch_dir else None,
            keep_scratch=opts.keep_scratch,
            table=model_table().with_overrides(opts.prices),
            context=read_project(Path.cwd()) if opts.project_context else NO_CONTEXT,
        )

    @property
    def fingerprint(self) -> str:
        spec = {
            "backend": self.name,
            "cli_version": self.cli_version,
            "model": self.alias,
            "extra_args": self.extra_args,
            "max_turns": self.max_turns,
            "v": ROUTER_VERSION,
            # only when there is one: runs without a project context keep their fingerprints
            **({"context": self.context.digest} if self.context.digest else {}),
        }  # not the binary's path or the base URL: they serve the same answers
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> Mapping[str, Any]:
        return {
            "backend": self.name,
            "model": self.model,
            "alias": self.alias,
            "prompt": "claude-cli",
            "cli_version": self.cli_version,
            "deadline_s": self.deadline_s,
            "max_turns": self.max_turns,
            "prices_as_of": self.table.as_of,
            "price_known": self.model in self.table.prices,
            "project_context": self.context.describe(),
        }

    def on_overload(self, callback: Callable[[], None]) -> None:
        """Register a callback for every 429/529 the CLI retries on its own."""
        self._overload_callbacks.append(callback)

    def _overloaded(self) -> None:
        for callback in self._overload_callbacks:
            callback()

    def request_key(self, request: RouteRequest) -> str:
        """What the CLI is given: the view's agents and skills, the bytes of their files, the
        project context and the request (not the case's context)."""
        files = self._digests.get(request.view.fingerprint)
        if files is None:
            files = self._digests[request.view.fingerprint] = files_digest(request.view)
        text = f"{request.view.fingerprint}\0{files}\0{self.context.digest}\0{request.case.prompt}"
        return hashlib.sha256(text.encode()).hexdigest()

    async def cost_bound(self, request: RouteRequest) -> float | None:
        """The most one case can cost, reserved by the executor before the process starts.

        Every request the main model may make (`max_turns`): the first as the installed CLI
        lays it out for this case (its captured profile: every byte an input token, all of its
        max_tokens as output), each later one larger by a whole answer and a large tool result.
        Never less than the dearest case measured so far. Without a profile: requests as large
        as the context window. None when the model has no price.
        """
        tokens, max_tokens, model = FALLBACK_INPUT_TOKENS, FALLBACK_MAX_TOKENS, self.model
        source = self._profile_source()
        if source is not None:
            try:
                chat = source.chat_request(request.view, request.case.prompt)
                tokens = len(json.dumps(chat.params(), ensure_ascii=False).encode("utf-8"))
                max_tokens, model = chat.max_tokens, chat.model  # the id the CLI sends
            except RouterError:
                self._profile_failed = True
        total = 0.0
        for turn in range(self.max_turns):
            grown = min(tokens + turn * (max_tokens + TOOL_RESULT_TOKENS), FALLBACK_INPUT_TOKENS)
            one = self.table.worst_case(
                model, input_tokens=max(grown, tokens), max_tokens=max_tokens, cacheable=True
            )
            if one is None:
                return None
            total += one
        return max(total, self._most_spent)

    @property
    def profiles(self) -> ProfileSource | None:
        """The installed CLI's captured profiles (for prices, and for the self-check that
        compares its listing of the catalog with agenteval's reading)."""
        return self._profile_source()

    def _profile_source(self) -> ProfileSource | None:
        if self._profiles is None and not self._profile_failed:
            self._profiles = ProfileSource(
                self.binary, alias=self.alias, installed=self.claude_code, context=self.context
            )
        return None if self._profile_failed else self._profiles

    async def route(self, request: RouteRequest) -> Decision:
        """Route one case with one CLI process.

        Raises:
            FatalModelError: when the API refused the key (every later case would fail too).
        """
        start = time.perf_counter()
        with scratch(self.scratch_dir, keep=self.keep_scratch, depth=self.context.depth) as s:
            install = write_install(request.view, s.root)
            notes = install.notes
            self._lay_out_context(s.project)
            write_hold_hook(s, self.deadline_s)
            env = isolated_env(
                s, base_url=self.base_url, api_key=self._api_key, oauth_token=self._oauth_token
            )
            extra = (
                "--max-turns",
                str(self.max_turns),
                *install.plugin_args(s.root),
                *self.extra_args,
            )
            args = claude_args(self.cli, request.case.prompt, self.alias, extra)
            outcome = await run_claude(
                args,
                cwd=s.project,
                env=env,
                deadline_s=self.deadline_s,
                on_overload=self._overloaded,
            )
        if outcome.fatal:
            raise FatalModelError(
                f"claude-cli: {outcome.error}",
                hint="check the key in the router's api_key_env (default ANTHROPIC_API_KEY), or "
                "the Claude Code login when there is no key",
            )
        latency_s = time.perf_counter() - start
        decision = self.decide(outcome, request.view, latency_s=latency_s, notes=notes)
        self._most_spent = max(self._most_spent, decision.cost_usd or 0.0)
        return decision

    def _lay_out_context(self, project: Path) -> None:
        """The project's CLAUDE.md files and git repository (`project.write_project`).

        Raises:
            RouterError: when they cannot be laid out (git missing, say).
        """
        try:
            write_project(self.context, project)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise RouterError(
                f"could not lay out the project context in {project}: {exc}",
                hint="install git, or set `router.project_context: false`",
            ) from exc

    def decide(
        self,
        outcome: CliOutcome,
        view: CatalogView,
        *,
        latency_s: float = 0.0,
        notes: Sequence[str] = (),
    ) -> Decision:
        """Turn what the CLI did into a Decision; ``notes`` (files written as agenteval's reading,
        not the user's bytes) are kept in its ``raw``."""
        model = outcome.model or self.model
        cost = outcome.cost_usd
        if cost is None:  # stopped at the delegation, before the CLI's own total
            u = outcome.usage
            cost = self.table.cost(
                model,
                input_tokens=u.input_tokens,
                output_tokens=u.output_tokens,
                cache_write_tokens=u.cache_write_tokens,
                cache_read_tokens=u.cache_read_tokens,
            )
        common: dict[str, Any] = {"usage": outcome.usage, "cost_usd": cost, "latency_s": latency_s}
        files = {"files_not_copied": list(notes)} if notes else {}
        common["raw"] = json.dumps(files, ensure_ascii=False) if files else ""
        if outcome.delegation is None and outcome.error is not None:
            return Decision(agent=None, error=outcome.error, **common)
        if outcome.delegation is None and outcome.out_of_turns:
            why = f"the main model worked {self.max_turns} turns itself without delegating"
            return Decision(agent=None, rationale=why, **common)
        if outcome.delegation is None:
            return Decision(agent=None, rationale=outcome.result.strip()[:2000], **common)
        d = outcome.delegation
        if d.is_skill:
            call = {"skill": d.label.removeprefix(SKILL_PREFIX), "args": d.prompt}
        else:
            call = {"subagent_type": d.label, "description": d.description, "prompt": d.prompt}
        common["raw"] = json.dumps({**call, **files}, ensure_ascii=False)[:4000]
        if d.label not in view.names and (d.is_skill or d.label in outcome.listed):
            skill = d.label.removeprefix(SKILL_PREFIX)
            return Decision(
                agent=None,
                rationale=f"skill {skill} (not in the catalog) took it"
                if d.is_skill
                else f"built-in {d.label} took it",
                task_prompt=d.prompt or None,
                **common,
            )
        return Decision(
            agent=d.label, rationale=d.description, task_prompt=d.prompt or None, **common
        )

    async def aclose(self) -> None:
        """Nothing to release: every process ends with its case."""
