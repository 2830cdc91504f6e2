"""Helpers for the tests that run the real Claude Code CLI against a loopback server.

The CLI is found as agenteval finds it (`$AGENTEVAL_CLAUDE`, the checkout's `.tools`, the PATH the
session started with: `claude_code_cli.find_claude`); when it is missing the test fails with the
install command (CI installs it: never skipped).

`delegating_reply` answers the CLI's streaming requests the way a routing model would: an
`Agent` tool_use naming the agent a table gives for the request, else an end_turn text. It sits on
agenteval's own capture server until tests/stub_anthropic.py serves SSE (wip/reading).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from claude_code_cli import find_claude

from agenteval.routing.profiles.capture import Events, Reply, message_events

ROOT = Path(__file__).resolve().parents[1]


def claude_path() -> Path:
    """The installed `claude`, or a failed test saying how to install it."""
    return find_claude()


def request_text(body: Mapping[str, Any]) -> str:
    """The user's request: the last text block of the first user turn."""
    content = body["messages"][0]["content"]
    if isinstance(content, str):
        return content
    return str(content[-1].get("text", ""))


def delegating_reply(table: Mapping[str, str | None]) -> Reply:
    """Route the main model's first turn by ``table``: request -> an agent (an Agent call),
    `skill:NAME` (a Skill call), or None to answer itself."""

    def reply(body: Mapping[str, Any]) -> Events:
        if len(body.get("messages") or ()) <= 2 and body["messages"][0].get("role") == "user":
            target = table.get(request_text(body))
            if target is not None and target.startswith("skill:"):
                call = {"skill": target.removeprefix("skill:"), "args": request_text(body)}
                block = {"type": "tool_use", "id": "toolu_cli_test", "name": "Skill", "input": call}
                return message_events(body, [block], "tool_use")
            if target is not None:
                block = {
                    "type": "tool_use",
                    "id": "toolu_cli_test",
                    "name": "Agent",
                    "input": {
                        "description": "route it",
                        "prompt": f"Handle for the user: {request_text(body)}",
                        "subagent_type": target,
                    },
                }
                return message_events(body, [block], "tool_use")
        return message_events(body, [{"type": "text", "text": "I will do it myself."}], "end_turn")

    return reply


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose environment or working directory mentions ``text``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if text.encode() in environ or text in cwd:
            found.append(int(proc.name))
    return found


class ErrorServer:
    """A loopback endpoint that answers every Messages request with one HTTP error status."""

    def __init__(self, status: int, error_type: str) -> None:
        self.status, self.error_type, self.posts = status, error_type, 0

    def __enter__(self) -> ErrorServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_HEAD(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.posts += 1
                error = {"type": owner.error_type, "message": "refused by the test server"}
                data = json.dumps({"type": "error", "error": error}).encode()
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
