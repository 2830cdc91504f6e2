"""`agenteval generate`: new routing cases written by a model from what each agent does.

For every agent the model is shown its description, its body (the system prompt the router never
sees) and its nearest neighbours, and asked for requests the agent should take, near misses that
belong to a neighbour, and requests no agent should take. Every case keeps where it came from
(model, file, the file's hash, kind) and a review state; none may repeat an example's user turn.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agenteval.cases import NONE_LABEL
from agenteval.catalog import Catalog
from agenteval.execution.executor import Executor
from agenteval.improve.ask import ask_json
from agenteval.improve.leakage import same_request, words
from agenteval.models.client import ModelClient

Kind = Literal["target", "near-miss", "none"]
KINDS: tuple[Kind, ...] = ("target", "near-miss", "none")
BODY_CHARS = 6000  # the body shown to the model; longer ones are cut with a note
NEIGHBOUR_CHARS = 600
MAX_TOKENS = 4096

SYSTEM = (
    "You write realistic test requests for checking how a coding assistant routes work to "
    "specialist subagents. Answer with one JSON object and nothing else."
)


@dataclass(frozen=True, kw_only=True)
class Subject:
    """An agent or a skill, as the model that writes its cases is shown it."""

    label: str  # what a case for it expects: the agent's name, or `skill:NAME`
    kind: Literal["agent", "skill"]
    description: str
    body: str  # what it really does: the agent's system prompt, the skill's instructions
    path: Path


def subjects_of(catalog: Catalog) -> list[Subject]:
    """Every agent, then every skill or command of the catalog."""
    from agenteval.catalog.claude_code import decode
    from agenteval.catalog.skills import parse_frontmatter

    found = [
        Subject(label=a.name, kind="agent", description=a.description, body=a.body, path=a.path)
        for a in catalog.agents
    ]
    for sk in catalog.skills:
        _, body = parse_frontmatter(decode(sk.path.read_bytes()))
        found.append(
            Subject(
                label=sk.label, kind="skill", description=sk.text, body=body.strip(), path=sk.path
            )
        )
    return found


@dataclass(frozen=True, kw_only=True)
class GeneratedCase:
    """One request a model wrote, with where it came from."""

    id: str
    prompt: str
    expected: str  # an agent name, `skill:NAME`, or `none`
    kind: Kind
    agent: str  # the agent (or `skill:NAME`) it was written for
    file: str  # its file
    sha256: str  # of that file's bytes when the request was written
    model: str


@dataclass(frozen=True, kw_only=True)
class Generation:
    """What `generate_cases` wrote, and everything it left out, counted."""

    cases: tuple[GeneratedCase, ...]
    model: str
    calls: int = 0
    cost_usd: float = 0.0
    malformed: int = 0  # answers or items that were not usable
    repeats: int = 0  # requests that repeated an example's user turn or another request
    failed: tuple[str, ...] = ()  # `agent: why` for calls that failed
    not_asked: tuple[str, ...] = ()  # agents left when the run stopped (budget)
    stop: str | None = None
    by_kind: Mapping[str, int] = field(default_factory=dict)


def neighbours_of(
    catalog: Catalog,
    *,
    confusions: Mapping[tuple[str, str], int] | None = None,
    k: int = 2,
) -> dict[str, tuple[str, ...]]:
    """Each agent's (and skill's) nearest neighbours: the targets its cases were confused with
    in a run (both ways, most often first), else the most alike by the overlap lint's TF-IDF
    similarity."""
    subjects = subjects_of(catalog)
    names = [s.label for s in subjects]
    found: dict[str, Counter[str]] = {n: Counter() for n in names}
    for (expected, got), n in (confusions or {}).items():
        if expected in found and got in found and expected != got:
            found[expected][got] += n
            found[got][expected] += n
    if any(found.values()) or len(names) < 2:
        return {n: tuple(x for x, _ in found[n].most_common(k)) for n in names}
    from agenteval.routing.lexical import agent_document, near_duplicates

    documents = {s.label: agent_document(s.label, s.description) for s in subjects}
    alike: dict[str, list[tuple[float, str]]] = {n: [] for n in names}
    for o in near_duplicates(documents, min_similarity=0.0):
        alike[o.first].append((o.similarity, o.second))
        alike[o.second].append((o.similarity, o.first))
    return {n: tuple(x for _, x in sorted(alike[n], reverse=True)[:k]) for n in names}


def generation_prompt(
    agent: Subject, neighbours: Sequence[Subject], examples: Sequence[str], per_agent: int
) -> str:
    """The request for one agent's (or skill's) cases."""
    body = agent.body.strip() or "(the file has no body)"
    if len(body) > BODY_CHARS:
        body = body[:BODY_CHARS] + "\n[... cut here ...]"
    near = max(1, per_agent // 2) if neighbours else 0
    lines = [
        "A coding assistant can hand a user's request to one of several subagents. Write test "
        "requests for the subagent below.",
        "",
        f"Subagent: {agent.label}" if agent.kind == "agent" else f"Skill: {agent.label}",
        "Its description (what the assistant reads when it chooses):",
        "<description>",
        agent.description,
        "</description>",
        "Its instructions (what it really does; the assistant never sees these):",
        "<instructions>",
        body,
        "</instructions>",
    ]
    if neighbours:
        lines += ["", "Neighbouring subagents its requests may be confused with:"]
        lines += [f"- {n.label}: {n.description[:NEIGHBOUR_CHARS]}" for n in neighbours]
    if examples:
        lines += ["", "Requests its author already wrote (do not repeat or paraphrase them):"]
        lines += [f"- {e}" for e in examples]
    lines += [
        "",
        "Write:",
        f"1. {per_agent} requests a real user would type that this subagent should handle. "
        "Vary length, tone and detail; describe the user's situation and goal; never name a "
        "subagent.",
    ]
    if near:
        lines.append(
            f"2. {near} near-miss requests that look related but belong to one of the "
            "neighbours; say which neighbour."
        )
    lines += [
        "3. 1 request no subagent should take: the assistant answers it itself (a quick "
        "question, or something outside every subagent's scope).",
        "",
        'Answer with JSON only: {"requests": [{"kind": "target", "prompt": "..."}, '
        '{"kind": "near-miss", "agent": "NEIGHBOUR NAME", "prompt": "..."}, '
        '{"kind": "none", "prompt": "..."}]}',
    ]
    return "\n".join(lines)


async def generate_cases(
    catalog: Catalog,
    client: ModelClient,
    executor: Executor,
    *,
    model: str | None,
    per_agent: int,
    neighbours: Mapping[str, Sequence[str]],
    examples: Mapping[str, Sequence[str]],
    only: Sequence[str] = (),
) -> Generation:
    """Ask the model for each agent's and skill's cases (concurrently, within the budget).

    Args:
        examples: target label -> the user turns of its `<example>` cases (none is repeated).
    """
    everything = subjects_of(catalog)
    subjects = [s for s in everything if not only or s.label in only]
    by_label = {s.label: s for s in everything}
    known = [u for us in examples.values() for u in us]
    answers: dict[str, Any] = {}

    async def one(subject: Subject) -> None:
        near = [by_label[n] for n in neighbours.get(subject.label, ()) if n in by_label]
        answers[subject.label] = await ask_json(
            client,
            executor,
            purpose="generate",
            system=SYSTEM,
            prompt=generation_prompt(subject, near, examples.get(subject.label, ()), per_agent),
            model=model,
            max_tokens=MAX_TOKENS,
        )

    await executor.drain(subjects, one)
    resolved = client.resolve_model(model)
    return _collect(subjects, answers, neighbours, known, resolved, executor)


def _collect(
    agents: Sequence[Subject],
    answers: Mapping[str, Any],
    neighbours: Mapping[str, Sequence[str]],
    known: list[str],
    model: str,
    executor: Executor,
) -> Generation:
    cases: list[GeneratedCase] = []
    malformed = repeats = calls = 0
    failed: list[str] = []
    not_asked: list[str] = []
    for agent in agents:
        asked = answers.get(agent.label)
        if asked is None or not asked.started:
            not_asked.append(agent.label)
            continue
        calls += not asked.completion.cached
        if asked.data is None:
            if asked.completion.error is None:
                malformed += 1
            failed.append(f"{agent.label}: {asked.problem}")
            continue
        items = asked.data.get("requests")
        if not isinstance(items, list):
            malformed += 1
            failed.append(f"{agent.label}: the answer has no `requests` list")
            continue
        digest = hashlib.sha256(agent.path.read_bytes()).hexdigest()
        for item in items:
            case = _case(item, agent, neighbours.get(agent.label, ()), model, digest)
            if case is None:
                malformed += 1
            elif any(same_request(case.prompt, k) for k in known):
                repeats += 1
            else:
                known.append(case.prompt)
                cases.append(case)
    return Generation(
        cases=tuple(cases),
        model=model,
        calls=calls,
        cost_usd=executor.money.spent,
        malformed=malformed,
        repeats=repeats,
        failed=tuple(failed),
        not_asked=tuple(not_asked),
        stop=executor.stop.message if executor.stop else None,
        by_kind=dict(Counter(c.kind for c in cases)),
    )


def _case(
    item: Any, agent: Subject, neighbours: Sequence[str], model: str, digest: str
) -> GeneratedCase | None:
    if not isinstance(item, dict):
        return None
    kind, prompt = item.get("kind"), item.get("prompt")
    if kind not in KINDS or not isinstance(prompt, str) or not words(prompt):
        return None
    if kind == "target":
        expected = agent.label
    elif kind == "none":
        expected = NONE_LABEL
    else:
        named = item.get("agent")
        if not isinstance(named, str) or named not in neighbours:
            return None
        expected = named
    prompt = prompt.strip()
    tag = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    return GeneratedCase(
        id=f"{agent.label.replace(':', '-')}-{kind}-{tag}",
        prompt=prompt,
        expected=expected,
        kind=kind,
        agent=agent.label,
        file=str(agent.path),
        sha256=digest,
        model=model,
    )


def relative(path: str, root: Path) -> str:
    """A file path as the dataset shows it: relative to `root` where it lies below it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(p)
