"""A loopback stand-in for the Anthropic Messages API, for tests and benchmarks.

Tests never touch the network: they start this stub on 127.0.0.1 (ephemeral port) and point
the real SDK at it::

    with StubAnthropic(responder=answers({"fix the css": "frontend-dev"})) as stub:
        client = AsyncAnthropic(base_url=stub.base_url, api_key="sk-ant-test-key")
        ...
        assert stub.count_endpoint("messages") == 1

It is a real HTTP/1.1 server (asyncio, stdlib only, keep-alive, Content-Length and chunked
request bodies) running its own event loop in a background thread, so it serves many concurrent
requests each sleeping a scripted latency with little overhead.

Endpoints
    HEAD /                                     200, empty (the CLI probes it before a call)
    POST /v1/messages                          a message; with ``"stream": true`` the same
                                               message as server-sent events (see below)
    POST /v1/messages/count_tokens             ``{"input_tokens": N}``, N ~ chars / 4
    POST /v1/messages/batches                  returns a ``message_batch`` (``in_progress``)
    GET  /v1/messages/batches                  list (one page)
    GET  /v1/messages/batches/{id}             ``in_progress`` for the first
                                               ``batch_polls_before_end`` retrieves, then
                                               ``ended`` with ``results_url`` on this stub
    GET  /v1/messages/batches/{id}/results     JSONL, one line per request, SHUFFLED order
    POST /v1/messages/batches/{id}/cancel      ``canceling``; unfinished entries -> ``canceled``
    DELETE /v1/messages/batches/{id}           ``message_batch_deleted``

Streaming
    ``"stream": true`` answers ``text/event-stream``: ``message_start`` (content empty,
    ``output_tokens`` 0), then per content block ``content_block_start`` /
    ``content_block_delta`` (``text_delta``, ``thinking_delta`` + ``signature_delta``, or one
    ``input_json_delta`` with the whole tool input) / ``content_block_stop``, then
    ``message_delta`` (stop reason, output tokens) and ``message_stop``. The events are built
    from the same reply the non-stream path builds; error replies stay plain JSON errors (as the
    API answers before a stream starts). The whole stream is sent at once after the latency.

Routing
    The case's request is the text of the last content block of the last ``user`` message
    (``StubRequest.prompt``). Agent names come from catalog lines ``- name: description
    (Tools: ...)`` anywhere in the system blocks, the messages or the tool descriptions
    (``StubRequest.agents``). A responder ``(StubRequest) -> Reply`` decides the answer; stock
    ones: :func:`answers`, :func:`hash_router`, :func:`first_agent`, :func:`never_delegate`.

Indices
    ``StubRequest.index`` is 1-based *per endpoint kind*: the n-th ``POST /v1/messages`` has
    index n, the n-th batch entry (``endpoint == "batch_item"``) has index n among batch entries,
    and so on. ``StubRequest.seq`` is the global 1-based number of the HTTP request (batch
    entries share the ``seq`` of their create request). ``Fault.every``/``Fault.at`` look at
    ``index`` of the endpoints the rule is ``on`` (default ``"messages"``). The SDK retries
    408/409/429/5xx (2 retries by default): each retry is a NEW request with a new index, so
    ``Fault.at([1], 529)`` fails the first attempt and lets its retry (index 2) through, and
    ``Fault.every(1, 529)`` fails every attempt. Faulted requests consume an index too.

Prompt caching
    Tokens ~ chars / 4 over the tools, then system, then messages (in that order). Each block
    carrying ``cache_control`` (or, with a top-level ``cache_control``, the last block) ends a
    cacheable prefix. A prefix becomes warm when the first response that wrote it is sent (as
    with the real API: concurrent requests before that all write). Usage reports the longest
    warm prefix as ``cache_read_input_tokens``, the rest up to the last breakpoint as
    ``cache_creation_input_tokens``, and what follows as ``input_tokens``; the three add up to
    the ``count_tokens`` answer for the same body. Prefixes shorter than ``cache_min_tokens``
    (default 0) are not cached. The cache is keyed by model.

The API key (``x-api-key``, or ``Authorization: Bearer`` as SDK 2.x sends it) is kept in
``stub.requests[i].headers`` (and ``.api_key``) for assertions but never logged, printed or
echoed in a response.

SDK 2.14 facts this stub was checked against (see tests/test_stub_anthropic.py)
    * ``api_key=`` is sent as ``Authorization: Bearer <key>``, not ``x-api-key``.
    * ``retry-after: 0`` (or ``retry-after-ms: 0``) is ignored: the SDK then backs off
      0.5-1 s, 1-2 s, ... So error faults send ``retry-after-ms: 1`` by default.
    * A 200 with a broken JSON body raises a bare ``json.JSONDecodeError`` (not an
      ``anthropic`` exception) and is not retried.
    * A 429 whose ``error.details.error_code`` is ``enforced_spend_limit_reached`` raises
      ``anthropic.EnforcedSpendLimitReachedError`` (a ``RateLimitError``); without
      ``x-should-retry: false`` the SDK still retries it with backoff first.
    * ``batches.results(id)`` first calls ``retrieve(id)`` (one more poll here), then GETs the
      absolute ``results_url`` with ``Accept: application/binary``; any content type works.

Command line (for benchmarks)::

    python tests/stub_anthropic.py --port 0 --latency 0.3 [--answers answers.json]
        [--default hash|none|first] [--fault 429:10 --fault 529:13 --fault slow:7:2.5
        --fault 500@3,4] [--batch-polls 1] [--cache-min-tokens 0] [--seed 0] [--log]

prints ``STUB_URL=http://127.0.0.1:PORT`` (flushed) and serves until SIGTERM / SIGINT.
``--fault KIND:N[:SECONDS]`` is ``Fault.every(N, KIND)``; ``--fault KIND@I,J`` is
``Fault.at([I, J], KIND)``. ``answers.json`` is an object ``{prompt: agent-or-null}`` or a list
of ``{"prompt": ..., "agent": ...}`` objects.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import random
import re
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DELEGATION_TOOLS",
    "Fault",
    "RecordedRequest",
    "Reply",
    "StubAnthropic",
    "StubRequest",
    "answers",
    "count_input_tokens",
    "extract_prompt",
    "first_agent",
    "hash_router",
    "never_delegate",
    "parse_agents",
]

DELEGATION_TOOLS = ("Agent", "Task")
UNKNOWN_AGENT = "no-such-agent"
_CUSTOM_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_MAX_HEADER_BYTES = 1 << 20

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_REASONS = {529: "Overloaded"}

ENDPOINTS = (
    "messages",
    "count_tokens",
    "batch_create",
    "batch_list",
    "batch_retrieve",
    "batch_results",
    "batch_cancel",
    "batch_delete",
    "batch_item",
    "other",
)


def _now_rfc3339(dt: datetime | None = None) -> str:
    dt = dt or datetime.now(timezone.utc)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _uid(prefix: str, n: int = 24) -> str:
    return prefix + uuid.uuid4().hex[:n]


def _tokens(chars: int) -> int:
    return (chars + 3) // 4


# --------------------------------------------------------------------------------------------
# Request views
# --------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One HTTP request as received (headers lower-cased; body parsed JSON or None)."""

    seq: int
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    endpoint: str
    received_at: float
    status: int | None = None  # filled when the response is sent

    @property
    def api_key(self) -> str | None:
        """The credential sent: ``x-api-key``, else the ``Authorization: Bearer`` token (SDK 2.x
        sends an ``api_key`` as a Bearer token)."""
        return _api_key(self.headers)

    def __repr__(self) -> str:  # keep the API key out of reprs / pytest output
        return f"RecordedRequest(seq={self.seq}, {self.method} {self.path}, status={self.status})"


