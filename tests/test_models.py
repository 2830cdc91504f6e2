"""The Anthropic SDK client (models/anthropic.py): a whole-request deadline, warm-up that cannot
stall the rest, and 200s that are not a JSON message."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

from stub_anthropic import Fault, Reply

from agenteval.cases import Case
from agenteval.execution.executor import Executor
from agenteval.execution.runner import RunPlan, run_plan
from agenteval.models.anthropic import MALFORMED_RETRIES, AnthropicClient
from agenteval.models.client import ChatRequest
from agenteval.routing.api import PromptRouter
from agenteval.views import AgentView, CatalogView, Holdout, Views

KEY = "sk-ant-test-models-0123456789abcdef"
REQUEST = ChatRequest(
    model="claude-sonnet-5-5", max_tokens=64, messages=({"role": "user", "content": "hi"},)
)


class Trickle:
    """A loopback server that answers 200 and then sends its body one byte a second."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            body = b'{"id": "msg_1", "type": "message", "content": []}' * 20
            head = (
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n"
            )
            try:
                conn.sendall(head)
                for byte in body:
                    if self.stop.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(1.0)
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def test_a_trickled_response_ends_at_the_whole_request_deadline():
    """Finding 9: the SDK's timeout is reset by every byte; the deadline is not."""
    server = Trickle()
    try:
        client = AnthropicClient(api_key=KEY, base_url=server.url, deadline_s=1.5, max_retries=0)
        client.client()  # the SDK import is not what is timed

        async def go():
            try:
                return await client.complete(REQUEST)
            finally:
                await client.aclose()

        start = time.monotonic()
        done = asyncio.run(go())
        took = time.monotonic() - start
    finally:
        server.close()
    assert done.error is not None and "1.5 s deadline" in done.error
    assert took < 3.0


def test_a_200_whose_body_is_html_is_retried_and_says_what_came_back(stub):
    page = b"<html><body>Bad gateway at the proxy</body></html>"
    stub.faults = [Fault.every(1, Reply.raw(200, page, {"content-type": "text/html"}))]
    client = AnthropicClient(api_key=KEY, base_url=stub.base_url, max_retries=0)

    async def go():
        try:
            return await client.complete(REQUEST)
        finally:
            await client.aclose()

    done = asyncio.run(go())
    assert done.error is not None and done.error.startswith("malformed response")
    assert "<html><body>Bad gateway" in done.error  # what came back, not "'str' has no..."
    assert stub.count_endpoint("messages") == 1 + MALFORMED_RETRIES


def test_a_stalled_warm_up_request_does_not_hold_up_the_rest(stub):
    """Finding 9: 20 cases behind one warm-up that never answers finish within the deadline."""
    view = CatalogView(
        fold=None,
        agents=(AgentView(name="alpha-writer", description="Writes docs.", tools_text="Read"),),
    )
    cases = tuple(
        Case(
            id=f"cases/c{i}",
            prompt=f"write docs {i}",
            expected=("alpha-writer",),
            origin="dataset",
            source="cases.yaml:1",
        )
        for i in range(20)
    )
    plan = RunPlan(cases=cases, views=Views(holdout=Holdout(k=0), by_fold={None: view}))
    stub.faults = [Fault.at([1], "slow", seconds=60)]
    client = AnthropicClient(api_key=KEY, base_url=stub.base_url, deadline_s=2.0, max_retries=0)
    router = PromptRouter(client)
    trials = []

    async def go():
        try:
            await run_plan(
                router, plan, Executor(concurrency=8), on_trial=trials.append, warmup_wait_s=0.5
            )
        finally:
            await router.aclose()

    start = time.monotonic()
    asyncio.run(go())
    took = time.monotonic() - start
    assert len(trials) == 20
    errors = [t for t in trials if t.error]
    assert len(errors) == 1 and "deadline" in (errors[0].error or "")
    assert took < 4.0


# ------------------------------------------------------------------------------------------
# The SDK is the `anthropic` extra: a plain install routes offline and says how to ask Claude
# ------------------------------------------------------------------------------------------


def without_the_sdk(monkeypatch) -> None:
    """As if `pip install agenteval` without the `anthropic` extra: the SDK cannot be imported."""
    import importlib.util
    import sys

    monkeypatch.setitem(sys.modules, "anthropic", None)  # `import anthropic` raises ImportError
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "anthropic" else real(name, *a),
    )


def test_without_the_sdk_an_api_run_stops_at_once_naming_the_extra(demo_project, monkeypatch):
    from click.testing import CliRunner

    from agenteval.cli import main

    without_the_sdk(monkeypatch)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    result = CliRunner().invoke(main, ["run", "--router", "anthropic", "--plain"])
    assert result.exit_code == 2, result.output
    assert "Anthropic SDK is not installed" in result.output
    assert "pip install 'agenteval[anthropic]'" in result.output
    assert "Traceback" not in result.output


def test_without_the_sdk_a_key_alone_routes_offline_and_says_why(demo_project, monkeypatch):
    from click.testing import CliRunner

    from agenteval.cli import main

    without_the_sdk(monkeypatch)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    result = CliRunner().invoke(main, ["run", "--plain"])
    assert result.exit_code == 0, result.output
    assert "router: lexical (offline: ANTHROPIC_API_KEY is set, but the Anthropic SDK is not " in (
        result.output
    )
    assert "agenteval[anthropic]" in result.output
