"""`<example>` blocks pulled out of an agent's description: its turns, commentary and tags."""

from __future__ import annotations

import bisect
import functools
import html
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agenteval.catalog import Agent

_EXAMPLE = re.compile(r"<example>(.*?)(</example>|(?=<example>)|\Z)", re.S | re.I)
_COMMENTARY = re.compile(r"<commentary>(.*?)(?:</commentary>|(?=<commentary>)|\Z)", re.S | re.I)
_TURN = re.compile(r"(?<![A-Za-z])(context|user|human|assistant|agent|claude)\s*:", re.I)
_SPEAKER = {
    "context": "context",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "agent": "assistant",
    "claude": "assistant",
}
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "`": "`"}


@dataclass(frozen=True, kw_only=True)
class Example:
    """One `<example>` block of an agent's description."""

    index: int
    context: str | None
    user: str | None
    assistant: str | None
    commentary: str | None
    line: int
    span: tuple[int, int]
    closed: bool = True
    tags: tuple[str, ...] = ()


def extract_examples(agent: Agent, names: Collection[str] = ()) -> tuple[Example, ...]:
    """Every `<example>` block of the agent's description, in order.

    Args:
        agent: The agent whose description to read.
        names: Other agent names of the catalog, to tag examples whose assistant turn delegates
            to a different agent.
    """
    examples = []
    name_set = set(names)
    raw = agent.raw_frontmatter
    raw_positions = [m.start() for m in re.finditer(r"<example>", raw, re.I)]
    for i, (start, end, block, closed) in enumerate(_example_blocks(agent.description)):
        turns, commentary = _split_turns(block)
        users = turns.get("user", [])
        assistants = turns.get("assistant", [])
        assistant = "\n".join(assistants) or None
        tags = []
        lowered = f"{' '.join(commentary)} {assistant or ''}".lower()
        # proactive: the commentary says so, or the assistant did the work before delegating
        acted_first = (
            len(assistants) > 1
            and "agent" not in assistants[0].lower()
            and not (assistants[0].rstrip("\"' ").endswith("?"))
        )
        if "proactive" in lowered or acted_first:
            tags.append("proactive")
        if len(users) > 1:
            tags.append("multi-turn")
        mentioned = {w.rstrip(".") for w in re.findall(r"[\w.-]+", assistant or "")} & name_set
        if mentioned - {agent.name} and agent.name not in mentioned:
            tags.append("names-other-agent")
        line = agent.description_line
        if i < len(raw_positions):
            line = agent.line + 1 + raw[: raw_positions[i]].count("\n")
        examples.append(
            Example(
                index=i + 1,
                context=_clean(" ".join(turns.get("context", []))) or None,
                user=users[0] if users else None,
                assistant=assistant,
                commentary=_clean("\n".join(commentary)) or None,
                line=line,
                span=(start, end),
                closed=closed,
                tags=tuple(tags),
            )
        )
    return tuple(examples)


def _example_blocks(text: str) -> Iterable[tuple[int, int, str, bool]]:
    """(start, end, body, closed) of each `<example>` block: it ends at `</example>`, at the
    next `<example>` or at the end of the text, whichever comes first."""
    low = text.lower()
    if len(low) != len(text):  # lower-casing moved characters: keep the regex
        for m in _EXAMPLE.finditer(text):
            yield m.start(), m.end(), m.group(1), bool(m.group(2))
        return
    at = low.find("<example>")
    while at >= 0:
        body = at + len("<example>")
        close = low.find("</example>", body)
        following = low.find("<example>", body)
        if close >= 0 and (following < 0 or close < following):
            yield at, close + len("</example>"), text[body:close], True
            at = low.find("<example>", close + len("</example>"))
        elif following >= 0:
            yield at, following, text[body:following], False
            at = following
        else:
            yield at, len(text), text[body:], False
            at = -1


def _split_turns(block: str) -> tuple[dict[str, list[str]], list[str]]:
    commentary = [c.group(1) for c in _COMMENTARY.finditer(block)]
    text = _COMMENTARY.sub("\n", block)
    turns: dict[str, list[str]] = {}
    markers = _turn_markers(text)
    for j, mk in enumerate(markers):
        end = markers[j + 1].start() if j + 1 < len(markers) else len(text)
        speaker = _SPEAKER[mk.group(1).lower()]
        value = _clean(text[mk.end() : end])
        if value:
            turns.setdefault(speaker, []).append(value)
    return turns, commentary


def _turn_markers(text: str) -> list[re.Match[str]]:
    """Turn markers, ignoring words like `user:` inside a quoted turn (`"set the user: field"`).

    A quoted turn ends at its quote character followed by a line break, a tag, the next marker
    or the end, so an apostrophe inside single quotes (`'I've added it'`) does not end it early.
    Linear in the text: the places where each kind of quote can end a turn are found in one
    scan, then looked up by position (an unclosed quote no longer rescans the rest per marker).
    """
    kept: list[re.Match[str]] = []
    closes: dict[str, list[int]] = {}
    skip_until = -1
    for mk in _TURN.finditer(text):
        if mk.start() < skip_until:
            continue
        kept.append(mk)
        spaces = _SPACES.match(text, mk.end())  # `\s*` always matches
        at = spaces.end() if spaces else mk.end()
        close = _QUOTES.get(text[at : at + 1])
        if close:
            if close not in closes:
                closes[close] = [m.start() for m in _quote_end(close).finditer(text)]
            ends = closes[close]
            k = bisect.bisect_left(ends, at + 1)
            skip_until = ends[k] if k < len(ends) else -1
    return kept


_SPACES = re.compile(r"\s*")


@functools.cache
def _quote_end(close: str) -> re.Pattern[str]:
    return re.compile(re.escape(close) + r"[ \t]*(?:\n|(?=<)|(?=" + _TURN.pattern + r")|$)", re.I)


_TAGS = re.compile(r"</?commentary>|</?example>", re.I)


def _clean(text: str) -> str:
    if "&" in text:
        text = html.unescape(text)
    text = _TAGS.sub("", text.strip()).strip()
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text
