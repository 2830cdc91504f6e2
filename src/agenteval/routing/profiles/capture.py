"""Recording exactly what the installed Claude Code sends, on a loopback server inside agenteval.

`CaptureServer` is a small HTTP/1.1 server on 127.0.0.1 (ephemeral port, its own thread) that
answers `HEAD /` and the streaming `POST /v1/messages` the CLI makes in `-p` mode with a minimal
server-sent-events reply (by default a one-word `end_turn` text, so the CLI ends at once), and
keeps every request: method, path, the JSON body, and only the headers that change behaviour.
Authentication headers are never kept, so a captured request holds no key.

`capture_request` runs `claude -p SENTINEL` once with the given agents in a scratch project and
returns the one routing request it sent, with the agents the CLI listed (its init event).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from agenteval.errors import RouterError
from agenteval.routing.cli_files import Install, write_files
from agenteval.routing.cli_process import (
    Scratch,
    isolated_env,
    reset,
    scratch,
    write_agent_files,
    write_skill_files,
)
from agenteval.routing.cli_stream import CliOutcome, claude_args, run_claude
from agenteval.routing.profiles.project import NO_CONTEXT, ProjectContext, write_project
from agenteval.views import AgentView

# Headers that change what the model does; everything else (auth, session ids, client
# fingerprints, transport) is dropped at the door.
KEPT_HEADERS = ("anthropic-beta", "anthropic-version")
CAPTURE_KEY = "sk-ant-agenteval-capture"  # the CLI needs a key; the capture server ignores it
Events = list[tuple[str, dict[str, Any]]]
Reply = Callable[[Mapping[str, Any]], Events]


class CaptureError(RouterError):
    """The installed CLI's request could not be captured or understood."""


