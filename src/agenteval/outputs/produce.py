"""Score the outputs: run the agent a case reached, then grade what it wrote.

The agent runs as Claude Code would run it: its file's body is the system prompt, its `model`
field picks the model (`inherit` or none: the run's model), the case's request is the user
message. Deterministic checks run locally; a `rubric` is graded by a judge model that answers
through a `grade` tool. Outputs recorded elsewhere (`--outputs FILE.jsonl`) are graded without
calling any agent. Calls go through the same machinery as routing: one client, an adaptive
concurrency limit, the response cache, the budget, and one error per call, never a crash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict

from agenteval.cases import Case
from agenteval.cases.checks import NO_TRUST, Check, CheckResult, CheckTrust, parse_checks, run_check
from agenteval.cases.datasets import read_jsonl
from agenteval.catalog import Catalog
from agenteval.errors import DatasetError, read_user_file
from agenteval.execution.executor import Executor
from agenteval.execution.runner import OVERLOAD_MARKERS, RunState
from agenteval.models.client import ChatRequest, Completion, ModelClient, ToolUse, Usage
from agenteval.outputs.results import OutputResult

MAX_JUDGED_CHARS = 30_000
JUDGE_TOOL = {
    "name": "grade",
    "description": "Record your grade of the answer against the criterion.",
    "input_schema": {
        "type": "object",
        "properties": {
            "passed": {"type": "boolean", "description": "true if the answer meets the criterion"},
            "score": {
                "type": "integer",
                "minimum": 1,
                "maximum": 5,
                "description": "1 = does not meet it at all, 5 = fully meets it",
            },
            "reason": {"type": "string", "description": "one sentence: why"},
        },
        "required": ["passed", "score", "reason"],
    },
}
JUDGE_SYSTEM = (
    "You grade the answer an AI agent gave to a user's request against ONE criterion. "
    "Judge only that criterion, not style or length unless the criterion asks. If a reference "
    "answer is given, use it to judge correctness. Always answer by calling the grade tool once."
)


@dataclass(frozen=True, kw_only=True)
class OutputJob:
    """One output to produce (or take as recorded) and grade."""

    case: Case
    trial: int
    agent: str | None  # the agent whose output is graded; None: no agent took the request
    routed: str | None  # the label routing gave (None on a routing error)
    oracle: bool = False
    recorded: str | None = None
    task_prompt: str | None = None  # what the main model asked the routed agent to do

    @property
    def agent_input(self) -> tuple[str, str]:
        """What the agent is given as its user turn, and which: as Claude Code runs a subagent,
        the main model's `prompt` argument (`task`) when it delegated to this agent, else the
        user's words (`request`)."""
        if self.task_prompt and self.agent is not None and self.agent == self.routed:
            return self.task_prompt, "task"
        return self.case.prompt, "request"


def case_checks(case: Case) -> tuple[Check, ...]:
    """The validated checks of a case (validated when its dataset was loaded)."""
    return parse_checks(case.checks, where=case.source) if case.checks else ()


@dataclass(frozen=True, kw_only=True)
class Recorded:
    """An output recorded elsewhere, and the agent that wrote it (when known)."""

    output: str
    agent: str | None = None


