"""The routing prompt: the catalog presented the way Claude Code presents it to its model.

Everything static (tools, system prompt, the catalog block) is rendered once per catalog view and
reused byte for byte, so that it forms one prompt-cache prefix; the case's request is always the
last block of the last user turn.

Modes:
- ``claude-code``: current builds. An ``Agent`` tool; the catalog in a ``<system-reminder>``
  block at the start of the user turn, headed "Available agent types for the Agent tool:".
- ``claude-code-legacy``: 2.0.x builds. A ``Task`` tool whose description holds the catalog.
- ``classify``: no tools; the model is asked for one agent name (or none) directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader

from agenteval.models.client import ChatRequest
from agenteval.routing.profiles.listing import render_listing
from agenteval.templating import environment
from agenteval.views import AgentView, CatalogView

PROMPT_VERSION = 1
MODES = ("claude-code", "claude-code-legacy", "classify")

# Built-in agents a catalog competes with in real use (a catalog agent of the same name wins).
BUILTINS: tuple[AgentView, ...] = (
    AgentView(
        name="general-purpose",
        description="General-purpose agent for researching complex questions, searching for "
        "code, and executing multi-step tasks. When you are searching for a keyword or file and "
        "are not confident that you will find the right match in the first few tries use this "
        "agent to perform the search for you.",
        tools_text="*",
    ),
    AgentView(
        name="Explore",
        description="Fast agent specialized for exploring codebases. Use this when you need to "
        "quickly find files by patterns, search code for keywords, or answer questions about the "
        "codebase.",
        tools_text="All tools except Agent, ExitPlanMode, Edit, Write, NotebookEdit",
    ),
    AgentView(
        name="Plan",
        description="Software architect agent for designing implementation plans. Use this when "
        "you need to plan the implementation strategy for a task. Returns step-by-step plans.",
        tools_text="All tools except Agent, ExitPlanMode, Edit, Write, NotebookEdit",
    ),
    AgentView(
        name="statusline-setup",
        description="Use this agent to configure the user's Claude Code status line setting.",
        tools_text="Read, Edit",
    ),
)
BUILTIN_NAMES = frozenset(b.name for b in BUILTINS)
CACHE = {"type": "ephemeral"}


@dataclass(frozen=True, kw_only=True)
class PromptPrefix:
    """The static part of every request for one catalog view."""

    system: tuple[dict[str, Any], ...]
    tools: tuple[dict[str, Any], ...]
    lead_blocks: tuple[dict[str, Any], ...]  # user-turn blocks before the request
    listed: frozenset[str]  # every name the model was shown (catalog + built-ins)

    def request(
        self, prompt: str, context: str | None = None, *, model: str, max_tokens: int
    ) -> ChatRequest:
        """The model request for one case's words (the static part shared byte for byte)."""
        blocks: list[dict[str, Any]] = list(self.lead_blocks)
        if context:
            blocks.append({"type": "text", "text": f"(Context: {context})"})
        blocks.append({"type": "text", "text": prompt})
        return ChatRequest(
            model=model,
            max_tokens=max_tokens,
            system=self.system,
            messages=({"role": "user", "content": blocks},),
            tools=self.tools,
            tool_choice={"type": "auto"} if self.tools else None,
        )


@cache
def _env() -> Environment:
    return environment(
        PackageLoader("agenteval.routing", "templates"),
        autoescape=False,  # prompts are plain text for a model, not HTML
        keep_trailing_newline=False,
    )


def listing(agents: Sequence[AgentView]) -> str:
    """One line per agent in Claude Code's order (JavaScript `localeCompare`):
    `- name: description (Tools: ...)`; the same rendering a captured profile replays."""
    return render_listing(agents)


def render_prefix(view: CatalogView, mode: str, *, builtins: bool = False) -> PromptPrefix:
    """Render the static prompt parts for one catalog view."""
    agents = list(view.agents)
    if builtins:
        agents += [b for b in BUILTINS if b.name not in view.names]
    text = listing(agents)
    names = frozenset(a.name for a in agents)
    env = _env()
    if mode == "classify":
        system = env.get_template("classify_system.j2").render(listing=text)
        return PromptPrefix(
            system=({"type": "text", "text": system, "cache_control": CACHE},),
            tools=(),
            lead_blocks=(),
            listed=names,
        )
    legacy = mode == "claude-code-legacy"
    tool_name = "Task" if legacy else "Agent"
    system = env.get_template("claude_code_system.j2").render(tool_name=tool_name)
    tool = {
        "name": tool_name,
        "description": env.get_template("agent_tool.j2").render(
            tool_name=tool_name, listing=text if legacy else ""
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "description": {
                    "type": "string",
                    "description": "A short (3-5 word) description of the task",
                },
                "prompt": {"type": "string", "description": "The task for the agent to perform"},
                "subagent_type": {
                    "type": "string",
                    "description": "The type of specialized agent to use for this task",
                },
            },
            "required": ["description", "prompt"] + (["subagent_type"] if legacy else []),
        },
    }
    if legacy:
        return PromptPrefix(
            system=({"type": "text", "text": system, "cache_control": CACHE},),
            tools=(tool,),
            lead_blocks=(),
            listed=names,
        )
    reminder = env.get_template("catalog_reminder.j2").render(tool_name=tool_name, listing=text)
    return PromptPrefix(
        system=({"type": "text", "text": system},),
        tools=(tool,),
        lead_blocks=({"type": "text", "text": reminder, "cache_control": CACHE},),
        listed=names,
    )
