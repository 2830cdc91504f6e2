"""What the proposer sees and says: the worst confusions, a prompt, and a proposal read back.

The proposer rewrites the prose of a description, the text before its first `<example>`: the
author's examples stay as written (they are the catalog's own cases). It is shown the agents'
descriptions without the examples of held-out cases, their bodies, and the training misroutes
both ways; never a held-out case.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agenteval.cases import NONE_LABEL, Case
from agenteval.cases.examples import extract_examples
from agenteval.catalog import Agent

BODY_CHARS = 4000
MAX_DESCRIPTION = 4000  # characters of prose a proposal may have
MAX_MISROUTES = 12  # training misroutes shown per direction
_EXAMPLE = re.compile(r"<example>", re.I)

SYSTEM = (
    "You improve the descriptions of Claude Code subagents. The main assistant reads every "
    "subagent's name and description and picks one for each user request. Answer with one "
    "JSON object and nothing else."
)


@dataclass(frozen=True, kw_only=True)
class Target:
    """Work for the proposer: two agents confused with each other, or one that is missed."""

    agents: tuple[str, ...]  # one or two names
    misroutes: int  # training cases that went wrong between them
    why: str  # "a <-> b: 7 training cases", "a: recall 20% on 10 training cases"


@dataclass(frozen=True, kw_only=True)
class Misroute:
    """A training case that went to the wrong place."""

    prompt: str
    expected: str
    got: str


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """New prose for one or two agents' descriptions (None: malformed, with `problem`)."""

    prose: Mapping[str, str] | None
    problem: str | None = None


def split_prose(description: str) -> tuple[str, str]:
    """A description's prose (before its first `<example>`) and the rest (examples on)."""
    m = _EXAMPLE.search(description)
    if m is None:
        return description.strip(), ""
    return description[: m.start()].strip(), description[m.start() :].strip()


def with_prose(description: str, prose: str) -> str:
    """The description with its prose replaced and its examples kept."""
    _, examples = split_prose(description)
    prose = "\n".join(ln.rstrip() for ln in prose.strip().split("\n"))
    return f"{prose}\n\n{examples}" if examples else prose


def hide_cases(agent: Agent, held: Sequence[Case]) -> str:
    """The agent's description without the `<example>` blocks of the held-out cases."""
    indices = {c.example_index for c in held if c.agent == agent.name}
    text = agent.description
    spans = [e.span for e in extract_examples(agent) if e.index in indices]
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def worst_targets(
    labels: Mapping[str, str], cases: Sequence[Case], names: Sequence[str], limit: int
) -> tuple[Target, ...]:
    """The worst confused pairs, then the agents most often missed, from training decisions.

    Args:
        labels: case id -> the label its (first) trial got, for training cases.
        cases: The training cases.
        names: The catalog's agent names.
        limit: How many targets at most.
    """
    known = set(names)
    pairs: Counter[tuple[str, ...]] = Counter()
    missed: Counter[str] = Counter()
    support: Counter[str] = Counter()
    for case in cases:
        expected = next(iter(case.expected))
        support[expected] += 1
        got = labels.get(case.id)
        if got is None or got in case.expected:
            continue
        if expected in known and got in known:
            pairs[tuple(sorted((expected, got)))] += 1
        elif expected in known:
            missed[expected] += 1
    found = [
        Target(agents=pair, misroutes=n, why=f"{pair[0]} <-> {pair[1]}: {n} training misroutes")
        for pair, n in pairs.most_common()
    ]
    in_pairs = {a for t in found for a in t.agents}
    for name, n in missed.most_common():
        if name not in in_pairs:
            found.append(
                Target(
                    agents=(name,),
                    misroutes=n,
                    why=f"{name}: {n} of {support[name]} training cases go to no agent or none",
                )
            )
    found.sort(key=lambda t: -t.misroutes)
    return tuple(found[:limit])


def misroutes_between(
    target: Target, labels: Mapping[str, str], cases: Sequence[Case]
) -> tuple[Misroute, ...]:
    """The training misroutes into or out of the target's agents."""
    inside = set(target.agents)
    found = []
    for case in cases:
        expected, got = next(iter(case.expected)), labels.get(case.id)
        if got is None or got in case.expected:
            continue
        if expected in inside or got in inside:
            found.append(Misroute(prompt=case.prompt, expected=expected, got=got))
    return tuple(found)


def proposal_prompt(
    target: Target,
    agents: Mapping[str, Agent],
    shown: Mapping[str, str],
    misroutes: Sequence[Misroute],
    attempt: int,
) -> str:
    """The request for new prose for the target's agents."""
    lines = [
        "These subagents' descriptions lead the assistant to pick the wrong one (or none) for "
        "some requests. Rewrite the prose of the description (the text before any <example> "
        "blocks; those stay as they are) so that each request goes to the right subagent.",
        "Keep each description accurate to what the subagent does, as short as it can be, and "
        "general: describe kinds of work, do not copy or list the requests below.",
    ]
    for name in target.agents:
        body = agents[name].body.strip()[:BODY_CHARS] or "(no body)"
        prose, _ = split_prose(shown[name])
        lines += [
            "",
            f"Subagent: {name}",
            "<current_prose>",
            prose,
            "</current_prose>",
            "<what_it_does>",
            body,
            "</what_it_does>",
        ]
    if misroutes:
        lines += ["", "Requests that went wrong (the right subagent, then where they went):"]
        for m in misroutes[: MAX_MISROUTES * 2]:
            lines.append(f"- {m.prompt!r}: right {m.expected}, went to {m.got}")
    if attempt:
        lines += [
            "",
            f"This is attempt {attempt + 1}: an earlier rewrite did not help; try another angle.",
        ]
    keys = ", ".join(f'"{n}": "NEW PROSE"' for n in target.agents)
    lines += [
        "",
        f'Answer with JSON only: {{"descriptions": {{{keys}}}, "why": "ONE SENTENCE"}}. '
        "Leave out a subagent whose prose should not change.",
    ]
    return "\n".join(lines)


def read_proposal(data: Mapping[str, object] | None, target: Target) -> Proposal:
    """Check a proposer's answer: new prose for some of the target's agents, nothing else."""
    if data is None:
        return Proposal(prose=None, problem="the answer holds no JSON object")
    found = data.get("descriptions")
    if not isinstance(found, dict) or not found:
        return Proposal(prose=None, problem="the answer has no `descriptions` object")
    prose: dict[str, str] = {}
    for name, text in found.items():
        if name not in target.agents:
            return Proposal(prose=None, problem=f"it names {name!r}, not one of {target.agents}")
        if not isinstance(text, str) or not text.strip():
            return Proposal(prose=None, problem=f"the prose for {name!r} is not text")
        if len(text) > MAX_DESCRIPTION:
            return Proposal(prose=None, problem=f"the prose for {name!r} is over {MAX_DESCRIPTION}")
        if _EXAMPLE.search(text):
            return Proposal(prose=None, problem=f"the prose for {name!r} adds <example> blocks")
        prose[name] = text.strip()
    return Proposal(prose=prose)


def first_expected(case: Case) -> str:
    """The agent that owns a case (the first acceptable one as written), or `none`."""
    return next(iter(case.expected), NONE_LABEL)