def load_recorded(path: Path) -> dict[tuple[str, int | None], Recorded]:
    """Outputs recorded elsewhere: JSONL lines `{"case_id", "output", "agent"?, "trial"?}`.

    Raises:
        DatasetError: naming the file and line of a malformed entry.
    """
    path = Path(path)
    text = read_user_file(
        path,
        what="recorded outputs",
        error=DatasetError,
        hint='pass a JSONL file of {"case_id": ..., "output": ...}',
    )
    recorded: dict[tuple[str, int | None], Recorded] = {}
    for row, n in zip(*read_jsonl(path, text), strict=True):
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("case_id"), str)
            or not isinstance(row.get("output"), str)
        ):
            raise DatasetError(
                "an entry needs a string `case_id` and a string `output`",
                path=path,
                line=n,
                hint='write {"case_id": "dataset/id", "output": "..."}',
            )
        trial, agent = row.get("trial"), row.get("agent")
        if agent is not None and not isinstance(agent, str):
            raise DatasetError(
                "`agent` must be an agent name",
                path=path,
                line=n,
                hint="give the name of the agent that wrote the output, or omit it",
            )
        if trial is not None and (
            isinstance(trial, bool) or not isinstance(trial, int) or trial < 0
        ):
            raise DatasetError(
                f"`trial` must be a whole number from 0, got {trial!r}",
                path=path,
                line=n,
                hint="give the 0-based trial the output belongs to, or omit it for every trial",
            )
        key = (row["case_id"], trial)
        recorded[key] = Recorded(output=row["output"], agent=agent)
    return recorded


def recorded_output(
    recorded: Mapping[tuple[str, int | None], Recorded], case_id: str, trial: int
) -> Recorded | None:
    """The recorded output for a trial, else the one recorded for the case."""
    return recorded.get((case_id, trial), recorded.get((case_id, None)))


class _Shared(TypedDict):
    """The fields every result of one job shares."""

    case_id: str
    trial: int
    agent: str | None
    routed: str | None
    expected: tuple[str, ...]
    oracle: bool
    agent_input: str | None


AGENT_MAX_TOKENS = 4096
JUDGE_MAX_TOKENS = 2048


class CompletionCodec:
    """Completions (agent outputs, judge grades) in the response cache."""

    @staticmethod
    def encode(value: Completion) -> dict[str, Any]:
        return {**asdict(value), "cached": False}

    @staticmethod
    def decode(data: Mapping[str, Any]) -> Completion:
        values = dict(data)
        values["usage"] = Usage(**values.get("usage") or {})
        values["tool_uses"] = tuple(ToolUse(**u) for u in values.get("tool_uses") or ())
        known = Completion.__dataclass_fields__
        return Completion(**{k: v for k, v in values.items() if k in known} | {"cached": True})


COMPLETIONS = CompletionCodec()


def chat(
    client: ModelClient,
    *,
    system: str,
    prompt: str,
    model: str | None,
    max_tokens: int,
    tool: Mapping[str, Any] | None = None,
) -> ChatRequest:
    """A plain one-turn request: an agent answering, or a judge grading through ``tool``.

    A tool is offered with ``tool_choice: auto`` (newer models reject forced tool use).
    """
    return ChatRequest(
        model=client.resolve_model(model),
        max_tokens=max_tokens,
        system=system,
        messages=({"role": "user", "content": prompt},),
        tools=(dict(tool),) if tool is not None else (),
        tool_choice={"type": "auto"} if tool is not None else None,
    )


def bytes_bound(client: ModelClient, request: ChatRequest) -> float | None:
    """A request's worst case with its input bounded by its size in bytes (a token is at least
    one byte), so no count-tokens call is needed for one-off prompts."""
    size = len(json.dumps(request.params(), ensure_ascii=False).encode("utf-8"))
    return client.table.worst_case(request.model, input_tokens=size, max_tokens=request.max_tokens)


async def run_outputs(
    jobs: Iterable[OutputJob],
    *,
    catalog: Catalog,
    client: ModelClient | None,
    judge_model: str | None,
    executor: Executor,
    on_result: Callable[[OutputResult], None],
    max_tokens: int | None = None,
    state: RunState | None = None,
    trust: CheckTrust = NO_TRUST,
) -> RunState:
    """Produce and grade every job's output, calling ``on_result`` as each one finishes.

    A job the executor did not start (the run stopped: budget, fatal error) gets no result, so a
    resume does it.

    Args:
        jobs: The outputs to produce or take as recorded.
        catalog: The agents (their bodies are the system prompts).
        client: The model client that runs agents and judges, or None offline.
        judge_model: The model that grades rubrics (alias or id; None: the client's model).
        executor: The engine (limit, budget, cache) shared with routing.
        on_result: Called once per job.
        max_tokens: The agents' answer budget.
        state: Progress counters.
        trust: The modules `python:` checks may run from (the eval config's, never a dataset's).
    """
    jobs = list(jobs)
    state = state or RunState(total=len(jobs))
    if client is not None:
        client.on_overload(executor.limit.overloaded)
    grader = _Grader(
        catalog=catalog,
        client=client,
        judge=client.resolve_model(judge_model) if client is not None else None,
        executor=executor,
        state=state,
        max_tokens=max_tokens,
        trust=trust,
        on_result=on_result,
    )
    await executor.drain(jobs, grader.one)
    return state


