"""The API router: ask a model, through any `ModelClient`, which agent it would delegate to.

The request is the installed CLI's captured profile (`routing/profiles`) with the case's listing
and words, or, without a CLI, laid out by a prompt mode of `routing/prompt.py` (`approximate`:
agenteval's own paraphrase, none of Claude Code's text); the answer's first `Agent`/`Task` tool
call names the agent (no call: the model handled it itself, `none`). The product path is
the Anthropic SDK client; tests hand it a `MockClient`. Before each request the executor reserves
its worst case: its input tokens (counted once per catalog view with the free count-tokens call,
plus the request's own bytes) and all of `max_tokens` as output, at the model's prices.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agenteval.claude_code_install import ClaudeCode
from agenteval.errors import RouterError
from agenteval.models.client import ChatRequest, Completion, FatalModelError, ModelClient
from agenteval.models.pricing import model_table
from agenteval.routing import Capabilities, Decision, RouteRequest, validate_options
from agenteval.routing.picks import pick_of
from agenteval.routing.profiles.profile import Placement
from agenteval.routing.profiles.project import NO_CONTEXT, read_project
from agenteval.routing.profiles.source import ProfileSource, reason
from agenteval.routing.prompt import (
    BUILTIN_NAMES,
    PROMPT_VERSION,
    PromptPrefix,
    render_prefix,
)
from agenteval.views import CatalogView

DEFAULT_MAX_TOKENS = 4096  # thinking blocks count toward max_tokens: leave room beyond the answer
# `approximate` is the built-in paraphrase, laid out as `prompt.py`'s current-build mode
_RENDERED_AS = {"approximate": "claude-code"}


class PromptOptions(BaseModel):
    """The `router:` keys of the anthropic router."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    client: Literal["anthropic", "mock"] = "anthropic"  # mock: offline, answers without delegating
    prompt: Literal["claude-code", "approximate", "claude-code-legacy", "classify"] = "claude-code"
    placement: Literal["exact", "cacheable"] = "exact"
    claude: str | None = None  # the CLI whose profile `claude-code` replays (else found)
    builtins: bool = False
    max_tokens: int | None = Field(default=None, ge=1, le=128_000)
    base_url: str | None = None
    api_key_env: str = "ANTHROPIC_API_KEY"
    send_context: bool = False
    prices: dict[str, dict[str, float]] = {}
    timeout_s: float | None = Field(default=None, gt=0)
    # the CLAUDE.md files and git facts of the project agenteval runs in, in the captured profile
    project_context: bool = True