@dataclass(frozen=True, kw_only=True)
class CapturedRequest:
    """One request as the capture server received it (no authentication headers)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any] | None


def text_reply(text: str = "OK") -> Reply:
    """A reply that ends the turn with one text block."""

    def reply(body: Mapping[str, Any]) -> Events:
        return message_events(body, [{"type": "text", "text": text}], "end_turn")

    return reply


def message_events(
    body: Mapping[str, Any], blocks: Sequence[Mapping[str, Any]], stop_reason: str
) -> Events:
    """The SSE events of one streamed message holding ``blocks`` (text or tool_use)."""
    model = str(body.get("model") or "unknown")
    usage = {"input_tokens": len(json.dumps(body)) // 4, "output_tokens": 1}
    events: Events = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_capture",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": usage,
                },
            },
        )
    ]
    for i, block in enumerate(blocks):
        if block.get("type") == "tool_use":
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": str(block.get("text", ""))}
        events += [
            (
                "content_block_start",
                {"type": "content_block_start", "index": i, "content_block": start},
            ),
            ("content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": i}),
        ]
    events += [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 1 + len(blocks)},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


@dataclass
class CaptureServer:
    """A loopback Messages API endpoint that records what it is sent.

    Use as a context manager; ``base_url`` is ready inside. ``reply`` builds the SSE answer to a
    `POST /v1/messages` from its body; ``latency_s`` delays each answer.
    """

    reply: Reply = field(default_factory=text_reply)
    latency_s: float = 0.0
    requests: list[CapturedRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def messages(self) -> list[CapturedRequest]:
        """The `POST /v1/messages` requests, in arrival order."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == "POST" and r.path.split("?")[0] == "/v1/messages"
            ]

    def __enter__(self) -> CaptureServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _record(self, request: CapturedRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _handler(owner: CaptureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass  # quiet: a request line may carry nothing secret, but a server log is noise

        def _kept(self) -> dict[str, str]:
            return {k: self.headers[k] for k in KEPT_HEADERS if self.headers.get(k) is not None}

        def _send(self, status: int, data: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the CLI was stopped at its delegation: nobody is reading any more

        def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
            owner._record(CapturedRequest(method="HEAD", path=self.path, headers={}, body=None))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            owner._record(CapturedRequest(method="GET", path=self.path, headers={}, body=None))
            self._send(
                404, b'{"type":"error","error":{"type":"not_found_error"}}', "application/json"
            )

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            owner._record(
                CapturedRequest(method="POST", path=self.path, headers=self._kept(), body=body)
            )
            if self.path.split("?")[0] != "/v1/messages" or not isinstance(body, dict):
                self._send(
                    404, b'{"type":"error","error":{"type":"not_found_error"}}', "application/json"
                )
                return
            if owner.latency_s > 0:
                threading.Event().wait(owner.latency_s)
            events = owner.reply(body)
            data = "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events)
            self._send(200, data.encode(), "text/event-stream")

    return Handler


@dataclass(frozen=True, kw_only=True)
class Capture:
    """What one capture run saw: the routing request and the agents the CLI listed."""

    request: CapturedRequest
    listed: tuple[str, ...]
    skills: tuple[str, ...] = ()  # the skills the init event names (commands are not among them)
    version: str | None
    model: str | None


async def capture_requests(
    cli: Path,
    agents: Sequence[AgentView],
    requests: Sequence[str],
    *,
    model: str | None = None,
    deadline_s: float = 120.0,
    scratch_root: Path | None = None,
    scratch_name: str | None = None,
    context: ProjectContext = NO_CONTEXT,
    agent_dirs: Sequence[Path] = (),
    skills: Sequence[AgentView] = (),
    install: Install | None = None,
) -> tuple[Capture, ...]:
    """Run `claude -p REQUEST` once per request against a capture server, in one scratch project
    (reset between runs) holding ``context`` (`project.write_project`), and return the routing
    request of each.

    Args:
        agent_dirs: Folders of agent files copied byte for byte beside ``agents`` (each under a
            numbered subfolder of `.claude/agents/`), for the self-check.
        skills: Project skills to list beside the agents (`.claude/skills/NAME/SKILL.md`).
        install: The user's files (skills, commands, plugins) laid out as `cli_files` lays
            them out, plugins loaded with `--plugin-dir`, for the self-check.

    Raises:
        CaptureError: when the CLI fails or sends no Messages request.
    """
    captures: list[Capture] = []
    with (
        CaptureServer() as server,
        scratch(scratch_root, name=scratch_name, depth=context.depth) as s,
    ):
        try:
            write_project(context, s.project)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise CaptureError(
                f"could not lay out the project context in {s.project}: {exc}",
                hint="install git, or set `router.project_context: false`",
            ) from exc
        for text in requests:
            _lay_out(s, agents, skills, agent_dirs, install)
            env = isolated_env(s, base_url=server.base_url, api_key=CAPTURE_KEY)
            before = len(server.messages)
            args = claude_args(cli, text, model, install.plugin_args(s.root) if install else ())
            outcome = await run_claude(args, cwd=s.project, env=env, deadline_s=deadline_s)
            captures.append(_capture(cli, server.messages[before:], outcome))
    return tuple(captures)


def _capture(cli: Path, sent: Sequence[CapturedRequest], outcome: CliOutcome) -> Capture:
    """What one run sent first, with what its init event named.

    Raises:
        CaptureError: when it sent no Messages request.
    """
    if not sent:
        raise CaptureError(
            f"{cli} sent no Messages request during capture"
            + (f": {outcome.error}" if outcome.error else ""),
            hint="check that this `claude` runs headless (`claude -p hi`) and is not "
            "pinned to another base URL in its settings",
        )
    return Capture(
        request=sent[0],
        listed=outcome.listed,
        skills=outcome.skills,
        version=outcome.version,
        model=outcome.model,
    )


def _lay_out(
    s: Scratch,
    agents: Sequence[AgentView],
    skills: Sequence[AgentView],
    agent_dirs: Sequence[Path],
    install: Install | None,
) -> None:
    """The scratch project as one capture run starts it (the project context stays)."""
    reset(s)
    write_agent_files(agents, s.agents_dir)
    shutil.rmtree(s.project / ".claude" / "skills", ignore_errors=True)
    write_skill_files(skills, s.project / ".claude" / "skills")
    for i, folder in enumerate(agent_dirs):
        shutil.copytree(folder, s.agents_dir / f"dir-{i:02d}", symlinks=True)
    if install is not None:
        write_files(install.files, s.root)
