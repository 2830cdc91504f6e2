"""What the claude-cli router costs beside the CLI it drives.

Routes N cases (default 100) with the real `claude` against a loopback server (its own process,
answering after a fixed latency, default 300 ms, with an `Agent` call naming a hashed agent) at
concurrency 4 and 8, and prints wall time, CPU seconds and the peak memory of one CLI process,
then agenteval's own CPU per case beside the CLI's (goal: under 10 %). Beside the wall time is a
floor measured in the same run: the same CLI runs, bare (prepared projects, no router work).

    .venv/bin/python bench/claude_cli_overhead.py [--cases 100] [--latency 0.3] [--claude PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from agenteval.cases import Case
from agenteval.claude_code_install import find_binary
from agenteval.routing import RouteRequest
from agenteval.routing.claude_cli import ClaudeCliRouter
from agenteval.routing.cli_process import (
    Scratch,
    isolated_env,
    scratch,
    write_agent_files,
    write_hold_hook,
)
from agenteval.routing.cli_stream import claude_args, run_claude
from agenteval.views import AgentView, CatalogView

KEY = "sk-ant-bench-claude-cli"
NAMES = [f"agent-{i:02d}" for i in range(10)]
SERVER = r"""
import hashlib, sys, threading
from agenteval.routing.profiles.capture import CaptureServer, message_events
names = sys.argv[2].split(",")
def reply(body):
    content = body["messages"][0]["content"]
    text = content if isinstance(content, str) else content[-1].get("text", "")
    if len(body["messages"]) > 2:
        return message_events(body, [{"type": "text", "text": "done"}], "end_turn")
    agent = names[int(hashlib.sha256(text.encode()).hexdigest(), 16) % len(names)]
    block = {"type": "tool_use", "id": "toolu_b", "name": "Agent",
             "input": {"description": "route", "prompt": text, "subagent_type": agent}}
    return message_events(body, [block], "tool_use")
with CaptureServer(reply=reply, latency_s=float(sys.argv[1])) as s:
    print(s.base_url, flush=True)
    threading.Event().wait()
"""


def view() -> CatalogView:
    agents = tuple(
        AgentView(
            name=n,
            description=f"Use {n} for area {i}: " + "details about the work it takes. " * 8,
            tools_text="Read, Edit, Bash",
        )
        for i, n in enumerate(NAMES)
    )
    return CatalogView(fold=None, agents=agents)


def cases(n: int) -> list[Case]:
    return [
        Case(
            id=f"b{i}",
            prompt=f"request {i}: please change module {i} and run its tests",
            expected=(NAMES[0],),
            origin="dataset",
            source="bench",
        )
        for i in range(n)
    ]


async def run(router: ClaudeCliRouter, n: int, concurrency: int) -> tuple[int, int]:
    gate = asyncio.Semaphore(concurrency)
    v = view()

    async def one(c: Case) -> bool:
        async with gate:
            d = await router.route(RouteRequest(case=c, view=v))
            return d.error is None and d.agent is not None

    results = await asyncio.gather(*(one(c) for c in cases(n)))
    return sum(results), n - sum(results)


async def floor(router: ClaudeCliRouter, n: int, concurrency: int) -> float:
    """Wall time of the bare CLI runs: one prepared scratch project per slot, reused, no
    per-case work by agenteval but spawning and reading the stream."""
    with contextlib.ExitStack() as stack:
        slots: asyncio.Queue[Scratch] = asyncio.Queue()
        for _ in range(concurrency):
            s = stack.enter_context(scratch())
            write_agent_files(view().agents, s.agents_dir)
            write_hold_hook(s.project)
            slots.put_nowait(s)

        async def one(c: Case) -> None:
            s = await slots.get()
            env = isolated_env(s, base_url=router.base_url, api_key=KEY)
            args = claude_args(router.cli, c.prompt, None)
            await run_claude(args, cwd=s.project, env=env, deadline_s=120)
            slots.put_nowait(s)

        start = time.perf_counter()
        await asyncio.gather(*(one(c) for c in cases(n)))
        return time.perf_counter() - start


async def api_wall(base_url: str, n: int, concurrency: int) -> float:
    """The same cases through the API router (one Messages request each), for comparison."""
    from agenteval.routing.api import PromptRouter

    os.environ["ANTHROPIC_API_KEY"] = KEY
    router = PromptRouter.from_options({"base_url": base_url})
    router.prepare(print)
    gate = asyncio.Semaphore(concurrency)
    v = view()

    async def one(c: Case) -> None:
        async with gate:
            await router.route(RouteRequest(case=c, view=v))

    await one(cases(1)[0])  # the SDK's import and connection, outside the timing
    start = time.perf_counter()
    await asyncio.gather(*(one(c) for c in cases(n)))
    await router.aclose()
    return time.perf_counter() - start


def api_stub(latency: float) -> tuple[subprocess.Popen[str], str]:
    """The project's loopback stub (non-streaming, as the SDK router asks), in its own process."""
    stub = Path(__file__).resolve().parents[1] / "tests" / "stub_anthropic.py"
    proc = subprocess.Popen(
        [sys.executable, str(stub), "--port", "0", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip().removeprefix("STUB_URL=")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--latency", type=float, default=0.3)
    ap.add_argument("--claude", default=None)
    ap.add_argument("--concurrency", type=int, nargs="*", default=[4, 8])
    args = ap.parse_args()
    cli = find_binary(args.claude).path
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.latency), ",".join(NAMES)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        router = ClaudeCliRouter(api_key=KEY, claude=cli, base_url=base_url)
        router.prepare(print)
        print(
            f"claude {router.cli_version} at {cli}; {args.cases} cases, {args.latency:g} s latency"
        )
        print(
            f"{'conc':>4} {'wall s':>7} {'bare s':>7} {'ok':>4} {'err':>4} "
            f"{'cli cpu/case':>12} {'cli peak MB':>11} {'own cpu/case':>12} {'own/cli':>8}"
        )
        for concurrency in args.concurrency:
            self0 = resource.getrusage(resource.RUSAGE_SELF)
            kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            ok, err = asyncio.run(run(router, args.cases, concurrency))
            wall = time.perf_counter() - start
            self1 = resource.getrusage(resource.RUSAGE_SELF)
            kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            own = (self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime) / args.cases
            kid = (kids1.ru_utime + kids1.ru_stime - kids0.ru_utime - kids0.ru_stime) / args.cases
            peak_mb = kids1.ru_maxrss / 1024  # the largest child so far (kB on Linux)
            bare = asyncio.run(floor(router, args.cases, concurrency))
            print(
                f"{concurrency:>4} {wall:>7.1f} {bare:>7.1f} {ok:>4} {err:>4} "
                f"{kid:>12.3f} {peak_mb:>11.0f} {own:>12.4f} {own / kid:>8.1%}"
            )
        stub, stub_url = api_stub(args.latency)
        try:
            for concurrency in args.concurrency:
                wall = asyncio.run(api_wall(stub_url, args.cases, concurrency))
                print(
                    f"api router, concurrency {concurrency}: {wall:.1f} s wall for the same cases"
                )
        finally:
            stub.terminate()
            stub.wait()
    finally:
        server.terminate()
        server.wait()
    print(
        f"cores: {os.cpu_count()}; own = this process (scratch folders, agent files, spawning, "
        "reading stream-json); the server runs in its own process and is not counted"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