def _api_key(headers: Mapping[str, str]) -> str | None:
    if headers.get("x-api-key"):
        return headers["x-api-key"]
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


@dataclass
class StubRequest:
    """What a responder, a latency callable or a fault predicate sees."""

    endpoint: str
    index: int
    seq: int
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    custom_id: str | None = None
    prompt: str = ""
    agents: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    model: str | None = None
    reply: Reply | None = None  # set once decided (useful in tests via stub.calls)

    @property
    def delegation_tool(self) -> str | None:
        """``"Agent"`` or ``"Task"`` if the request offers a delegation tool, else None."""
        for name in DELEGATION_TOOLS:
            if name in self.tools:
                return name
        return None

    @property
    def system_text(self) -> str:
        return "\n".join(_system_texts(self.body if isinstance(self.body, dict) else {}))

    def __repr__(self) -> str:
        return (
            f"StubRequest({self.endpoint}#{self.index}, seq={self.seq},"
            f" prompt={self.prompt[:60]!r}, agents={self.agents!r})"
        )


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return ""
    t = block.get("type")
    if t == "text":
        return str(block.get("text", ""))
    if t == "tool_result":
        c = block.get("content")
        if isinstance(c, str):
            return c
        if isinstance(c, list):
            return "\n".join(_block_text(b) for b in c)
        return ""
    if t == "thinking":
        return str(block.get("thinking", ""))
    return ""


def _system_texts(body: Mapping[str, Any]) -> list[str]:
    system = body.get("system")
    if isinstance(system, str):
        return [system]
    if isinstance(system, list):
        return [_block_text(b) for b in system]
    return []


def _message_texts(body: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for msg in body.get("messages") or []:
        if not isinstance(msg, dict):
            continue
        content = msg.get("content")
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out.extend(_block_text(b) for b in content)
    return out


def _tool_texts(body: Mapping[str, Any]) -> list[str]:
    out = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and isinstance(tool.get("description"), str):
            out.append(tool["description"])
    return out


def extract_prompt(body: Mapping[str, Any]) -> str:
    """Text of the last content block of the last user message ('' if none)."""
    for msg in reversed(body.get("messages") or []):
        if not isinstance(msg, dict) or msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list) and content:
            return _block_text(content[-1])
        return ""
    return ""


# An entry runs from "- name: " to the first "(Tools: ...)" that ends a line, so "- x: y" lines
# inside a (multi-line) description are swallowed by the entry that contains them.
_STRICT_AGENT_RE = re.compile(
    r"^[ \t]*- ([^\s:]+(?::[^\s:]+)?): .*?\(Tools:[^\n]*\)[ \t]*$", re.M | re.S
)
_LOOSE_AGENT_RE = re.compile(r"^[ \t]*- ([^\s:]+(?::[^\s:]+)?): ", re.M)


def parse_agents(texts: Iterable[str]) -> list[str]:
    """Agent names from ``- name: description (Tools: ...)`` catalog lines, in order, unique.

    Lines ending in ``(Tools: ...)`` are preferred; if there are none, any ``- name: `` line
    counts."""
    texts = [t for t in texts if t]
    names: list[str] = []
    for t in texts:
        names.extend(m.group(1) for m in _STRICT_AGENT_RE.finditer(t))
    if not names:
        for t in texts:
            names.extend(m.group(1) for m in _LOOSE_AGENT_RE.finditer(t))
    return list(dict.fromkeys(names))


def _tool_names(body: Mapping[str, Any]) -> list[str]:
    return [
        str(t.get("name")) for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")
    ]


# --------------------------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------------------------


def _short_description(prompt: str) -> str:
    words = re.findall(r"[\w'-]+", prompt)[:4]
    return " ".join(words) if words else "Handle the request"