@dataclass
class _Produced:
    """What an agent wrote for a job (or the recorded output), and what it cost."""

    output: str
    source: str
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost: float | None = 0.0
    cached: bool = True


@dataclass
class _Grader:
    """Produces and grades one job at a time (`one`), through the run's executor."""

    catalog: Catalog
    client: ModelClient | None
    judge: str | None
    executor: Executor
    state: RunState
    max_tokens: int | None
    trust: CheckTrust
    on_result: Callable[[OutputResult], None]

    async def call(
        self, key_parts: Mapping[str, Any], trial: int, request: ChatRequest
    ) -> Completion:
        client = self.client
        assert client is not None  # only called once there is a model to call
        done = await self.executor.call(
            lambda: client.complete(request),
            bound=lambda: _const(bytes_bound(client, request)),
            key=_key(key_parts, trial),
            codec=COMPLETIONS,
            overload=lambda c: any(m in (c.error or "") for m in OVERLOAD_MARKERS),
        )
        self.state.cost_usd = self.executor.money.spent
        if done is None:
            raise _Stopped
        return done

    async def one(self, job: OutputJob) -> None:
        base = _Shared(
            case_id=job.case.id,
            trial=job.trial,
            agent=job.agent,
            routed=job.routed,
            expected=job.case.expected,
            oracle=job.oracle,
            agent_input=None,
        )
        try:
            produced = await self.produce(job, base)
            if produced is None:
                return
            checks = case_checks(job.case)
            results, produced = await self.grade(job, checks, produced)
        except _Stopped:
            return  # not started: the budget or a fatal error stopped the run; a resume does it
        self.on_result(
            OutputResult(
                **base,
                source=produced.source,
                output=produced.output,
                model=produced.model,
                judge_model=self.judge if any(c.model_graded for c in checks) else None,
                usage=produced.usage,
                cost_usd=produced.cost,
                cached=produced.cached,
                checks=tuple(results),
            )
        )

    async def produce(self, job: OutputJob, base: _Shared) -> _Produced | None:
        """The job's output: recorded, or the agent run live (None: its result is said)."""
        if job.recorded is not None:
            return _Produced(output=job.recorded, source="recorded")
        if job.agent is None:
            self.on_result(OutputResult(**base, source="not-run"))
            return None
        if self.client is None:
            self.on_result(
                OutputResult(
                    **base,
                    source="live",
                    error="no model to run the agent "
                    "offline: pass --outputs FILE.jsonl or use --router anthropic",
                )
            )
            return None
        agent = self.catalog.get(job.agent)
        assert agent is not None
        model = self.client.resolve_model(agent.model)
        given, base["agent_input"] = job.agent_input
        done = await self.call(
            {
                "kind": "agent",
                "model": model,
                "system": agent.body,
                "prompt": given,
                "max_tokens": self.max_tokens,
            },
            job.trial,
            chat(
                self.client,
                system=agent.body,
                prompt=given,
                model=agent.model,
                max_tokens=self.max_tokens or AGENT_MAX_TOKENS,
            ),
        )
        if done.error is not None:
            self.on_result(
                OutputResult(
                    **base,
                    source="live",
                    model=model,
                    error=done.error,
                    usage=done.usage,
                    cost_usd=done.cost_usd,
                )
            )
            return None
        return _Produced(
            output=done.text,
            source="live",
            model=model,
            usage=done.usage,
            cost=done.cost_usd,
            cached=done.cached,
        )

    async def grade(
        self, job: OutputJob, checks: Sequence[Check], produced: _Produced
    ) -> tuple[list[CheckResult], _Produced]:
        """Every check's result, and the output with the judges' cost added."""
        results = []
        usage, cost, cached = produced.usage, produced.cost, produced.cached
        for check in checks:
            if not check.model_graded:
                facts = {"id": job.case.id, "prompt": job.case.prompt}
                results.append(run_check(check, produced.output, facts, trust=self.trust))
                continue
            if self.client is None:
                results.append(
                    CheckResult(
                        name=check.name,
                        kind=check.kind,
                        passed=None,
                        reason="",
                        error="a rubric needs a judge model: set "
                        "ANTHROPIC_API_KEY (or grade deterministic checks "
                        "only)",
                    )
                )
                continue
            graded = await self.call(
                {
                    "kind": "judge",
                    "model": self.judge,
                    "criterion": check.spec,
                    "reference": check.reference,
                    "prompt": job.case.prompt,
                    "output": produced.output,
                },
                job.trial,
                chat(
                    self.client,
                    system=JUDGE_SYSTEM,
                    prompt=_judge_prompt(check, job.case.prompt, produced.output),
                    model=self.judge,
                    max_tokens=JUDGE_MAX_TOKENS,
                    tool=JUDGE_TOOL,
                ),
            )
            results.append(_grade(check, graded))
            usage = usage + graded.usage
            cost = None if cost is None or graded.cost_usd is None else cost + graded.cost_usd
            cached = cached and graded.cached
        return results, replace(produced, usage=usage, cost=cost, cached=cached)


