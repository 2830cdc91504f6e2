"""The routing prompt, rendered without any network: what the model is shown, and in what order;
and that its wording is agenteval's own (compared with what the installed CLI sends)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

from cli_support import claude_path

from agenteval.routing.profiles.capture import capture_requests
from agenteval.routing.prompt import BUILTINS, MODES, listing, render_prefix
from agenteval.views import AgentView, CatalogView

VIEW = CatalogView(
    fold=None,
    agents=(
        AgentView(name="zeta-writer", description="Writes docs.\nMultiline.", tools_text="Read"),
        AgentView(name="Alpha-db", description="Tunes SQL.", tools_text="All tools"),
        AgentView(name="Explore", description="Our own explorer.", tools_text="Read, Grep"),
    ),
)


def test_listing_is_sorted_case_insensitively_one_entry_per_agent():
    text = listing(VIEW.agents)
    assert text.splitlines()[0] == "- Alpha-db: Tunes SQL. (Tools: All tools)"
    assert text.index("- Explore:") < text.index("- zeta-writer:")
    assert "- zeta-writer: Writes docs.\nMultiline. (Tools: Read)" in text  # never truncated


def test_claude_code_mode_puts_the_catalog_in_a_cached_reminder_before_the_request():
    prefix = render_prefix(VIEW, "claude-code")
    params = prefix.request(
        "please tune my query", context="They use Postgres 16.", model="m", max_tokens=1
    ).params()
    blocks = params["messages"][-1]["content"]
    reminder = blocks[0]["text"]  # the listing, whole, inside one reminder block
    assert reminder.startswith("<system-reminder>\n") and reminder.endswith("\n</system-reminder>")
    assert f"\n{listing(VIEW.agents)}\n</system-reminder>" in reminder
    assert blocks[0]["cache_control"] == {"type": "ephemeral"}
    assert blocks[1]["text"] == "(Context: They use Postgres 16.)"
    assert blocks[-1] == {"type": "text", "text": "please tune my query"}
    assert params["tools"][0]["name"] == "Agent" and params["tool_choice"] == {"type": "auto"}
    assert "temperature" not in params


def test_prefix_is_byte_identical_across_requests():
    prefix = render_prefix(VIEW, "claude-code")
    a, b = (
        prefix.request("first request", model="m", max_tokens=1).params(),
        prefix.request("second request", model="m", max_tokens=1).params(),
    )

    def strip(p):
        return json.dumps({**p, "messages": p["messages"][-1]["content"][:-1]}, sort_keys=True)

    assert strip(a) == strip(b)


def test_legacy_mode_lists_the_catalog_inside_the_task_tool():
    prefix = render_prefix(VIEW, "claude-code-legacy")
    tool = prefix.tools[0]
    assert tool["name"] == "Task" and "subagent_type" in tool["input_schema"]["required"]
    assert f"\n{listing(VIEW.agents)}\n" in tool["description"]
    assert prefix.system[-1]["cache_control"] == {"type": "ephemeral"}
    assert prefix.lead_blocks == ()


def test_classify_mode_has_no_tools_and_caches_the_system_prompt():
    prefix = render_prefix(VIEW, "classify")
    params = prefix.request("x", model="m", max_tokens=1).params()
    assert "tools" not in params
    assert "- Alpha-db: Tunes SQL." in params["system"][0]["text"]
    assert params["messages"] == [{"role": "user", "content": [{"type": "text", "text": "x"}]}]


def test_builtins_compete_but_a_catalog_agent_of_the_same_name_wins():
    prefix = render_prefix(VIEW, "claude-code", builtins=True)
    text = prefix.lead_blocks[0]["text"]
    assert "- general-purpose:" in text and "(Tools: *)" in text
    assert text.count("- Explore:") == 1 and "Our own explorer." in text
    assert {b.name for b in BUILTINS} - {"Explore"} <= prefix.listed


# ------------------------------------------------------------------------------------------
# The approximate prompt is agenteval's paraphrase: no run of words from the CLI's own text
# ------------------------------------------------------------------------------------------

RUN = 6  # words in a row that two texts may not share


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def _runs(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+(?:['’-][a-z0-9]+)*", text.lower())
    return {" ".join(words[i : i + RUN]) for i in range(len(words) - RUN + 1)}


def _our_prose() -> dict[str, str]:
    """Every text of the approximate prompt that agenteval wrote: each mode's system prompt, tool
    and lead blocks with the catalog's own entries taken out, and the built-ins' descriptions."""
    entries = listing(VIEW.agents)
    texts: dict[str, str] = {}
    for mode in MODES:
        prefix = render_prefix(VIEW, mode)
        parts = [*prefix.system, *prefix.tools, *prefix.lead_blocks]
        texts[mode] = "\n".join(_strings(parts)).replace(entries, "\n")
    texts.update({f"built-in {b.name}": b.description for b in BUILTINS})
    return texts


def test_the_approximate_prompt_shares_no_wording_with_the_installed_cli():
    (capture,) = asyncio.run(capture_requests(claude_path(), (), ["SENTINEL-wording"]))
    theirs = set().union(*(_runs(t) for t in _strings(capture.request.body)))
    shared = {name: sorted(_runs(text) & theirs) for name, text in _our_prose().items()}
    assert not any(shared.values()), {k: v for k, v in shared.items() if v}


def test_the_built_ins_keep_the_cli_names_with_descriptions_of_our_own():
    assert [b.name for b in BUILTINS] == ["general-purpose", "Explore", "Plan", "statusline-setup"]
    prefix = render_prefix(CatalogView(fold=None, agents=()), "claude-code", builtins=True)
    assert prefix.lead_blocks[0]["text"].count("\n- ") == len(BUILTINS)


SKILLED = CatalogView(
    fold=None,
    agents=VIEW.agents,
    skills=(
        AgentView(name="deploy", description="Ships &lt;main&gt;.", tools_text="", kind="skill"),
        AgentView(name="plug:notes", description="", tools_text="", kind="skill", brief=True),
    ),
)


def test_claude_code_mode_offers_the_catalogs_skills_with_a_skill_tool():
    prefix = render_prefix(SKILLED, "claude-code")
    assert [t["name"] for t in prefix.tools] == ["Agent", "Skill"]
    skill_tool = prefix.tools[1]
    assert set(skill_tool["input_schema"]["properties"]) == {"skill", "args"}
    reminder = prefix.lead_blocks[0]["text"]
    assert "- deploy: Ships &lt;main&gt;.\n- plug:notes\n" in reminder
    assert reminder.index("- deploy:") > reminder.index("- " + VIEW.agents[0].name)
    assert {"skill:deploy", "skill:plug:notes"} <= prefix.listed
    # a catalog with no skill is offered none, and its prefix is as before
    assert [t["name"] for t in render_prefix(VIEW, "claude-code").tools] == ["Agent"]


def test_classify_mode_offers_skills_by_their_label():
    system = render_prefix(SKILLED, "classify").system[0]["text"]
    assert "- skill:deploy: Ships &lt;main&gt;." in system and "- skill:plug:notes" in system