class PromptRouter:
    """Routes with a model, presenting the catalog as Claude Code does."""

    name = "anthropic"
    Options = PromptOptions
    capabilities = Capabilities(pricing="per-token", estimate="tokens", needs_api_key=True)

    def __init__(
        self,
        client: ModelClient,
        *,
        model: str | None = None,
        mode: str = "claude-code",
        builtins: bool = False,
        max_tokens: int | None = None,
        send_context: bool = False,
        profiles: ProfileSource | None = None,
        approximate_reason: str = "",
    ) -> None:
        self.client = client
        self.table = client.table
        self.alias = model or self.table.default_alias
        self.profiles = profiles if mode == "claude-code" else None
        self.approximate_reason = approximate_reason
        self.builtins_option = builtins
        self.max_tokens_override = max_tokens
        self.send_context = send_context
        if mode == "claude-code" and self.profiles is None:
            mode = "approximate"  # no CLI to read the real layout from: say so, never pretend
            self.approximate_reason = approximate_reason or "no Claude Code profile given"
        self.mode = mode
        self.placement = self.profiles.placement if self.profiles else None
        # until `prepare` reads the captured profile: the price table's id and limit
        self.model = client.resolve_model(model)
        self.alias_source = f"data/models.yaml ({self.table.as_of})"
        self.builtins = builtins or self.profiles is not None  # the CLI always lists its own
        self.max_tokens = max_tokens or DEFAULT_MAX_TOKENS
        self.prepared = self.profiles is None
        self._prefixes: dict[str, PromptPrefix] = {}
        self._view_tokens: dict[str, int] = {}
        self._counting: dict[str, asyncio.Lock] = {}

    def prepare(self, say: Callable[[str], object]) -> None:
        """Ask the installed CLI its version and load (or capture) its request layout.

        Without a CLI that answers, the router falls back to the approximate layout and says why.

        Raises:
            CaptureError: when the CLI's request cannot be captured or understood.
        """
        if self.prepared or self.profiles is None:
            return
        try:
            self.profiles.identify(say)
        except RouterError as exc:
            self.profiles, self.placement, self.mode = None, None, "approximate"
            self.builtins = self.builtins_option
            self.approximate_reason = reason(exc)
        else:
            captured = self.profiles.profile()
            self.model = captured.model  # the id the installed CLI sends for the alias
            self.alias_source = f"Claude Code {self.profiles.version}"
            self.max_tokens = self.max_tokens_override or int(captured.body["max_tokens"])
        self.prepared = True

    @property
    def claude_code(self) -> ClaudeCode | None:
        """The Claude Code whose layout is replayed, once prepared."""
        return self.profiles.installed if self.profiles is not None else None

    def _ready(self) -> None:
        if not self.prepared:
            raise RouterError(
                "the anthropic router replays Claude Code's request layout, which is not read yet",
                hint="call prepare() before routing (agenteval run and estimate do)",
            )

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, offline: bool = False) -> PromptRouter:
        """Build from a config's `router:` keys, with an Anthropic SDK client.

        Args:
            options: The `router:` keys.
            offline: Build it to render and price requests only (no key needed; `estimate`).

        Raises:
            RouterError: for invalid options or a missing API key.
        """
        from agenteval.models.anthropic import AnthropicClient

        opts = validate_options(PromptOptions, options, "anthropic")
        table = model_table().with_overrides(opts.prices)
        profiles, reason = None, ""
        if opts.prompt == "claude-code":
            profiles, reason = ProfileSource.find(
                opts.claude,
                alias=opts.model or table.default_alias,
                placement=opts.placement,
                context=read_project(Path.cwd()) if opts.project_context else NO_CONTEXT,
            )
        client: ModelClient
        if opts.client == "mock":
            from agenteval.models.mock import MockClient

            client = MockClient(table=table)
        elif offline:
            client = AnthropicClient(api_key="", model=opts.model, table=table)
        else:
            client = AnthropicClient.from_env(
                api_key_env=opts.api_key_env,
                model=opts.model,
                base_url=opts.base_url,
                deadline_s=opts.timeout_s,
                table=table,
            )
        return cls(
            client,
            model=opts.model,
            mode=opts.prompt,
            builtins=opts.builtins,
            max_tokens=opts.max_tokens,
            send_context=opts.send_context,
            profiles=profiles,
            approximate_reason=reason,
        )

    @property
    def fingerprint(self) -> str:
        self._ready()
        spec = {
            "backend": self.name,
            "client": self.client.name,
            "model": self.model,
            "mode": self.mode,
            "builtins": self.builtins,
            "max_tokens": self.max_tokens,
            "prompt_version": PROMPT_VERSION,
            "send_context": self.send_context,
            "profile": self.profiles.identity() if self.profiles else None,
        }  # not the base URL: a proxy or another endpoint serves the same model's answers
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> Mapping[str, Any]:
        self._ready()
        return {
            "backend": self.name,
            "client": self.client.name,
            "model": self.model,
            "alias": self.alias,
            "prompt": self.mode,
            "profile": self.profiles.version if self.profiles else "approximate",
            "placement": self.placement,
            "alias_source": self.alias_source,
            "builtins": self.builtins,
            "max_tokens": self.max_tokens,
            "prices_as_of": self.table.as_of,
            "price_known": self.model in self.table.prices,
            **(
                {"approximate_reason": self.approximate_reason}
                if self.mode == "approximate"
                else {}
            ),
            **(
                {
                    "project_context": self.profiles.context.describe(),
                    "profile_changes": list(self.profiles.notes),
                }
                if self.profiles
                else {}
            ),
        }

    def request_key(self, request: RouteRequest) -> str:
        context = request.case.context if self.send_context else ""
        text = f"{request.view.fingerprint}\0{request.case.prompt}\0{context or ''}"
        if self.profiles is not None:  # an empty view has a profile of its own
            text += "\0" + self.profiles.digest_for(request.view)
        return hashlib.sha256(text.encode()).hexdigest()

    def prefix(self, view: CatalogView) -> PromptPrefix:
        prefix = self._prefixes.get(view.fingerprint)
        if prefix is None:
            mode = _RENDERED_AS.get(self.mode, self.mode)
            prefix = render_prefix(view, mode, builtins=self.builtins)
            self._prefixes[view.fingerprint] = prefix
        return prefix

    def chat_request(self, request: RouteRequest) -> ChatRequest:
        """The full model request for one case (also used for batches and counting)."""
        context = request.case.context if self.send_context else None
        return self._request(request.view, request.case.prompt, context)

    def _request(self, view: CatalogView, prompt: str, context: str | None) -> ChatRequest:
        self._ready()
        if self.profiles is not None:
            text = f"(Context: {context})\n\n{prompt}" if context else prompt
            return self.profiles.chat_request(view, text, max_tokens=self.max_tokens_override)
        return self.prefix(view).request(
            prompt, context, model=self.model, max_tokens=self.max_tokens
        )

    async def cost_bound(self, request: RouteRequest) -> float | None:
        chat = self.chat_request(request)
        tokens = await self._view_input_tokens(request.view) + len(
            request.case.prompt.encode("utf-8")
        )
        if self.send_context and request.case.context:
            tokens += len(request.case.context.encode("utf-8"))
        return self.table.worst_case(
            self.model, input_tokens=tokens, max_tokens=self.max_tokens, cacheable=chat.cacheable
        )

    async def _view_input_tokens(self, view: CatalogView) -> int:
        """Input tokens of a view's request without the case's words (counted once per view)."""
        known = self._view_tokens.get(view.fingerprint)
        if known is not None:
            return known
        lock = self._counting.setdefault(view.fingerprint, asyncio.Lock())
        async with lock:
            if view.fingerprint not in self._view_tokens:
                empty = self._request(view, "", None)
                try:
                    count = await self.client.count_tokens(empty)
                except FatalModelError:
                    raise
                except Exception:  # counting is a courtesy: bytes never undercount tokens
                    count = len(json.dumps(empty.params(), ensure_ascii=False).encode())
                self._view_tokens[view.fingerprint] = count
        return self._view_tokens[view.fingerprint]

    async def route(self, request: RouteRequest) -> Decision:
        completion = await self.client.complete(self.chat_request(request))
        return self.decide(completion, request.view)

    def decide(self, completion: Completion, view: CatalogView) -> Decision:
        """Turn one answer (live or from a batch) into a Decision."""
        common: dict[str, Any] = {
            "usage": completion.usage,
            "cost_usd": completion.cost_usd,
            "latency_s": completion.latency_s,
        }
        if completion.error is not None:
            return Decision(
                agent=None,
                error=completion.error,
                maybe_billed=completion.maybe_billed,
                **common,
            )
        rationale = completion.text.strip()
        calls = ((t, pick_of(t.name, t.input)) for t in completion.tool_uses)
        call, pick = next(((t, p) for t, p in calls if p is not None), (None, None))
        picked = raw = task = None
        if call is not None and pick is not None:
            picked, task = pick.label, pick.prompt or None
            raw = json.dumps(dict(call.input), ensure_ascii=False)[:2000]
        if call is None and completion.stop_reason == "max_tokens":
            # cut off before it chose (thinking can use the budget): no answer, not `none`
            return Decision(
                agent=None,
                error=f"answer cut off at max_tokens ({self.max_tokens}) before a choice; "
                "raise router.max_tokens",
                rationale=rationale,
                **common,
            )
        if self.mode == "classify":
            picked, raw = _classified(rationale, view), rationale[-200:]
        elif picked is not None and picked in self.builtin_names and picked not in view.names:
            raw, picked = picked, None  # a built-in took it: no catalog agent did
        elif pick is not None and pick.is_skill and picked not in view.names:
            raw, picked = picked, None  # a skill outside the catalog (a built-in one) took it
        elif picked is not None:
            picked = _match_name(picked, view)
        return Decision(
            agent=picked,
            raw=raw or (picked or ""),
            rationale=rationale,
            task_prompt=task if isinstance(task, str) else None,
            **common,
        )

    def with_placement(self, placement: Placement) -> PromptRouter:
        """This router with the captured profile's listing placed another way (for estimates)."""
        twin = copy.copy(self)
        if self.profiles is not None:
            twin.profiles = self.profiles.with_placement(placement)
            twin.placement = placement
            twin._view_tokens = {}
            twin._counting = {}
        return twin

    @property
    def builtin_names(self) -> frozenset[str]:
        """The built-ins a pick may name: the installed CLI's, else the paraphrase's."""
        return self.profiles.builtin_names() if self.profiles else BUILTIN_NAMES

    async def aclose(self) -> None:
        await self.client.aclose()


def _match_name(name: str, view: CatalogView) -> str:
    """The catalog's spelling of a name the model wrote with other case (else the name as is)."""
    if name in view.names:
        return name
    lowered = {n.lower(): n for n in view.names}
    return lowered.get(name.lower(), name)


def _classified(text: str, view: CatalogView) -> str | None:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    answer = re.sub(r"^(agent|answer)\s*:\s*", "", lines[-1], flags=re.I).strip(" `*\"'.")
    if answer.lower() in {"none", "no agent", "no-agent", "null"}:
        return None
    return _match_name(answer, view)