async def _const(value: float | None) -> float | None:
    return value


class _Stopped(Exception):
    """The run stopped (budget or a fatal API error): leave this job for --resume."""


def _key(parts: Mapping[str, Any], trial: int) -> str:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"out:{digest}:{trial}"


def _judge_prompt(check: Check, request: str, output: str) -> str:
    answer = (
        output
        if len(output) <= MAX_JUDGED_CHARS
        else (
            output[:MAX_JUDGED_CHARS] + f"\n[... {len(output) - MAX_JUDGED_CHARS} more characters]"
        )
    )
    parts = [f"<criterion>\n{check.spec}\n</criterion>", f"<request>\n{request}\n</request>"]
    if check.reference:
        parts.append(f"<reference_answer>\n{check.reference}\n</reference_answer>")
    parts.append(f"<answer>\n{answer}\n</answer>")
    parts.append("Grade the answer against the criterion with the grade tool.")
    return "\n\n".join(parts)


def _grade(check: Check, done: Completion) -> CheckResult:
    """A judge's answer as a check result; anything malformed is a grading error, never a pass."""

    def error(why: str) -> CheckResult:
        return CheckResult(name=check.name, kind=check.kind, passed=None, reason="", error=why)

    if done.error is not None:
        return error(f"judge call failed: {done.error}")
    data = done.tool_input(str(JUDGE_TOOL["name"]))
    if data is None:
        return error("judge answered without the grade tool: " + (done.text[:200] or "(empty)"))
    passed, score, reason = data.get("passed"), data.get("score"), data.get("reason")
    if not isinstance(passed, bool):
        return error(f"malformed judge answer: `passed` is {passed!r}, not true/false")
    if isinstance(score, float) and score.is_integer():
        score = int(score)
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        return error(f"malformed judge answer: `score` is {score!r}, not an integer 1-5")
    if not isinstance(reason, str) or not reason.strip():
        return error("malformed judge answer: no `reason`")
    return CheckResult(
        name=check.name,
        kind=check.kind,
        passed=passed,
        reason=reason.strip()[:500],
        score=float(score),
    )
