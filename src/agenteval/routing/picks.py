"""What a model's tool call picks: an agent (the Agent tool, `Task` on 2.0.x builds) or a skill.

Claude Code's main model hands a request on with one of two tools: `Agent` (`subagent_type`
names the agent; without one the CLI uses general-purpose) or `Skill` (`skill` names the skill).
Every router that reads a model's answer (the API router, the claude-cli router's stream) turns
the call into a scored label here: the agent's name, or `skill:NAME` for a skill, so agents and
skills stay apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agenteval.catalog.skills import SKILL_PREFIX

DELEGATION_TOOLS = ("Agent", "Task")
SKILL_TOOL = "Skill"
PICKING_TOOLS = (*DELEGATION_TOOLS, SKILL_TOOL)
DEFAULT_AGENT = "general-purpose"  # what the CLI runs when an Agent call names no agent


@dataclass(frozen=True, kw_only=True)
class Pick:
    """One picking call: the label it picks, and the words it hands on."""

    label: str  # an agent's name, or `skill:NAME`
    prompt: str  # the Agent call's `prompt`, or the Skill call's `args`
    description: str = ""
    tool: str

    @property
    def is_skill(self) -> bool:
        return self.tool == SKILL_TOOL


def pick_of(tool: str, arguments: Mapping[str, Any] | None) -> Pick | None:
    """The pick a tool call makes, or None for a tool that picks nothing."""
    if tool not in PICKING_TOOLS:
        return None
    args: Mapping[str, Any] = arguments if isinstance(arguments, Mapping) else {}
    if tool == SKILL_TOOL:
        name = str(args.get("skill") or "").strip().removeprefix("/")
        return Pick(label=SKILL_PREFIX + name, prompt=_text(args.get("args")), tool=tool)
    return Pick(
        label=str(args.get("subagent_type") or DEFAULT_AGENT).strip(),
        prompt=_text(args.get("prompt")),
        description=_text(args.get("description")),
        tool=tool,
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
