"""One headless `claude -p` run: its process group, its stream-json events, what it decided.

`run_claude` starts the CLI in its own process group, reads stream-json line by line into a
`StreamReader`, and kills the whole group at the first delegation, at the result, at the deadline
or on cancellation. `StreamReader` is pure: it folds events into what the run did (the agent and
the `prompt` argument of the first `Agent`/`Task` call, the CLI's usage and cost, an error).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agenteval.models.client import Usage
from agenteval.routing.picks import Pick, pick_of

_STREAM_LIMIT = 64 << 20  # the init event lists every tool, skill and agent on one line
_STDERR_KEEP = 4000
FATAL_STATUSES = (401, 403)  # a refused or unauthorised key: no retry will help
OVERLOAD_STATUSES = (429, 529)


@dataclass(frozen=True, kw_only=True)
class CliOutcome:
    """What one `claude -p` run did, up to its first delegation or its result."""

    delegation: Pick | None = None
    result: str = ""
    model: str | None = None
    version: str | None = None
    listed: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None  # the CLI's own figure, only when it reached its result
    error: str | None = None
    fatal: bool = False  # every later run would fail the same way (the key was refused)
    retries: int = 0  # API calls the CLI retried on its own
    out_of_turns: bool = False  # ended at `--max-turns` with no delegation
    seconds: float = 0.0
    pid: int = 0


def usage_of(data: Mapping[str, Any] | None) -> Usage:
    """A Usage from the CLI's (the API's) usage object."""
    data = data or {}

    def num(key: str) -> int:
        value = data.get(key)
        return int(value) if isinstance(value, (int, float)) else 0

    return Usage(
        input_tokens=num("input_tokens"),
        output_tokens=num("output_tokens"),
        cache_write_tokens=num("cache_creation_input_tokens"),
        cache_read_tokens=num("cache_read_input_tokens"),
    )


@dataclass(kw_only=True)
class StreamReader:
    """Folds stream-json events into a CliOutcome; ``feed`` returns True once it has the answer.

    Usage counts every request the main model made, each with its final figures: the CLI's
    `assistant` events carry a message's usage as it started (its output not yet counted), the
    partial-message events (`--include-partial-messages`) end each message with its final usage.
    So at a delegation the reader waits for the end of that message before it answers.
    """

    model: str | None = None
    version: str | None = None
    listed: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    usage: Usage = field(default_factory=Usage)
    delegation: Pick | None = None
    result: str = ""
    cost_usd: float | None = None
    error: str | None = None
    fatal: bool = False
    retries: int = 0
    out_of_turns: bool = False
    done: bool = False
    on_overload: Callable[[], None] | None = None
    _by_message: dict[str, dict[str, Any]] = field(default_factory=dict)
    _current: str | None = None  # the message being streamed
    _ended: set[str] = field(default_factory=set)  # messages whose final usage is in
    _streamed: bool = False  # the CLI sends partial-message events
    _waiting_for: str | None = None  # the delegating message, until its final usage arrives

    def outcome(self, *, error: str | None, seconds: float, pid: int) -> CliOutcome:
        """What the run did, as read so far (``error``: why the run itself failed)."""
        return CliOutcome(
            delegation=self.delegation,
            result=self.result,
            model=self.model,
            version=self.version,
            listed=self.listed,
            skills=self.skills,
            usage=self.usage,
            cost_usd=self.cost_usd,
            error=error or self.error,
            fatal=self.fatal,
            retries=self.retries,
            out_of_turns=self.out_of_turns,
            seconds=seconds,
            pid=pid,
        )

    def feed(self, event: Mapping[str, Any]) -> bool:
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "api_retry":
            return self._retry(event)
        if kind == "system" and event.get("subtype") == "init":
            self.model = _str_or_none(event.get("model"))
            self.version = _str_or_none(event.get("claude_code_version"))
            agents, skills = event.get("agents"), event.get("skills")
            self.listed = tuple(str(a) for a in agents) if isinstance(agents, list) else ()
            self.skills = tuple(str(a) for a in skills) if isinstance(skills, list) else ()
        elif kind == "stream_event" and event.get("parent_tool_use_id") is None:
            return self._partial(event.get("event") or {})
        elif kind == "assistant" and event.get("parent_tool_use_id") is None:
            return self._assistant(event.get("message") or {})
        elif kind == "result":
            return self._result(event)
        return False

    def _partial(self, event: Mapping[str, Any]) -> bool:
        self._streamed = True
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self._current = str(message.get("id"))
            self._count(self._current, message.get("usage"), replace=True)
        elif kind == "message_delta" and self._current is not None:
            self._count(self._current, event.get("usage"))
        elif kind == "message_stop" and self._current is not None:
            self._ended.add(self._current)
            if self._waiting_for == self._current:
                self.done = True
        return self.done

    def _count(self, message_id: str, usage: Any, *, replace: bool = False) -> None:
        known = {} if replace else self._by_message.get(message_id, {})
        new = {k: v for k, v in usage.items() if v is not None} if isinstance(usage, dict) else {}
        self._by_message[message_id] = {**known, **new}
        self.usage = sum((usage_of(u) for u in self._by_message.values()), Usage())

    def _assistant(self, message: Mapping[str, Any]) -> bool:
        message_id = str(message.get("id"))
        if message_id not in self._by_message:  # one message may arrive as several events
            self._count(message_id, message.get("usage"))
        for block in message.get("content") or ():
            if not isinstance(block, dict) or block.get("type") != "tool_use":
                continue
            pick = pick_of(str(block.get("name")), block.get("input"))
            if pick is not None:
                self.delegation = pick
                ended = not self._streamed or message_id in self._ended
                self._waiting_for = None if ended else message_id
                self.done = ended
                return self.done
        return False

    def _result(self, event: Mapping[str, Any]) -> bool:
        self.result = str(event.get("result") or "")
        cost = event.get("total_cost_usd")
        self.cost_usd = float(cost) if isinstance(cost, (int, float)) else None
        if isinstance(event.get("usage"), dict):
            self.usage = usage_of(event["usage"])
        reason = event.get("terminal_reason") or event.get("subtype") or "error"
        if reason in ("max_turns", "error_max_turns"):
            self.out_of_turns = True  # the main model kept working itself: not an error
        elif event.get("is_error") or event.get("subtype") != "success":
            status = event.get("api_error_status")
            self.error = f"claude ended with {reason}" + (f" (HTTP {status})" if status else "")
            if self.result:
                self.error += f": {self.result[:300]}"
        self.done = True
        return True

    def _retry(self, event: Mapping[str, Any]) -> bool:
        self.retries += 1
        status = event.get("error_status")
        if status in FATAL_STATUSES:
            # The CLI retries even a refused key ten times over minutes: stop it now.
            self.error = f"the API refused the request (HTTP {status} {event.get('error') or ''})"
            self.error = self.error.replace(" )", ")")
            self.fatal = self.done = True
            return True
        if status in OVERLOAD_STATUSES and self.on_overload is not None:
            self.on_overload()
        return False


def _str_or_none(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def claude_args(cli: Path, request: str, model: str | None, extra: Sequence[str] = ()) -> list[str]:
    """The command line of one headless routing run."""
    args = [str(cli), "-p", request, "--output-format", "stream-json", "--verbose"]
    args.append("--include-partial-messages")  # each message's final usage (StreamReader)
    if model:
        args += ["--model", model]
    return [*args, *extra]


async def run_claude(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    deadline_s: float,
    on_overload: Callable[[], None] | None = None,
) -> CliOutcome:
    """Run one `claude -p` in its own process group until its first delegation or its result.

    The group is killed when the answer is in (the CLI would go on to run the subagent), at the
    deadline, on cancellation, and on any failure, so no process outlives the call.

    Args:
        args: The command line (`claude_args`).
        cwd: The scratch project.
        env: The child's whole environment (`isolated_env`).
        deadline_s: Seconds before the process group is killed.
        on_overload: Called each time the CLI retries a 429 or 529 on its own.
    """
    start = time.perf_counter()
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=str(cwd),
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, killed as one
            preexec_fn=die_with_parent,
            limit=_STREAM_LIMIT,
        )
    except OSError as exc:
        return CliOutcome(error=f"could not start {args[0]}: {exc}")
    reader = StreamReader(on_overload=on_overload)
    stderr = bytearray()
    drain = asyncio.ensure_future(_drain(proc.stderr, stderr))
    error: str | None = None
    try:
        await asyncio.wait_for(_read(proc.stdout, reader), timeout=deadline_s)
    except asyncio.TimeoutError:
        error = f"no answer within the {deadline_s:g} s deadline; the claude process was killed"
    except ValueError:  # a line past the stream limit: the run cannot be read
        error = f"claude wrote a stream-json line over {_STREAM_LIMIT >> 20} MiB; stopped it"
    finally:
        _kill_group(proc.pid)
        await proc.wait()
        drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drain
    if error is None and not reader.done:
        tail = stderr.decode("utf-8", "replace").strip()[-_STDERR_KEEP:]
        error = f"claude exited ({proc.returncode}) before a result" + (f": {tail}" if tail else "")
    return reader.outcome(error=error, seconds=time.perf_counter() - start, pid=proc.pid)


async def _read(stream: asyncio.StreamReader | None, reader: StreamReader) -> None:
    assert stream is not None
    while line := await stream.readline():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a stray non-JSON line (a warning) is not an event
        if isinstance(event, dict) and reader.feed(event):
            return


async def _drain(stream: asyncio.StreamReader | None, into: bytearray) -> None:
    assert stream is not None
    while chunk := await stream.read(65536):
        into.extend(chunk)
        del into[: max(0, len(into) - _STDERR_KEEP)]


def die_with_parent() -> None:
    """In the child before exec: be killed when the process that started it dies (Linux), so a
    killed agenteval leaves no CLI behind. Elsewhere a no-op: the group kill still applies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
