"""The routing prompt of the ``approximate`` mode: agenteval's own paraphrase of how Claude Code
presents a catalog to its model, used when no Claude Code CLI is installed to capture from.

Nothing here is Claude Code's text: the system prompt, the tool descriptions (templates/*.j2) and
the built-in agents' descriptions are written by agenteval. What is kept from the real CLI is
fact only: the tool names (`Agent`, `Task`), the tool's input fields (`subagent_type`,
`description`, `prompt`), the built-in agents' names, the `- NAME: DESCRIPTION (Tools: TOOLS)`
entry format and its order, and where the list sits in the request. The exact request is the
captured profile's business (`routing/profiles`), read from the user's CLI at run time.

Everything static (tools, system prompt, the catalog block) is rendered once per catalog view and
reused byte for byte, so that it forms one prompt-cache prefix; the case's request is always the
last block of the last user turn.

Modes:
- ``claude-code``: laid out like current builds. An ``Agent`` tool; the catalog in a
  ``<system-reminder>`` block at the start of the user turn, under a heading of our own.
- ``claude-code-legacy``: laid out like 2.0.x builds. A ``Task`` tool whose description holds the
  catalog.
- ``classify``: no tools; the model is asked for one agent name (or none) directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader

from agenteval.models.client import ChatRequest
from agenteval.routing.profiles.listing import render_listing, render_skills
from agenteval.templating import environment
from agenteval.views import AgentView, CatalogView

PROMPT_VERSION = 2  # 2: agenteval's own wording throughout (1 held Claude Code's text)
MODES = ("claude-code", "claude-code-legacy", "classify")

# Built-in agents a catalog competes with in real use (a catalog agent of the same name wins):
# the CLI's names and tool sets, with descriptions of agenteval's own.
BUILTINS: tuple[AgentView, ...] = (
    AgentView(
        name="general-purpose",
        description="Takes on open-ended work of any kind: investigating a question across the "
        "code base, hunting for code whose location is unclear, or carrying out a job of several "
        "steps from start to finish.",
        tools_text="*",
    ),
    AgentView(
        name="Explore",
        description="Looks around a code base quickly without changing it: finds files by name "
        "pattern, searches the code for words, and answers questions about how it is organised.",
        tools_text="All tools except Agent, ExitPlanMode, Edit, Write, NotebookEdit",
    ),
    AgentView(
        name="Plan",
        description="Works out how to carry out a change before any code is written: the "
        "approach, the steps in order, and the files they touch.",
        tools_text="All tools except Agent, ExitPlanMode, Edit, Write, NotebookEdit",
    ),
    AgentView(
        name="statusline-setup",
        description="Sets up the status line that Claude Code shows at the bottom of the terminal.",
        tools_text="Read, Edit",
    ),
)
BUILTIN_NAMES = frozenset(b.name for b in BUILTINS)
# Offered only when the catalog has skills (agenteval's wording; the input fields are the CLI's).
SKILL_TOOL = {
    "name": "Skill",
    "description": "Load one of the listed skills and follow it to handle the request. Name "
    "the skill exactly as listed; pass any words it needs as args.",
    "input_schema": {
        "type": "object",
        "properties": {
            "skill": {"type": "string", "description": "The listed skill's name"},
            "args": {"type": "string", "description": "Words for the skill, if any"},
        },
        "required": ["skill"],
    },
}
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
    names = frozenset(a.name for a in agents) | frozenset(sk.label for sk in view.skills)
    env = _env()
    if mode == "classify":
        labelled = [replace(sk, name=sk.label) for sk in view.skills]
        system = env.get_template("classify_system.j2").render(
            listing=text, skills=render_skills(labelled)
        )
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
                    "description": "What the agent is about to do, in a few words",
                },
                "prompt": {"type": "string", "description": "The full brief the agent works from"},
                "subagent_type": {
                    "type": "string",
                    "description": "The name of the listed agent to start",
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
    reminder = env.get_template("catalog_reminder.j2").render(
        tool_name=tool_name, listing=text, skills=render_skills(view.skills)
    )
    return PromptPrefix(
        system=({"type": "text", "text": system},),
        tools=(tool, SKILL_TOOL) if view.skills else (tool,),
        lead_blocks=({"type": "text", "text": reminder, "cache_control": CACHE},),
        listed=names,
    )
