"""The agent listing as Claude Code renders it: one line per agent, in the CLI's order.

`render_listing` is the one function the catalog's Claude Code reading (issue 9) can replace:
until then it renders `views.CatalogView` agents (name, description, tools text) itself.

Order is JavaScript's `localeCompare` (ICU root collation) on the name, built-ins interleaved
with the catalog. `locale_key` reproduces it for ASCII names: punctuation before digits before
letters (`_ - , ; : ! ? . ' " ( ) [ ] { } @ * / \\ & # % ` ^ + < = > | ~ $`), letters compared
without case first and lower case before upper case only to break a tie. Other characters sort
after ASCII by code point, case-folded: an approximation the capture checks against the CLI's own
order (a capture whose order differs fails and says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agenteval.views import AgentView

_PUNCTUATION = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
_PRIMARY = {c: i for i, c in enumerate(" \t\n\r" + _PUNCTUATION, start=1)}
_DIGIT_BASE = len(_PRIMARY) + 1
_LETTER_BASE = _DIGIT_BASE + 10
_OTHER_BASE = _LETTER_BASE + 26


def _primary(c: str) -> int:
    if c in _PRIMARY:
        return _PRIMARY[c]
    if "0" <= c <= "9":
        return _DIGIT_BASE + ord(c) - ord("0")
    low = c.lower()
    if "a" <= low <= "z" and c.isascii():
        return _LETTER_BASE + ord(low) - ord("a")
    return _OTHER_BASE + ord(c.casefold()[0])


def locale_key(name: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A sort key that orders names as JavaScript's `a.localeCompare(b)` does (ASCII names)."""
    primary = tuple(_primary(c) for c in name)
    tertiary = tuple(1 if c.isupper() else 0 for c in name)  # lower case first on a tie
    return primary, tertiary


def cli_order(agents: Iterable[AgentView]) -> list[AgentView]:
    """Agents in the order the CLI lists them."""
    return sorted(agents, key=lambda a: locale_key(a.name))


def entry(agent: AgentView) -> str:
    """One agent's entry: `- NAME: DESCRIPTION (Tools: TOOLS)` (a description may span lines)."""
    return f"- {agent.name}: {agent.description} (Tools: {agent.tools_text})"


def skill_entry(skill: AgentView) -> str:
    """One skill's entry in the Skill tool's list: `- NAME: DESCRIPTION`, or `- NAME (TITLE): ...`
    when its frontmatter names it otherwise, or `- NAME` alone beyond the list's budget
    (`catalog.skills.Skill.line`)."""
    shown = f"{skill.name} ({skill.title})" if skill.title else skill.name
    return f"- {shown}" if skill.brief else f"- {shown}: {skill.description}"


def render_skills(skills: Sequence[AgentView]) -> str:
    """The catalog's part of the Skill tool's list (the CLI's built-in skills follow it)."""
    return "\n".join(skill_entry(s) for s in skills)


def merge_builtins(agents: Sequence[AgentView], builtins: Sequence[AgentView]) -> list[AgentView]:
    """The catalog plus the built-ins it does not override (a catalog agent wins a name), in
    CLI order."""
    names = {a.name for a in agents}
    return cli_order([*agents, *(b for b in builtins if b.name not in names)])


def render_listing(agents: Sequence[AgentView], builtins: Sequence[AgentView] = ()) -> str:
    """The listing text the CLI shows its model for these agents and built-ins."""
    return "\n".join(entry(a) for a in merge_builtins(agents, builtins))


def parse_entry(text: str) -> AgentView:
    """The agent of one entry as rendered (the inverse of `entry`, for built-ins read back)."""
    head, _, rest = text.removeprefix("- ").partition(": ")
    description, sep, tools = rest.rpartition(" (Tools: ")
    if not sep:
        return AgentView(name=head, description=rest, tools_text="")
    return AgentView(name=head, description=description, tools_text=tools.removesuffix(")"))