def _thinking_block(text: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": text, "signature": _uid("stubsig_", 32)}


@dataclass
class Reply:
    """What the stub answers to one model call. Build with the class methods."""

    kind: str  # "message" | "raw" | "error" | "batch_result"
    build: Callable[[StubRequest], list[dict[str, Any]]] | None = None
    stop_reason: str | None = None
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error_type: str = ""
    message: str = ""
    details: dict[str, Any] | None = None
    result_type: str = ""  # batch-only: "canceled" | "expired"
    label: str = ""

    def __repr__(self) -> str:
        return f"Reply({self.kind}: {self.label})"

    # -- model answers ------------------------------------------------------------------------
    @classmethod
    def route(
        cls,
        agent_name: str,
        rationale: str | None = None,
        thinking: str | None = None,
        *,
        description: str | None = None,
        prompt: str | None = None,
        tool_name: str | None = None,
        extra_input: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Delegate to ``agent_name``: [thinking], [text], tool_use of the delegation tool.

        ``rationale=None`` writes a short default text block, ``""`` writes none. The tool is
        ``tool_name`` or the request's own delegation tool (``Agent`` / legacy ``Task``), else
        ``Agent``. Input: ``subagent_type``, ``description`` (first words of the prompt),
        ``prompt`` (the request's prompt), plus ``extra_input``."""

        def build(req: StubRequest) -> list[dict[str, Any]]:
            blocks: list[dict[str, Any]] = []
            if thinking:
                blocks.append(_thinking_block(thinking))
            text = (
                f"This fits the {agent_name} agent; delegating." if rationale is None else rationale
            )
            if text:
                blocks.append({"type": "text", "text": text})
            tool_input: dict[str, Any] = {
                "subagent_type": agent_name,
                "description": description or _short_description(req.prompt),
                "prompt": req.prompt if prompt is None else prompt,
            }
            tool_input.update(extra_input or {})
            blocks.append(
                {
                    "type": "tool_use",
                    "id": _uid("toolu_stub"),
                    "name": tool_name or req.delegation_tool or "Agent",
                    "input": tool_input,
                }
            )
            return blocks

        return cls("message", build=build, stop_reason="tool_use", label=f"route {agent_name}")

    @classmethod
    def text(cls, text: str, thinking: str | None = None) -> Reply:
        """A plain answer: no tool call (the model handled it itself / a classify answer)."""

        def build(req: StubRequest) -> list[dict[str, Any]]:
            blocks = [_thinking_block(thinking)] if thinking else []
            blocks.append({"type": "text", "text": text})
            return blocks

        return cls("message", build=build, stop_reason="end_turn", label=f"text {text[:40]!r}")

    @classmethod
    def tool(
        cls,
        name: str,
        input: Mapping[str, Any],  # noqa: A002 - mirrors the API's field name
        text: str | None = None,
        thinking: str | None = None,
    ) -> Reply:
        """An arbitrary tool call, e.g. a judge's ``grade`` tool or a legacy ``Task`` call."""

        def build(req: StubRequest) -> list[dict[str, Any]]:
            blocks = [_thinking_block(thinking)] if thinking else []
            if text:
                blocks.append({"type": "text", "text": text})
            blocks.append(
                {"type": "tool_use", "id": _uid("toolu_stub"), "name": name, "input": dict(input)}
            )
            return blocks

        return cls("message", build=build, stop_reason="tool_use", label=f"tool {name}")

    @classmethod
    def content(cls, blocks: list[dict[str, Any]], stop_reason: str | None = None) -> Reply:
        """Literal content blocks (stop_reason defaults to tool_use if any tool_use block)."""
        if stop_reason is None:
            stop_reason = (
                "tool_use" if any(b.get("type") == "tool_use" for b in blocks) else "end_turn"
            )
        return cls(
            "message",
            build=lambda req: [dict(b) for b in blocks],
            stop_reason=stop_reason,
            label="content",
        )

    # -- anything else ------------------------------------------------------------------------
    @classmethod
    def raw(
        cls,
        status: int,
        body: bytes | str | Mapping[str, Any] | list[Any],
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Exactly this status / body (dict or list is JSON-encoded) / headers.

        ``content-type`` defaults to application/json. In a batch, a raw reply becomes an
        ``errored`` entry (api_error)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        hdrs.setdefault("content-type", "application/json")
        return cls("raw", status=status, body=body, headers=hdrs, label=f"raw {status}")

    @classmethod
    def error(
        cls,
        status: int,
        error_type: str | None = None,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Reply:
        """An API error ``{"type": "error", "error": {"type", "message"[, "details"]}}``.

        In a batch it becomes an ``errored`` entry with the same error object."""
        error_type = error_type or ERROR_TYPES.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
        return cls(
            "error",
            status=status,
            error_type=error_type,
            message=message or f"stub {error_type}",
            headers={k.lower(): v for k, v in (headers or {}).items()},
            details=dict(details) if details else None,
            label=f"error {status} {error_type}",
        )

    @classmethod
    def expired(cls) -> Reply:
        """Batch entry result ``expired`` (outside a batch: a 500)."""
        return cls("batch_result", result_type="expired", label="expired")

    @classmethod
    def canceled(cls) -> Reply:
        """Batch entry result ``canceled`` (outside a batch: a 500)."""
        return cls("batch_result", result_type="canceled", label="canceled")


Responder = Callable[[StubRequest], Reply]


# --------------------------------------------------------------------------------------------
# Stock responders
# --------------------------------------------------------------------------------------------

_HANDLED_TEXT = "I'll handle this request directly."


def _pick_hash(req: StubRequest) -> str | None:
    if not req.agents:
        return None
    digest = hashlib.sha256(req.prompt.encode("utf-8")).digest()
    return req.agents[int.from_bytes(digest[:8], "big") % len(req.agents)]


def _answer_with(req: StubRequest, agent: str | None) -> Reply:
    if agent is None:
        return Reply.text(_HANDLED_TEXT)
    if req.delegation_tool:
        return Reply.route(agent)
    return Reply.text(agent)


def hash_router(req: StubRequest) -> Reply:
    """Route to one of ``req.agents`` picked by hashing the prompt (sha256: stable across runs).

    Without a delegation tool the pick is returned as text; without agents, a text answer."""
    return _answer_with(req, _pick_hash(req))


def first_agent(req: StubRequest) -> Reply:
    """Route to the first catalog agent (as text without a delegation tool)."""
    return _answer_with(req, req.agents[0] if req.agents else None)


def never_delegate(req: StubRequest) -> Reply:
    """Always answer with text, no tool call."""
    return Reply.text(_HANDLED_TEXT)


_DEFAULTS: dict[str, Responder] = {
    "hash": hash_router,
    "first": first_agent,
    "none": never_delegate,
}


def answers(
    mapping: Mapping[str, str | Reply | None],
    default: str | Responder | Reply = "hash",
) -> Responder:
    """Responder from ``{prompt text: agent name | None | Reply}`` (prompts compared stripped).

    A name routes to that agent when the request offers ``Agent``/``Task``, and otherwise is
    answered as that literal text (so the mapping also serves classify prompts and agent
    execution calls). ``None`` answers with text and no tool call. Prompts not in the mapping
    go to ``default``: ``"hash"``, ``"first"``, ``"none"``, a responder or a fixed Reply."""
    table = {k.strip(): v for k, v in mapping.items()}
    if isinstance(default, str):
        try:
            fallback: Responder = _DEFAULTS[default]
        except KeyError:
            raise ValueError(
                f"default must be one of {sorted(_DEFAULTS)}, got {default!r}"
            ) from None
    elif isinstance(default, Reply):
        fixed = default
        fallback = lambda req: fixed  # noqa: E731
    else:
        fallback = default

    def respond(req: StubRequest) -> Reply:
        key = req.prompt.strip()
        if key not in table:
            return fallback(req)
        value = table[key]
        if isinstance(value, Reply):
            return value
        return _answer_with(req, value)

    return respond


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------

_KIND_ALIASES = {
    "429": "429",
    "rate_limit": "429",
    "529": "529",
    "overloaded": "529",
    "500": "500",
    "api_error": "500",
    "slow": "slow",
    "malformed": "malformed",
    "unknown_agent": "unknown_agent",
    "spend_limit": "spend_limit",
}


class Fault:
    """A rule that overrides the answer to some requests. The first matching rule wins.

    Kinds: ``429`` (rate_limit_error + ``retry-after``/``retry-after-ms``), ``529``
    (overloaded_error), ``500`` (api_error), any other int status (error of the matching
    type), ``"slow"`` (answer normally after ``seconds`` instead of the latency),
    ``"malformed"`` (200 with a truncated JSON body), ``"unknown_agent"`` (route to ``agent``,
    default ``no-such-agent``), ``"spend_limit"`` (429 without retry headers, error_code
    ``enforced_spend_limit_reached``: the SDK raises ``EnforcedSpendLimitReachedError``, a
    ``RateLimitError``), or a :class:`Reply`.

    ``retry_after`` (seconds, default 0.001) is sent on 429/5xx as ``retry-after`` (whole
    seconds) and ``retry-after-ms``; ``None`` sends neither. NB the SDK ignores a retry-after
    of 0 and then backs off 0.5-1 s, 1-2 s, ...: the tiny default keeps SDK retries instant.
    ``should_retry`` True/False sends ``x-should-retry``, which the SDK obeys over the status.
    ``on`` names the endpoint kinds the rule applies to (default ``"messages"``; ``"*"`` = all;
    see ``ENDPOINTS``); ``times`` caps how often it fires. Error faults answer at once (no
    latency). In a batch (``on="batch_item"``) error kinds become ``errored`` entries,
    ``unknown_agent`` routes there too and ``slow`` is ignored.
    """

    def __init__(
        self,
        kind: int | str | Reply,
        match: Callable[[StubRequest], bool],
        *,
        on: str | Iterable[str] = "messages",
        retry_after: float | None = 0.001,
        seconds: float = 30.0,
        agent: str = UNKNOWN_AGENT,
        message: str | None = None,
        should_retry: bool | None = None,
        times: int | None = None,
    ) -> None:
        if isinstance(kind, Reply):
            self.kind = "reply"
            self.reply: Reply | None = kind
        else:
            key = str(kind)
            if key in _KIND_ALIASES:
                self.kind = _KIND_ALIASES[key]
            elif key.isdigit():
                self.kind = key
            else:
                raise ValueError(f"unknown fault kind {kind!r}")
            self.reply = None
        self.match = match
        self.on = (
            frozenset(ENDPOINTS) if on == "*" else frozenset([on] if isinstance(on, str) else on)
        )
        unknown = self.on - set(ENDPOINTS)
        if unknown:
            raise ValueError(f"unknown endpoint kinds {sorted(unknown)}; known: {ENDPOINTS}")
        self.retry_after = retry_after
        self.seconds = seconds
        self.agent = agent
        self.message = message
        self.should_retry = should_retry
        self.times = times
        self.fired = 0

    def __repr__(self) -> str:
        return f"Fault({self.kind}, on={sorted(self.on)}, fired={self.fired})"

    @classmethod
    def every(cls, n: int, kind: int | str | Reply, *, offset: int = 0, **options: Any) -> Fault:
        """Fire on indices offset+n, offset+2n, ... (1-based, per endpoint kind)."""
        if n < 1:
            raise ValueError("n must be >= 1")
        return cls(kind, lambda r: r.index > offset and (r.index - offset) % n == 0, **options)

    @classmethod
    def at(cls, indices: int | Iterable[int], kind: int | str | Reply, **options: Any) -> Fault:
        """Fire on exactly these 1-based indices (per endpoint kind)."""
        wanted = frozenset([indices] if isinstance(indices, int) else indices)
        return cls(kind, lambda r: r.index in wanted, **options)

    @classmethod
    def when(
        cls, predicate: Callable[[StubRequest], bool], kind: int | str | Reply, **options: Any
    ) -> Fault:
        """Fire when ``predicate(request)`` is true."""
        return cls(kind, predicate, **options)

    # -- what it does -------------------------------------------------------------------------
    def _retry_headers(self) -> dict[str, str]:
        h: dict[str, str] = {}
        if self.retry_after is not None:
            h["retry-after"] = str(int(self.retry_after))
            h["retry-after-ms"] = str(max(0, round(self.retry_after * 1000)))
        return h

    def to_reply(self) -> Reply | None:
        """The overriding reply (None for ``slow``, which only changes the delay)."""
        extra = (
            {}
            if self.should_retry is None
            else {"x-should-retry": "true" if self.should_retry else "false"}
        )
        k = self.kind
        if k == "reply":
            return self.reply
        if k == "slow":
            return None
        if k == "malformed":
            return Reply.raw(
                200, b'{"id": "msg_stub_malformed", "type": "message", "content": [{"ty', extra
            )
        if k == "unknown_agent":
            return Reply.route(self.agent)
        if k == "spend_limit":
            return Reply.error(
                429,
                "rate_limit_error",
                self.message
                or "This request would exceed your organization's monthly spend limit. "
                "Raise the limit in the Console to continue.",
                headers=extra,
                details={"error_code": "enforced_spend_limit_reached"},
            )
        status = int(k)
        default_messages = {
            429: "Number of request tokens has exceeded your per-minute rate limit (stub).",
            529: "Overloaded (stub)",
            500: "Internal server error (stub)",
        }
        headers = {**(self._retry_headers() if status == 429 or status >= 500 else {}), **extra}
        return Reply.error(
            status, None, self.message or default_messages.get(status), headers=headers
        )


# --------------------------------------------------------------------------------------------
# Token accounting / caching
# --------------------------------------------------------------------------------------------


def _strip_cc(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: v for k, v in obj.items() if k != "cache_control"}
    return obj


def _segments(body: Mapping[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """(text, cache_control or None) per cacheable unit, in prefix order tools, system, messages."""
    segs: list[tuple[str, dict[str, Any] | None]] = []
    for tool in body.get("tools") or []:
        cc = tool.get("cache_control") if isinstance(tool, dict) else None
        segs.append((json.dumps(_strip_cc(tool), sort_keys=True, ensure_ascii=False), cc))
    system = body.get("system")
    if isinstance(system, str):
        segs.append((system, None))
    elif isinstance(system, list):
        for b in system:
            cc = b.get("cache_control") if isinstance(b, dict) else None
            text = b.get("text") if isinstance(b, dict) and b.get("type") == "text" else None
            segs.append(
                (text if isinstance(text, str) else json.dumps(_strip_cc(b), sort_keys=True), cc)
            )
    for msg in body.get("messages") or []:
        if not isinstance(msg, dict):
            continue
        content = msg.get("content")
        if isinstance(content, str):
            segs.append((content, None))
        elif isinstance(content, list):
            for b in content:
                cc = b.get("cache_control") if isinstance(b, dict) else None
                if (
                    isinstance(b, dict)
                    and b.get("type") == "text"
                    and isinstance(b.get("text"), str)
                ):
                    segs.append((b["text"], cc))
                else:
                    segs.append((json.dumps(_strip_cc(b), sort_keys=True, ensure_ascii=False), cc))
    top = body.get("cache_control")
    if top and segs:
        text, cc = segs[-1]
        segs[-1] = (text, cc or top)
    return segs


def count_input_tokens(body: Mapping[str, Any]) -> int:
    """What ``count_tokens`` answers: ceil(chars of tools + system + messages / 4), at least 1."""
    return max(1, _tokens(sum(len(t) for t, _ in _segments(body))))


@dataclass
class _CachePlan:
    input_tokens: int
    creation: int
    read: int
    ttl: str
    keys: list[str]


def _cache_plan(body: Mapping[str, Any], warm: set[str], min_tokens: int) -> _CachePlan:
    segs = _segments(body)
    total = max(1, _tokens(sum(len(t) for t, _ in segs)))
    model = str(body.get("model"))
    h = hashlib.sha256(model.encode())
    chars = 0
    breakpoints: list[tuple[str, int, str]] = []  # (key, tokens, ttl)
    for text, cc in segs:
        h.update(b"\x00" + text.encode("utf-8", "surrogatepass"))
        chars += len(text)
        if cc:
            tokens = _tokens(chars)
            if tokens >= max(min_tokens, 1):
                ttl = str(cc.get("ttl", "5m")) if isinstance(cc, dict) else "5m"
                breakpoints.append((h.hexdigest(), tokens, ttl))
    if not breakpoints:
        return _CachePlan(total, 0, 0, "5m", [])
    last_tokens = min(breakpoints[-1][1], total)
    read = 0
    for key, tokens, _ in breakpoints:
        if key in warm:
            read = max(read, min(tokens, total))
    return _CachePlan(
        input_tokens=total - last_tokens,
        creation=last_tokens - read,
        read=read,
        ttl=breakpoints[-1][2],
        keys=[k for k, _, _ in breakpoints],
    )


def _output_tokens(content: list[dict[str, Any]]) -> tuple[int, int]:
    chars = thinking = 0
    for b in content:
        if b.get("type") == "thinking":
            thinking += _tokens(len(b.get("thinking", "")))
        elif b.get("type") == "text":
            chars += len(b.get("text", ""))
        else:
            chars += len(json.dumps(b.get("input", {}))) + len(str(b.get("name", "")))
    return max(1, _tokens(chars) + thinking), thinking


def _sse_event(name: str, data: Mapping[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"


def _block_events(index: int, block: Mapping[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": block.get("text", "")}]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [
            {"type": "thinking_delta", "thinking": block.get("thinking", "")},
            {"type": "signature_delta", "signature": block.get("signature", "")},
        ]
    elif kind in ("tool_use", "server_tool_use"):
        start = {**block, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block.get("input", {}))}]
    else:  # anything else (redacted thinking, ...) arrives whole in its start event
        start, deltas = dict(block), []
    return [
        _sse_event("content_block_start", {"index": index, "content_block": start}),
        *(_sse_event("content_block_delta", {"index": index, "delta": d}) for d in deltas),
        _sse_event("content_block_stop", {"index": index}),
    ]


def _sse(message: Mapping[str, Any]) -> bytes:
    """The server-sent events that stream ``message`` (a complete non-stream answer)."""
    usage = dict(message["usage"])
    head = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    head["usage"] = {**usage, "output_tokens": 0}
    events = [_sse_event("message_start", {"message": head})]
    for i, block in enumerate(message["content"]):
        events.extend(_block_events(i, block))
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]}
    events.append(_sse_event("message_delta", {"delta": delta, "usage": usage}))
    events.append(_sse_event("message_stop", {}))
    return "".join(events).encode()


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Batch:
    id: str
    created: datetime
    n: int
    entries: list[tuple[str, dict[str, Any]]]  # (custom_id, result)
    order: list[int]
    retrieves: int = 0
    status: str = "in_progress"
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None


class StubAnthropic:
    """The stub server. Use as a context manager, or ``start()`` / ``stop()``.

    ``latency``: seconds before each ``POST /v1/messages`` answer, or ``callable(StubRequest)``
    -> seconds. ``responder``: ``callable(StubRequest) -> Reply`` (default :func:`hash_router`).
    ``faults``: list of :class:`Fault`. ``batch_polls_before_end``: retrieves answered
    ``in_progress`` before a batch reports ``ended`` (``results()`` retrieves too).
    ``require_api_key``: 401 without ``x-api-key`` or ``Authorization: Bearer``.
    ``strict_params``: 400 for ``temperature`` / ``top_p`` / ``top_k`` (rejected by API
    version 2026-10-21).
    ``raise_responder_errors``: ``stop()`` re-raises the first exception a responder / latency
    callable / predicate raised (the request itself got a 500). ``log``: called with one line
    per request (never headers)."""

    def __init__(
        self,
        *,
        latency: float | Callable[[StubRequest], float] = 0.0,
        responder: Responder | None = None,
        faults: Iterable[Fault] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        batch_polls_before_end: int = 1,
        cache_min_tokens: int = 0,
        seed: int = 0,
        require_api_key: bool = True,
        strict_params: bool = True,
        raise_responder_errors: bool = True,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.latency = latency
        self.responder: Responder = responder or hash_router
        self.faults: list[Fault] = list(faults)
        self.host = host
        self.port = port
        self.batch_polls_before_end = batch_polls_before_end
        self.cache_min_tokens = cache_min_tokens
        self.seed = seed
        self.require_api_key = require_api_key
        self.strict_params = strict_params
        self.raise_responder_errors = raise_responder_errors
        self.log = log

        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._calls: list[StubRequest] = []
        self._errors: list[BaseException] = []
        self._seq = itertools.count(1)
        self._endpoint_counts: dict[str, int] = {}
        self._warm: set[str] = set()
        self._batches: dict[str, _Batch] = {}
        self._batch_order: list[str] = []
        self._created_batches = 0
        self._in_flight = 0
        self.max_in_flight = 0

        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stop_event: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if not self._ready.is_set():
            raise RuntimeError("stub not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> StubAnthropic:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self._run, name="stub-anthropic", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._start_error is not None:
            self._thread.join(5)
            self._thread = None
            raise RuntimeError(
                f"stub failed to start: {self._start_error!r}"
            ) from self._start_error
        if not self._ready.is_set():
            raise RuntimeError("stub did not start within 10 s")
        return self

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if self._stop_event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(self._stop_event.set)
        thread.join(15)
        self._thread = None
        if self.raise_responder_errors and self._errors:
            err = self._errors[0]
            raise RuntimeError(
                f"stub responder raised {len(self._errors)} time(s); first: {err!r}"
            ) from err

    def __enter__(self) -> StubAnthropic:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.raise_responder_errors = False
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as e:  # noqa: BLE001 - reported to start()
            self._start_error = e
            self._ready.set()
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _main(self) -> None:
        self._stop_event = asyncio.Event()
        server = await asyncio.start_server(
            self._handle_conn, self.host, self.port, backlog=1024, limit=_MAX_HEADER_BYTES
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop_event.wait()
        finally:
            server.close()
            for w in list(self._writers):
                w.close()
            for t in list(self._tasks):
                t.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

    # -- introspection (thread-safe) ----------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every HTTP request received so far (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def calls(self) -> list[StubRequest]:
        """Every model call (``POST /v1/messages`` and batch entries), with ``.reply`` set."""
        with self._lock:
            return list(self._calls)

    @property
    def errors(self) -> list[BaseException]:
        with self._lock:
            return list(self._errors)

    def count(self, path_prefix: str = "/", *, method: str | None = None) -> int:
        """Number of HTTP requests whose path starts with ``path_prefix`` (NB ``/v1/messages``
        also matches count_tokens and batches; see :meth:`count_endpoint`)."""
        with self._lock:
            return sum(
                1
                for r in self._requests
                if r.path.startswith(path_prefix) and (method is None or r.method == method.upper())
            )

    def count_endpoint(self, endpoint: str) -> int:
        """Requests (or batch entries) seen of one endpoint kind, e.g. ``"messages"``."""
        with self._lock:
            return self._endpoint_counts.get(endpoint, 0)

    @property
    def batches_created(self) -> int:
        """Batches actually created (rejected create requests do not count)."""
        with self._lock:
            return self._created_batches

    @property
    def batch_ids(self) -> list[str]:
        with self._lock:
            return list(self._batch_order)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    # -- HTTP ---------------------------------------------------------------------------------
    async def _handle_conn(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    break
                except asyncio.LimitOverrunError:
                    await self._write(writer, _Response(431, b""), keep_alive=False)
                    break
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, target, version = lines[0].split(" ", 2)
                except ValueError:
                    await self._write(
                        writer, self._error(400, "invalid_request_error", "bad request line"), False
                    )
                    break
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if not line:
                        continue
                    k, _, v = line.partition(":")
                    k = k.strip().lower()
                    headers[k] = f"{headers[k]}, {v.strip()}" if k in headers else v.strip()
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    raw = await self._read_chunked(reader)
                else:
                    n = int(headers.get("content-length") or 0)
                    raw = await reader.readexactly(n) if n else b""
                conn = headers.get("connection", "").lower()
                keep_alive = (version == "HTTP/1.1" and conn != "close") or conn == "keep-alive"
                resp = await self._dispatch(method.upper(), target, headers, raw)
                await self._write(writer, resp, keep_alive)
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        except Exception as e:  # noqa: BLE001 - never kill the loop
            with self._lock:
                self._errors.append(e)
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError, OSError):
                await writer.wait_closed()
            self._tasks.discard(task)

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def _write(self, writer: asyncio.StreamWriter, resp: _Response, keep_alive: bool) -> None:
        if writer.is_closing():
            return
        reason = _REASONS.get(resp.status)
        if reason is None:
            try:
                reason = HTTPStatus(resp.status).phrase
            except ValueError:
                reason = "Unknown"
        hdrs = {"content-type": "application/json", **resp.headers}
        hdrs.setdefault("request-id", _uid("req_stub"))
        hdrs["content-length"] = str(len(resp.body))
        hdrs["connection"] = "keep-alive" if keep_alive else "close"
        head = f"HTTP/1.1 {resp.status} {reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in hdrs.items()
        )
        writer.write(head.encode("latin-1") + b"\r\n" + resp.body)
        await writer.drain()

    # -- dispatch -----------------------------------------------------------------------------
    def _error(
        self,
        status: int,
        error_type: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> _Response:
        rid = _uid("req_stub")
        err: dict[str, Any] = {"type": error_type, "message": message}
        if details:
            err["details"] = dict(details)
        body = {"type": "error", "error": err, "request_id": rid}
        return _Response(status, json.dumps(body).encode(), {"request-id": rid, **(headers or {})})

    @staticmethod
    def _classify(method: str, path: str) -> tuple[str, str | None]:
        parts = [p for p in path.split("/") if p]
        if parts[:2] != ["v1", "messages"]:
            return "other", None
        rest = parts[2:]
        if not rest:
            return ("messages", None) if method == "POST" else ("other", None)
        if rest == ["count_tokens"]:
            return ("count_tokens", None) if method == "POST" else ("other", None)
        if rest[0] != "batches":
            return "other", None
        if len(rest) == 1:
            return {"POST": "batch_create", "GET": "batch_list"}.get(method, "other"), None
        bid = rest[1]
        if len(rest) == 2:
            return {"GET": "batch_retrieve", "DELETE": "batch_delete"}.get(method, "other"), bid
        if len(rest) == 3 and rest[2] == "results" and method == "GET":
            return "batch_results", bid
        if len(rest) == 3 and rest[2] == "cancel" and method == "POST":
            return "batch_cancel", bid
        return "other", None

    def _next_index(self, endpoint: str) -> int:
        with self._lock:
            n = self._endpoint_counts.get(endpoint, 0) + 1
            self._endpoint_counts[endpoint] = n
            return n

    def _make_request(
        self,
        endpoint: str,
        rec: RecordedRequest,
        body: Any,
        custom_id: str | None = None,
        seq: int | None = None,
    ) -> StubRequest:
        req = StubRequest(
            endpoint=endpoint,
            index=self._next_index(endpoint),
            seq=rec.seq if seq is None else seq,
            method=rec.method,
            path=rec.path,
            headers=rec.headers,
            body=body,
            custom_id=custom_id,
        )
        if isinstance(body, dict) and "messages" in body:
            req.prompt = extract_prompt(body)
            req.agents = parse_agents(
                [*_system_texts(body), *_message_texts(body), *_tool_texts(body)]
            )
            req.tools = _tool_names(body)
            req.model = str(body.get("model")) if body.get("model") is not None else None
        return req

    def _match_fault(self, req: StubRequest) -> Fault | None:
        for f in self.faults:
            if req.endpoint not in f.on or (f.times is not None and f.fired >= f.times):
                continue
            try:
                hit = f.match(req)
            except Exception as e:  # noqa: BLE001
                with self._lock:
                    self._errors.append(e)
                continue
            if hit:
                f.fired += 1
                return f
        return None

    def _record_error(self, e: BaseException) -> _Response:
        with self._lock:
            self._errors.append(e)
        tb = "".join(traceback.format_exception_only(type(e), e)).strip()
        return self._error(500, "api_error", f"stub responder raised: {tb}")

    async def _dispatch(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> _Response:
        split = urlsplit(target)
        path = split.path
        endpoint, batch_id = self._classify(method, path)
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        rec = RecordedRequest(
            seq=next(self._seq),
            method=method,
            path=path,
            query=split.query,
            headers=headers,
            body=body,
            endpoint=endpoint,
            received_at=time.monotonic(),
        )
        with self._lock:
            self._requests.append(rec)
        try:
            resp = await self._dispatch_inner(rec, endpoint, batch_id, body, bad_json)
        except Exception as e:  # noqa: BLE001
            resp = self._record_error(e)
        rec.status = resp.status
        if self.log:
            self.log(f"{rec.seq} {method} {path} -> {resp.status}")
        return resp

    async def _dispatch_inner(
        self, rec: RecordedRequest, endpoint: str, batch_id: str | None, body: Any, bad_json: bool
    ) -> _Response:
        if endpoint == "other" and rec.method == "HEAD" and rec.path == "/":
            return _Response(200, b"")  # the CLI's connectivity probe
        if self.require_api_key and not rec.api_key:
            return self._error(
                401, "authentication_error", "x-api-key or Authorization: Bearer header is required"
            )
        if bad_json:
            return self._error(400, "invalid_request_error", "request body is not valid JSON")
        if endpoint == "other":
            return self._error(404, "not_found_error", f"Not found: {rec.method} {rec.path}")
        if rec.method == "POST" and endpoint != "batch_cancel" and not isinstance(body, dict):
            return self._error(400, "invalid_request_error", "request body must be a JSON object")

        req = self._make_request(endpoint, rec, body)
        fault = self._match_fault(req)
        if fault is not None and fault.kind not in ("slow", "unknown_agent", "malformed"):
            reply = fault.to_reply()
            assert reply is not None
            if endpoint == "messages":
                req.reply = reply
                with self._lock:
                    self._calls.append(req)
            return self._reply_response(reply, req, None)

        if endpoint == "messages":
            return await self._messages(req, fault)
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        if endpoint == "count_tokens":
            problem = self._validate_params(body, need_max_tokens=False)
            if problem:
                return self._error(400, "invalid_request_error", problem)
            return self._json(200, {"input_tokens": count_input_tokens(body)})
        if endpoint == "batch_create":
            return self._batch_create(rec, body)
        if endpoint == "batch_list":
            with self._lock:
                batches = [self._batches[b] for b in reversed(self._batch_order)]
            data = [self._batch_json(b) for b in batches]
            return self._json(
                200,
                {
                    "data": data,
                    "has_more": False,
                    "first_id": data[0]["id"] if data else None,
                    "last_id": data[-1]["id"] if data else None,
                },
            )
        batch = self._batches.get(batch_id or "")
        if batch is None:
            return self._error(404, "not_found_error", f"message batch {batch_id!r} not found")
        if endpoint == "batch_retrieve":
            batch.retrieves += 1
            if batch.status != "ended" and batch.retrieves > self.batch_polls_before_end:
                batch.status = "ended"
                batch.ended_at = datetime.now(timezone.utc)
            return self._json(200, self._batch_json(batch))
        if endpoint == "batch_results":
            if batch.status != "ended":
                return self._error(
                    404, "not_found_error", f"results for {batch.id} are not available yet"
                )
            lines = [
                json.dumps({"custom_id": batch.entries[i][0], "result": batch.entries[i][1]})
                for i in batch.order
            ]
            return _Response(
                200, ("\n".join(lines) + "\n").encode(), {"content-type": "application/x-jsonl"}
            )
        if endpoint == "batch_cancel":
            if batch.status != "ended":
                batch.status = "canceling"
                batch.cancel_initiated_at = datetime.now(timezone.utc)
                batch.entries = [(cid, {"type": "canceled"}) for cid, _ in batch.entries]
            return self._json(200, self._batch_json(batch))
        if endpoint == "batch_delete":
            if batch.status != "ended":
                return self._error(
                    400, "invalid_request_error", "cannot delete a batch still in progress"
                )
            with self._lock:
                del self._batches[batch.id]
                self._batch_order.remove(batch.id)
            return self._json(200, {"id": batch.id, "type": "message_batch_deleted"})
        return self._error(404, "not_found_error", "not found")

    @staticmethod
    def _json(status: int, obj: Any) -> _Response:
        return _Response(status, json.dumps(obj).encode())

    def _validate_params(self, body: Mapping[str, Any], need_max_tokens: bool = True) -> str | None:
        if not body.get("model"):
            return "model: field required"
        if need_max_tokens and not isinstance(body.get("max_tokens"), int):
            return "max_tokens: field required"
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            return "messages: at least one message is required"
        if self.strict_params:
            for p in ("temperature", "top_p", "top_k"):
                if p in body:
                    return f"{p}: Extra inputs are not permitted for this API version"
        return None

    # -- messages -----------------------------------------------------------------------------
    def _decide(self, req: StubRequest, fault: Fault | None) -> Reply:
        if fault is not None and fault.kind in ("unknown_agent", "malformed"):
            reply = fault.to_reply()
            assert reply is not None
            return reply
        reply = self.responder(req)
        if not isinstance(reply, Reply):
            raise TypeError(f"responder returned {type(reply).__name__}, expected Reply")
        return reply

    async def _messages(self, req: StubRequest, fault: Fault | None) -> _Response:
        body = req.body
        problem = self._validate_params(body)
        if problem:
            return self._error(400, "invalid_request_error", problem)
        try:
            reply = self._decide(req, fault)
        except Exception as e:  # noqa: BLE001
            return self._record_error(e)
        req.reply = reply
        with self._lock:
            self._calls.append(req)
        plan = _cache_plan(body, self._warm, self.cache_min_tokens)
        if fault is not None and fault.kind == "slow":
            delay = fault.seconds
        else:
            try:
                delay = self.latency(req) if callable(self.latency) else float(self.latency)
            except Exception as e:  # noqa: BLE001
                return self._record_error(e)
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if delay > 0:
                await asyncio.sleep(delay)
        finally:
            self._in_flight -= 1
        if reply.kind == "message":
            self._warm.update(plan.keys)
        return self._reply_response(reply, req, plan)

    def _message_json(
        self, reply: Reply, req: StubRequest, plan: _CachePlan, service_tier: str
    ) -> dict[str, Any]:
        assert reply.build is not None
        if req.body.get("max_tokens") == 0:
            content: list[dict[str, Any]] = []
            stop_reason = "max_tokens"
            out_tokens, thinking_tokens = 0, 0
        else:
            content = reply.build(req)
            stop_reason = reply.stop_reason or "end_turn"
            out_tokens, thinking_tokens = _output_tokens(content)
        five = plan.creation if plan.ttl != "1h" else 0
        return {
            "id": _uid("msg_stub"),
            "type": "message",
            "role": "assistant",
            "model": req.model or "unknown",
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "stop_details": None,
            "container": None,
            "usage": {
                "input_tokens": plan.input_tokens,
                "output_tokens": out_tokens,
                "cache_creation_input_tokens": plan.creation,
                "cache_read_input_tokens": plan.read,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": five,
                    "ephemeral_1h_input_tokens": plan.creation - five,
                },
                "output_tokens_details": {"thinking_tokens": thinking_tokens},
                "server_tool_use": None,
                "service_tier": service_tier,
                "inference_geo": None,
            },
        }

    def _reply_response(self, reply: Reply, req: StubRequest, plan: _CachePlan | None) -> _Response:
        if reply.kind == "message":
            if plan is None:
                plan = _cache_plan(req.body, self._warm, self.cache_min_tokens)
            message = self._message_json(reply, req, plan, "standard")
            if req.body.get("stream"):
                return _Response(200, _sse(message), {"content-type": "text/event-stream"})
            return self._json(200, message)
        if reply.kind == "raw":
            return _Response(reply.status, reply.body, dict(reply.headers))
        if reply.kind == "error":
            return self._error(
                reply.status, reply.error_type, reply.message, reply.headers, reply.details
            )
        return self._error(500, "api_error", f"batch-only reply {reply.label} outside a batch")

    # -- batches ------------------------------------------------------------------------------
    def _batch_create(self, rec: RecordedRequest, body: dict[str, Any]) -> _Response:
        items = body.get("requests")
        if not isinstance(items, list) or not items:
            return self._error(
                400, "invalid_request_error", "requests: at least one request is required"
            )
        seen: set[str] = set()
        for i, item in enumerate(items):
            cid = item.get("custom_id") if isinstance(item, dict) else None
            if not isinstance(cid, str) or not _CUSTOM_ID_RE.match(cid):
                return self._error(
                    400,
                    "invalid_request_error",
                    f"requests.{i}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$",
                )
            if cid in seen:
                return self._error(
                    400, "invalid_request_error", f"requests.{i}.custom_id: duplicate {cid!r}"
                )
            seen.add(cid)
            params = item.get("params")
            if not isinstance(params, dict):
                return self._error(400, "invalid_request_error", f"requests.{i}.params: required")
            problem = self._validate_params(params) or (
                "stream: not allowed in a batch" if params.get("stream") else None
            )
            if problem:
                return self._error(400, "invalid_request_error", f"requests.{i}.params.{problem}")
        entries: list[tuple[str, dict[str, Any]]] = []
        for item in items:
            req = self._make_request("batch_item", rec, item["params"], custom_id=item["custom_id"])
            entries.append((item["custom_id"], self._batch_entry(req)))
        n = len(entries)
        order = list(range(n))
        with self._lock:
            number = len(self._batch_order)
        random.Random(f"{self.seed}:{number}").shuffle(order)
        if n > 1 and order == sorted(order):
            order = order[1:] + order[:1]
        batch = _Batch(
            id=_uid("msgbatch_stub"),
            created=datetime.now(timezone.utc),
            n=n,
            entries=entries,
            order=order,
        )
        with self._lock:
            self._batches[batch.id] = batch
            self._batch_order.append(batch.id)
            self._created_batches += 1
        return self._json(200, self._batch_json(batch))

    def _batch_entry(self, req: StubRequest) -> dict[str, Any]:
        fault = self._match_fault(req)
        try:
            if fault is not None and fault.kind not in ("slow", "unknown_agent", "malformed"):
                reply = fault.to_reply()
                assert reply is not None
            else:
                reply = self._decide(req, fault)
        except Exception as e:  # noqa: BLE001
            with self._lock:
                self._errors.append(e)
            reply = Reply.error(500, "api_error", f"stub responder raised: {e!r}")
        req.reply = reply
        with self._lock:
            self._calls.append(req)
        if reply.kind == "message":
            plan = _cache_plan(req.body, self._warm, self.cache_min_tokens)
            self._warm.update(plan.keys)
            return {"type": "succeeded", "message": self._message_json(reply, req, plan, "batch")}
        if reply.kind == "batch_result":
            return {"type": reply.result_type}
        if reply.kind == "error":
            err: dict[str, Any] = {"type": reply.error_type, "message": reply.message}
            if reply.details:
                err["details"] = reply.details
            return {
                "type": "errored",
                "error": {"type": "error", "error": err, "request_id": _uid("req_stub")},
            }
        return {
            "type": "errored",
            "error": {
                "type": "error",
                "error": {"type": "api_error", "message": f"stub raw reply {reply.status}"},
                "request_id": _uid("req_stub"),
            },
        }

    def _batch_json(self, b: _Batch) -> dict[str, Any]:
        ended = b.status == "ended"
        counts = {
            "processing": 0 if ended else b.n,
            "succeeded": 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        }
        if ended:
            for _, result in b.entries:
                counts[result["type"]] += 1
        return {
            "id": b.id,
            "type": "message_batch",
            "processing_status": b.status,
            "request_counts": counts,
            "created_at": _now_rfc3339(b.created),
            "expires_at": _now_rfc3339(b.created + timedelta(hours=24)),
            "ended_at": _now_rfc3339(b.ended_at) if b.ended_at else None,
            "archived_at": None,
            "cancel_initiated_at": _now_rfc3339(b.cancel_initiated_at)
            if b.cancel_initiated_at
            else None,
            "results_url": f"{self.base_url}/v1/messages/batches/{b.id}/results" if ended else None,
        }


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _parse_fault(spec: str) -> Fault:
    if "@" in spec:
        kind, _, idx = spec.partition("@")
        return Fault.at([int(i) for i in idx.split(",") if i], kind)
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"bad --fault {spec!r}: use KIND:N[:SECONDS] or KIND@I,J")
    opts: dict[str, Any] = {"seconds": float(parts[2])} if len(parts) == 3 else {}
    return Fault.every(int(parts[1]), parts[0], **opts)


def _load_answers(path: str) -> dict[str, str | None]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if isinstance(data, dict):
        return data
    out: dict[str, str | None] = {}
    for row in data:
        prompt = row.get("prompt", row.get("request"))
        out[prompt] = row.get("agent", row.get("expected"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Loopback stub of the Anthropic Messages API.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--answers", help="JSON {prompt: agent|null} or [{prompt, agent}]")
    ap.add_argument("--default", choices=sorted(_DEFAULTS), default="hash")
    ap.add_argument("--fault", action="append", default=[], type=_parse_fault)
    ap.add_argument("--batch-polls", type=int, default=1)
    ap.add_argument("--cache-min-tokens", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log", action="store_true", help="one line per request on stderr")
    args = ap.parse_args(argv)

    responder = (
        answers(_load_answers(args.answers), args.default)
        if args.answers
        else _DEFAULTS[args.default]
    )
    stub = StubAnthropic(
        latency=args.latency,
        responder=responder,
        faults=args.fault,
        host=args.host,
        port=args.port,
        batch_polls_before_end=args.batch_polls,
        cache_min_tokens=args.cache_min_tokens,
        seed=args.seed,
        raise_responder_errors=False,
        log=(lambda line: print(line, file=sys.stderr, flush=True)) if args.log else None,
    )
    done = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    stub.start()
    print(f"STUB_URL={stub.base_url}", flush=True)
    while not done.wait(0.5):
        pass
    stub.stop()
    for e in stub.errors:
        print(f"stub error: {e!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
